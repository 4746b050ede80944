CREATE TABLE regions (
    code        TEXT PRIMARY KEY,
    name_zh     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    parent_code TEXT REFERENCES regions(code),
    level       TEXT NOT NULL CHECK (level IN ('province', 'prefecture', 'county')),
    -- Codes from the root down, '/'-joined: a subtree is a path prefix.
    path        TEXT NOT NULL UNIQUE
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    region_code   TEXT NOT NULL REFERENCES regions(code),
    org           TEXT NOT NULL,
    email         TEXT,
    lang          TEXT NOT NULL DEFAULT 'zh-CN',
    created_at    BIGINT NOT NULL
);

CREATE TABLE user_roles (
    user_id BIGINT NOT NULL REFERENCES users(id),
    role    TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);

CREATE TABLE workflow_versions (
    name         TEXT NOT NULL,
    version      INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    source       TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE claims (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    resident_user_id BIGINT REFERENCES users(id),
    submitted_by     BIGINT NOT NULL REFERENCES users(id),
    family           TEXT NOT NULL,
    encounter_kind   TEXT NOT NULL,
    facility_code    TEXT NOT NULL,
    admission_date   TEXT NOT NULL,
    discharge_date   TEXT NOT NULL,
    diagnosis_code   TEXT NOT NULL,
    invoice_numbers  TEXT NOT NULL,
    total_fen        BIGINT NOT NULL CHECK (total_fen >= 0),
    policy_scope_fen BIGINT NOT NULL CHECK (policy_scope_fen >= 0),
    self_paid_fen    BIGINT NOT NULL CHECK (self_paid_fen >= 0),
    family_facts     TEXT NOT NULL,
    region_code      TEXT NOT NULL REFERENCES regions(code),
    payable_fen      BIGINT,
    decided_fen      BIGINT,
    created_at       BIGINT NOT NULL
);
CREATE INDEX claims_resident ON claims (resident_user_id);

CREATE TABLE claim_documents (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    claim_id      BIGINT NOT NULL REFERENCES claims(id),
    kind          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    filename      TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('present', 'rejected')),
    reject_reason TEXT,
    uploaded_by   BIGINT NOT NULL REFERENCES users(id),
    uploaded_at   BIGINT NOT NULL
);
CREATE INDEX claim_documents_claim ON claim_documents (claim_id, kind);

CREATE TABLE cases (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_kind     TEXT NOT NULL,
    subject_id       BIGINT NOT NULL,
    workflow         TEXT NOT NULL,
    workflow_version INTEGER NOT NULL,
    stage            TEXT,
    outcome          TEXT,
    assignee_id      BIGINT REFERENCES users(id),
    region_code      TEXT NOT NULL REFERENCES regions(code),
    region_path      TEXT NOT NULL,
    org              TEXT NOT NULL,
    owner_user_id    BIGINT REFERENCES users(id),
    returned_from    TEXT,
    due_at           BIGINT,
    stage_entered_at BIGINT NOT NULL,
    facts            TEXT NOT NULL,
    version          BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    FOREIGN KEY (workflow, workflow_version) REFERENCES workflow_versions(name, version),
    UNIQUE (subject_kind, subject_id)
);
CREATE INDEX cases_queue ON cases (stage, due_at);
CREATE INDEX cases_owner ON cases (owner_user_id);

CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id    BIGINT NOT NULL REFERENCES cases(id),
    seq        BIGINT NOT NULL,
    at_ms      BIGINT NOT NULL,
    actor_id   BIGINT,
    actor_name TEXT NOT NULL,
    role       TEXT NOT NULL,
    action     TEXT NOT NULL,
    from_stage TEXT,
    to_stage   TEXT,
    old_value  TEXT NOT NULL,
    new_value  TEXT NOT NULL,
    comment    TEXT NOT NULL,
    public     BOOLEAN NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    UNIQUE (case_id, seq)
);

-- The audit trail is append-only. Altering it takes dropping these triggers by hand, which
-- `claimflow audit verify` then detects through the hash chain.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
