-- Working time left on the SLA when a case was returned for documents; the clock resumes
-- from it when the documents arrive.
ALTER TABLE cases ADD COLUMN sla_remaining_ms BIGINT;
