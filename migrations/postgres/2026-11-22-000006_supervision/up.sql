-- Fund supervision (handbook §7): inspections of designated facilities, the violations they
-- find with their sanctions, evidence files, and the money owed until it is paid.
CREATE TABLE inspections (
    id            BIGSERIAL PRIMARY KEY,
    facility_code TEXT NOT NULL REFERENCES facilities(code),
    kind          TEXT NOT NULL CHECK (kind IN ('planned', 'unannounced', 'random_recheck', 'follow_up')),
    inspected_on  TEXT NOT NULL,
    team          TEXT NOT NULL,
    scope         TEXT NOT NULL,
    inspector_id  BIGINT NOT NULL REFERENCES users(id),
    region_code   TEXT NOT NULL REFERENCES regions(code),
    created_at    BIGINT NOT NULL
);
CREATE INDEX inspections_facility ON inspections (facility_code, inspected_on);

CREATE TABLE violations (
    id                BIGSERIAL PRIMARY KEY,
    inspection_id     BIGINT REFERENCES inspections(id),
    facility_code     TEXT NOT NULL REFERENCES facilities(code),
    type_code         TEXT NOT NULL,
    article           TEXT NOT NULL,
    amount_fen        BIGINT NOT NULL CHECK (amount_fen >= 0),
    claim_ids         TEXT NOT NULL,
    department        TEXT NOT NULL,
    description       TEXT NOT NULL,
    region_code       TEXT NOT NULL REFERENCES regions(code),
    created_by        BIGINT NOT NULL REFERENCES users(id),
    created_at        BIGINT NOT NULL,
    -- The sanction, once decided.
    repay_fen         BIGINT,
    fine_fen          BIGINT,
    suspension_months INTEGER,
    suspended_from    TEXT,
    suspended_until   TEXT,
    terminated        BOOLEAN,
    sanction_reason   TEXT,
    sanctioned_by     BIGINT REFERENCES users(id),
    sanctioned_at     BIGINT,
    rectification_due TEXT
);
CREATE INDEX violations_facility ON violations (facility_code, created_at);

-- Evidence for violations (and later reports): content-addressed blobs, as claim documents.
CREATE TABLE evidence_files (
    id           BIGSERIAL PRIMARY KEY,
    subject_kind TEXT NOT NULL,
    subject_id   BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    content_type TEXT NOT NULL,
    filename     TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    uploaded_by  BIGINT REFERENCES users(id),
    uploaded_at  BIGINT NOT NULL
);
CREATE INDEX evidence_files_subject ON evidence_files (subject_kind, subject_id);

-- Money a sanction orders (repayment, fine), tracked until paid.
CREATE TABLE recoveries (
    id           BIGSERIAL PRIMARY KEY,
    violation_id BIGINT NOT NULL REFERENCES violations(id),
    kind         TEXT NOT NULL CHECK (kind IN ('repay', 'fine')),
    amount_fen   BIGINT NOT NULL CHECK (amount_fen >= 0),
    paid_fen     BIGINT NOT NULL DEFAULT 0 CHECK (paid_fen >= 0 AND paid_fen <= amount_fen),
    created_at   BIGINT NOT NULL,
    settled_at   BIGINT,
    UNIQUE (violation_id, kind)
);
CREATE INDEX claims_facility ON claims (facility_code, admission_date);
