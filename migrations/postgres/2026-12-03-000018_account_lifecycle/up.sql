-- An administrator's password reset makes the user choose their own at the next sign-in:
-- until then their session opens only the password change.
ALTER TABLE users ADD COLUMN password_reset_at BIGINT;

-- Every change an administrator makes to an account (disable, enable, unlock, reset, roles
-- and region, link to an insured person), append-only.
CREATE TABLE account_events (
    id              BIGSERIAL PRIMARY KEY,
    at_ms           BIGINT NOT NULL,
    admin_user_id   BIGINT NOT NULL REFERENCES users(id),
    user_id         BIGINT NOT NULL REFERENCES users(id),
    action          TEXT NOT NULL,
    detail          TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX account_events_user ON account_events (user_id, id);
