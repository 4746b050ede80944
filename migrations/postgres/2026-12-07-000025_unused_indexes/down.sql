CREATE INDEX claims_person ON claims (person_id);
CREATE INDEX cases_owner ON cases (owner_user_id);
