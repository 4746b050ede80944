DROP TABLE audit_events;
DROP TABLE cases;
DROP TABLE claim_documents;
DROP TABLE claims;
DROP TABLE workflow_versions;
DROP TABLE user_roles;
DROP TABLE users;
DROP TABLE regions;
