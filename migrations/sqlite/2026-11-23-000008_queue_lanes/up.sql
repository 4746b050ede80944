-- Queue pages are short walks of one index per lane (a stage, or the cases escalated to a
-- role), each already in (due_at, id) order: the rowid ends every SQLite index.
CREATE INDEX cases_escalated ON cases (escalated_to, due_at);
