ALTER TABLE audit_checkpoints DROP COLUMN login_hash;
ALTER TABLE audit_checkpoints DROP COLUMN login_max_id;
ALTER TABLE login_events DROP COLUMN hash;
ALTER TABLE login_events DROP COLUMN prev_hash;
