DROP INDEX cases_next_escalation;
ALTER TABLE cases DROP COLUMN next_escalation_at;
