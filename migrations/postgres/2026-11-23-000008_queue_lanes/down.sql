DROP INDEX cases_escalated;
DROP INDEX cases_queue;
CREATE INDEX cases_queue ON cases (stage, due_at);
