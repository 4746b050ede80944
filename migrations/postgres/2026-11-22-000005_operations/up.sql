-- Escalation: a breached case is handed to the stage's escalation role (escalated_to) or
-- only flagged (escalated_at without escalated_to). A stage change clears both.
ALTER TABLE cases ADD COLUMN escalated_to TEXT;
ALTER TABLE cases ADD COLUMN escalated_at BIGINT;
CREATE INDEX cases_due ON cases (due_at, escalated_at);

-- Dates (inclusive, YYYY-MM-DD) on which a user takes no new work.
CREATE TABLE user_absences (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    from_date  TEXT NOT NULL,
    to_date    TEXT NOT NULL,
    reason     TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    CHECK (from_date <= to_date)
);
CREATE INDEX user_absences_user ON user_absences (user_id, to_date);

-- One row per job and cron tick: the instance that inserts it runs the tick, every other
-- instance sees the conflict and skips it.
CREATE TABLE job_runs (
    job         TEXT NOT NULL,
    tick_ms     BIGINT NOT NULL,
    instance    TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    outcome     TEXT,
    PRIMARY KEY (job, tick_ms)
);

-- Mail is written here in the transaction that caused it and delivered later, with retry.
-- dedupe_key stops the same notice being queued twice (a job re-run, a retried request).
CREATE TABLE mail_outbox (
    id              BIGSERIAL PRIMARY KEY,
    dedupe_key      TEXT NOT NULL UNIQUE,
    template        TEXT NOT NULL,
    lang            TEXT NOT NULL,
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    case_id         BIGINT,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
