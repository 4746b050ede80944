DROP INDEX cases_assignee;
ALTER TABLE cases DROP COLUMN lease_expires_at;
