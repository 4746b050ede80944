-- When a breached stage visit is due for the next step of its escalation chain (a multiple
-- of the stage's SLA past its due time); NULL once the chain is climbed, or before the
-- first breach, which `due_at` marks.
ALTER TABLE cases ADD COLUMN next_escalation_at BIGINT;
CREATE INDEX cases_next_escalation ON cases (next_escalation_at) WHERE next_escalation_at IS NOT NULL;
