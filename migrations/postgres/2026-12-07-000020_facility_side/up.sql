-- The facility side (handbook §8.3, Order 735): designated facilities act in their own
-- cases. A facility user is scoped to one facility code, or a hospital group's several.
CREATE TABLE user_facilities (
    user_id       BIGINT NOT NULL REFERENCES users(id),
    facility_code TEXT NOT NULL REFERENCES facilities(code),
    PRIMARY KEY (user_id, facility_code)
);
CREATE INDEX user_facilities_facility ON user_facilities (facility_code);

-- Where the facility's letters go (notified, statement received, decision, deadline).
ALTER TABLE facilities ADD COLUMN contact_email TEXT;

-- Staff choose which evidence the facility sees; the facility's own files (its statement's
-- attachments, rectification evidence, appeal documents) are marked by their purpose.
ALTER TABLE evidence_files ADD COLUMN disclosed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE evidence_files ADD COLUMN purpose TEXT NOT NULL DEFAULT 'evidence';

-- The facility's work: one row per visit of a case to a stage the facility acts in, opened
-- when the case arrives and closed when it leaves. A facility sees a case only through one.
CREATE TABLE facility_tasks (
    id            BIGSERIAL PRIMARY KEY,
    case_id       BIGINT NOT NULL REFERENCES cases(id),
    facility_code TEXT NOT NULL REFERENCES facilities(code),
    stage         TEXT NOT NULL,
    opened_at     BIGINT NOT NULL,
    closed_at     BIGINT,
    closed_action TEXT,
    closed_by     BIGINT REFERENCES users(id)
);
CREATE INDEX facility_tasks_facility ON facility_tasks (facility_code, closed_at);
CREATE INDEX facility_tasks_case ON facility_tasks (case_id);
