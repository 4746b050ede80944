-- Screening (handbook §7): a person's stays by date for the pair rules at intake and for the
-- backtest's stream; facility outlier scores; whistleblower reports.
CREATE INDEX claims_person_dates ON claims (person_id, admission_date);

-- The latest outlier score per facility (written by `claimflow screen`),
-- read by intake. `score` is the JSON of the components.
CREATE TABLE facility_scores (
    facility_code TEXT PRIMARY KEY REFERENCES facilities(code),
    outlier       BOOLEAN NOT NULL,
    score         TEXT NOT NULL,
    computed_at   BIGINT NOT NULL
);

-- Whistleblower reports (举报). The tracking code is shown once; only its hash is kept.
CREATE TABLE reports (
    id                 BIGSERIAL PRIMARY KEY,
    tracking_hash      TEXT NOT NULL UNIQUE,
    facility_code      TEXT REFERENCES facilities(code),
    person_id_number   TEXT,
    claim_id           BIGINT REFERENCES claims(id),
    description        TEXT NOT NULL,
    contact            TEXT,
    client_addr        TEXT NOT NULL,
    region_code        TEXT NOT NULL REFERENCES regions(code),
    created_at         BIGINT NOT NULL,
    reward_fen         BIGINT CHECK (reward_fen >= 0),
    reward_paid_fen    BIGINT NOT NULL DEFAULT 0 CHECK (reward_paid_fen >= 0),
    reward_paid_at     BIGINT
);
-- The per-address rate limit counts recent submissions.
CREATE INDEX reports_client ON reports (client_addr, created_at);

-- The violations a confirmed report led to.
CREATE TABLE report_violations (
    report_id    BIGINT NOT NULL REFERENCES reports(id),
    violation_id BIGINT NOT NULL REFERENCES violations(id),
    PRIMARY KEY (report_id, violation_id)
);
