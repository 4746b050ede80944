CREATE TABLE facilities (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('township', 'county', 'city')),
    region_code TEXT NOT NULL REFERENCES regions(code),
    ownership   TEXT NOT NULL CHECK (ownership IN ('public', 'private'))
);

-- Designation history: the status on a date is the latest row effective on or before it.
CREATE TABLE facility_status (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    facility_code  TEXT NOT NULL REFERENCES facilities(code),
    status         TEXT NOT NULL CHECK (status IN ('designated', 'suspended', 'terminated')),
    effective_from TEXT NOT NULL,
    reason         TEXT NOT NULL,
    recorded_at    BIGINT NOT NULL
);
CREATE INDEX facility_status_lookup ON facility_status (facility_code, effective_from);

CREATE TABLE persons (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    id_number   TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    sex         TEXT NOT NULL CHECK (sex IN ('M', 'F')),
    birth_date  TEXT NOT NULL,
    household   TEXT NOT NULL,
    region_code TEXT NOT NULL REFERENCES regions(code),
    email       TEXT,
    death_date  TEXT,
    user_id     BIGINT UNIQUE REFERENCES users(id)
);

CREATE TABLE enrolments (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id      BIGINT NOT NULL REFERENCES persons(id),
    coverage_year  INTEGER NOT NULL,
    period_start   TEXT NOT NULL,
    period_end     TEXT NOT NULL,
    tier           INTEGER NOT NULL CHECK (tier IN (1, 2)),
    enrolled_on    TEXT NOT NULL,
    channel        TEXT NOT NULL CHECK (channel IN ('central', 'mid_year', 'newborn', 'from_employee')),
    special_groups TEXT NOT NULL,
    disabled_grade INTEGER
);
CREATE INDEX enrolments_person ON enrolments (person_id, period_start);

ALTER TABLE claims ADD COLUMN person_id BIGINT REFERENCES persons(id);
ALTER TABLE claims ADD COLUMN policy_name TEXT;
ALTER TABLE claims ADD COLUMN breakdown TEXT;
ALTER TABLE claims ADD COLUMN decision TEXT;
ALTER TABLE claims ADD COLUMN itemised_lines TEXT NOT NULL DEFAULT '[]';
CREATE INDEX claims_person ON claims (person_id);

-- Every invoice number of every claim: duplicate detection and the import's natural key.
CREATE TABLE claim_invoices (
    invoice_number TEXT NOT NULL,
    facility_code  TEXT NOT NULL,
    claim_id       BIGINT NOT NULL REFERENCES claims(id),
    person_id      BIGINT
);
CREATE INDEX claim_invoices_number ON claim_invoices (invoice_number, facility_code);

CREATE TABLE case_findings (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id    BIGINT NOT NULL REFERENCES cases(id),
    code       TEXT NOT NULL,
    severity   TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
    message_zh TEXT NOT NULL,
    message_en TEXT NOT NULL,
    evidence   TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX case_findings_case ON case_findings (case_id);

-- What a person has been paid under a policy in a year; updated with each decision.
CREATE TABLE ytd_totals (
    person_id           BIGINT NOT NULL REFERENCES persons(id),
    policy_name         TEXT NOT NULL,
    year                INTEGER NOT NULL,
    scope_fen           BIGINT NOT NULL,
    over_limit_paid_fen BIGINT NOT NULL,
    outpatient_paid_fen BIGINT NOT NULL,
    paid_fen            BIGINT NOT NULL,
    PRIMARY KEY (person_id, policy_name, year)
);

CREATE TABLE idempotency_keys (
    user_id      BIGINT NOT NULL REFERENCES users(id),
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    claim_id     BIGINT NOT NULL REFERENCES claims(id),
    case_id      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
