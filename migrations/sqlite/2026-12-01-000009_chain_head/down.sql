ALTER TABLE cases DROP COLUMN last_hash;
ALTER TABLE cases DROP COLUMN last_seq;
