DROP TABLE facility_tasks;
ALTER TABLE evidence_files DROP COLUMN purpose;
ALTER TABLE evidence_files DROP COLUMN disclosed;
ALTER TABLE facilities DROP COLUMN contact_email;
DROP TABLE user_facilities;
