DROP TABLE mail_outbox;
DROP TABLE job_runs;
DROP TABLE user_absences;
DROP INDEX cases_due;
ALTER TABLE cases DROP COLUMN escalated_at;
ALTER TABLE cases DROP COLUMN escalated_to;
