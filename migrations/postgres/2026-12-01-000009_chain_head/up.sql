-- Each case keeps the head of its audit chain: the last event's sequence number and hash.
-- Appending reads it from the case row instead of the trail, and `audit verify` compares
-- the trail's last event with it, so a deleted tail is detected.
ALTER TABLE cases ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN last_hash TEXT NOT NULL
    DEFAULT '0000000000000000000000000000000000000000000000000000000000000000';
UPDATE cases c SET last_seq = h.seq, last_hash = h.hash
FROM (SELECT DISTINCT ON (case_id) case_id, seq, hash FROM audit_events
      ORDER BY case_id, seq DESC) h
WHERE h.case_id = c.id;
