-- Intake indexes, measured on a 100,000-claim import (README, "Import benchmark").
-- `claims_doctor` served no query (the doctor statistics are computed in one ordered pass
-- by `claimflow screen`), yet every insert paid for a random-order B-tree: dropped.
DROP INDEX claims_doctor;
-- A household's members, for the household-cluster rule at intake: the members first,
-- then their stays by `claims (person_id, admission_date)`.
CREATE INDEX persons_household ON persons (household);
