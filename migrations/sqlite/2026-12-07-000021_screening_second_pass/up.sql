-- Screening, second pass (issue 27).
-- The attending doctor's code, when the claim names one (the doctor rule).
ALTER TABLE claims ADD COLUMN attending_doctor TEXT;
CREATE INDEX claims_doctor ON claims (attending_doctor);

-- Invoice numbers compared on their normal form (case, spaces, punctuation and leading
-- zeros dropped: domain::screening::invoice_key). Rows written before this migration get
-- theirs from `claimflow migrate`, which fills the empty keys.
ALTER TABLE claim_invoices ADD COLUMN invoice_key TEXT NOT NULL DEFAULT '';
CREATE INDEX claim_invoices_key ON claim_invoices (invoice_key);

-- The sum of the weights of the screening rules a claim hit (0-100): the investigation
-- queue takes the riskiest first.
ALTER TABLE cases ADD COLUMN risk_score BIGINT NOT NULL DEFAULT 0;
CREATE INDEX cases_stage_risk ON cases (stage, risk_score DESC, due_at);

-- Statistics `claimflow screen` computes in one pass and intake reads: peers' cost and
-- length of stay per diagnosis group and level (kind `peer`), doctors' scores (`doctor`),
-- facilities' weekend-admission scores (`weekend`). `body` is the JSON of the statistic.
CREATE TABLE screening_stats (
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    outlier     BOOLEAN NOT NULL,
    body        TEXT NOT NULL,
    computed_at BIGINT NOT NULL,
    PRIMARY KEY (kind, subject)
);
