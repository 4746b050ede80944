-- A resident's appeal (申诉/复核) against a claim decision: one per decision, re-reviewed on
-- the `appeal` workflow by staff who took no part in the decision.
CREATE TABLE appeals (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    claim_id            BIGINT NOT NULL UNIQUE REFERENCES claims(id),
    claim_case_id       BIGINT NOT NULL REFERENCES cases(id),
    filed_by            BIGINT NOT NULL REFERENCES users(id),
    reason              TEXT NOT NULL,
    filed_at            BIGINT NOT NULL,
    old_reimbursed_fen  BIGINT NOT NULL,
    outcome             TEXT CHECK (outcome IN ('upheld', 'changed')),
    new_reimbursed_fen  BIGINT,
    decided_at          BIGINT
);
