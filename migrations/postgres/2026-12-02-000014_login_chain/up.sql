-- Sign-in events form a hash chain of their own, and the keyed audit checkpoints record
-- its head, so that a sign-in record removed or rewritten in the database is found by
-- `claimflow audit verify` like a case event.
ALTER TABLE login_events ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE login_events ADD COLUMN hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_checkpoints ADD COLUMN login_max_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_checkpoints ADD COLUMN login_hash TEXT NOT NULL DEFAULT '';
