-- Controls that hold (README "Controls").

-- An error finding blocks paying the claim until a supervisor overrides it at sign-off with
-- a coded reason and a comment.
ALTER TABLE case_findings ADD COLUMN overridden_at BIGINT;
ALTER TABLE case_findings ADD COLUMN overridden_by BIGINT REFERENCES users(id);
ALTER TABLE case_findings ADD COLUMN override_reason TEXT;
ALTER TABLE case_findings ADD COLUMN override_comment TEXT;

-- What a return for documents asks for: a checklist kind, or a named extra document with a
-- description, with the reviewer's comment; answered by the upload that fulfils it.
CREATE TABLE document_requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    claim_id     BIGINT NOT NULL REFERENCES claims(id),
    case_id      BIGINT NOT NULL REFERENCES cases(id),
    kind         TEXT NOT NULL,
    description  TEXT NOT NULL,
    comment      TEXT NOT NULL,
    requested_by BIGINT NOT NULL REFERENCES users(id),
    requested_at BIGINT NOT NULL,
    document_id  BIGINT REFERENCES claim_documents(id),
    answered_at  BIGINT
);
CREATE INDEX document_requests_claim ON document_requests (claim_id, id);
ALTER TABLE claim_documents ADD COLUMN request_id BIGINT REFERENCES document_requests(id);

-- Order 735 Art. 41: violations by individuals, and the suspension of a person's direct
-- settlement, [starts_on, ends_on).
ALTER TABLE violations ADD COLUMN person_id BIGINT REFERENCES persons(id);
CREATE TABLE person_suspensions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id    BIGINT NOT NULL REFERENCES persons(id),
    violation_id BIGINT NOT NULL REFERENCES violations(id),
    starts_on    TEXT NOT NULL,
    ends_on      TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX person_suspensions_person ON person_suspensions (person_id, starts_on);

-- Decisions that need a second supervisor: a sanction below the article's minimum, and a
-- write-off of money owed.
CREATE TABLE dual_approvals (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    violation_id BIGINT NOT NULL REFERENCES violations(id),
    kind         TEXT NOT NULL CHECK (kind IN ('mitigated_sanction', 'write_off')),
    proposal     TEXT NOT NULL,
    reason_code  TEXT,
    reason       TEXT NOT NULL,
    proposed_by  BIGINT NOT NULL REFERENCES users(id),
    proposed_at  BIGINT NOT NULL,
    decided_by   BIGINT REFERENCES users(id),
    decided_at   BIGINT,
    decision     TEXT CHECK (decision IN ('approved', 'refused'))
);
CREATE INDEX dual_approvals_violation ON dual_approvals (violation_id, id);
ALTER TABLE recoveries ADD COLUMN written_off_fen BIGINT NOT NULL DEFAULT 0;

-- Checkpoints of the whole audit trail: the chain heads that moved since the previous
-- checkpoint, under an HMAC chained through every checkpoint, with a key kept outside the
-- database.
CREATE TABLE audit_checkpoints (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms        BIGINT NOT NULL,
    max_event_id BIGINT NOT NULL,
    events       BIGINT NOT NULL,
    mac          TEXT NOT NULL
);
CREATE TABLE audit_checkpoint_heads (
    checkpoint_id BIGINT NOT NULL REFERENCES audit_checkpoints(id),
    case_id       BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    hash          TEXT NOT NULL,
    PRIMARY KEY (checkpoint_id, case_id)
);

-- How far a breached stage visit has climbed its escalation chain.
ALTER TABLE cases ADD COLUMN escalation_step INTEGER NOT NULL DEFAULT 0;
