-- Queue pages are short walks of one index per lane (a stage, or the cases escalated to a
-- role), each already in (due_at, id) order, the keyset order of the queue.
DROP INDEX cases_queue;
CREATE INDEX cases_queue ON cases (stage, due_at, id);
CREATE INDEX cases_escalated ON cases (escalated_to, due_at, id);
