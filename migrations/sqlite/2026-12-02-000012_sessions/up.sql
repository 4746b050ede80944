-- Server-side sessions: a token names its session, and every request checks it here, so
-- logging out, disabling a user or changing their roles, region or password ends their
-- sessions at once on every instance.
CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users(id),
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    revoked_at     BIGINT,
    revoked_reason TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
