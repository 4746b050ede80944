DROP TABLE account_events;
ALTER TABLE users DROP COLUMN password_reset_at;
