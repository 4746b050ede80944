DROP INDEX persons_household;
CREATE INDEX claims_doctor ON claims (attending_doctor);
