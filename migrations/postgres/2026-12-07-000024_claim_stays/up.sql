-- The screening rules' own copy of each claim (issue 25, P4): exactly the columns the rules
-- read, about 150 bytes a row against the claim row's 4 KB (its breakdown is stored with
-- both languages' text), read in (person, admission) order through its primary key (on SQLite the table itself is
-- that B-tree). The backtest's person pass
-- reads it sequentially and never visits `claims`; intake's person and household reads are
-- short ranges of it. Kept in the transaction that writes or corrects the claim
-- (store::claims::insert_all, set_amounts, set_family_facts).
CREATE TABLE claim_stays (
    person_id       BIGINT NOT NULL,
    admission_date  TEXT NOT NULL,
    claim_id        BIGINT NOT NULL REFERENCES claims(id),
    discharge_date  TEXT NOT NULL,
    facility_code   TEXT NOT NULL,
    encounter_kind  TEXT NOT NULL,
    family          TEXT NOT NULL,
    diagnosis_code  TEXT NOT NULL,
    -- The facts the rules read (service::screening::RuleFacts), as JSON.
    rule_facts      TEXT NOT NULL,
    total_fen       BIGINT NOT NULL,
    invoice_numbers TEXT NOT NULL,
    attending_doctor TEXT,
    PRIMARY KEY (person_id, admission_date, claim_id)
);
-- The facility pass of `claimflow screen` (facility, date order) and the facility totals.
CREATE INDEX claim_stays_facility ON claim_stays (facility_code, admission_date, claim_id);
-- Claims written before this migration: the whole facts (the rules read theirs from them).
INSERT INTO claim_stays
SELECT person_id, admission_date, id, discharge_date, facility_code, encounter_kind, family,
       diagnosis_code, family_facts, total_fen, invoice_numbers, attending_doctor
FROM claims WHERE person_id IS NOT NULL;
