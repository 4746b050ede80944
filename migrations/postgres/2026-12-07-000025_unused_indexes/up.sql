-- Two B-trees that served no query, each written on every claim taken in (issue 25, P1):
-- claims_person is the prefix of claims_person_dates (person_id, admission_date), which
-- answers every lookup by person; cases_owner indexed a column no query filters on (a
-- resident's claims are found by claims.resident_user_id, and users are never deleted, so
-- the foreign key never looks cases up by owner).
DROP INDEX claims_person;
DROP INDEX cases_owner;
