DROP TABLE report_violations;
DROP INDEX reports_client;
DROP TABLE reports;
DROP TABLE facility_scores;
DROP INDEX claims_person_dates;
