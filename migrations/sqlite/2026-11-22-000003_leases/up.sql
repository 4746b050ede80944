-- A lease: the assignee holds the case until lease_expires_at (ms); expired leases return
-- the case to the pool.
ALTER TABLE cases ADD COLUMN lease_expires_at BIGINT;
CREATE INDEX cases_assignee ON cases (assignee_id, lease_expires_at);
