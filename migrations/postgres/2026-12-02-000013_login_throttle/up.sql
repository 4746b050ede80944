-- Login throttling across instances: failures per key (`user:NAME` or `addr:IP`).
CREATE TABLE login_failures (
    key        TEXT PRIMARY KEY,
    failures   BIGINT NOT NULL,
    last_at_ms BIGINT NOT NULL
);
-- Every sign-in attempt, with its address: succeeded, failed or throttled.
CREATE TABLE login_events (
    id       BIGSERIAL PRIMARY KEY,
    at_ms    BIGINT NOT NULL,
    username TEXT NOT NULL,
    user_id  BIGINT,
    address  TEXT NOT NULL,
    outcome  TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'throttled'))
);
CREATE INDEX login_events_at ON login_events (at_ms);
