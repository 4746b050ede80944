-- Each case keeps the head of its audit chain: the last event's sequence number and hash.
-- Appending reads it from the case row instead of the trail, and `audit verify` compares
-- the trail's last event with it, so a deleted tail is detected.
ALTER TABLE cases ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN last_hash TEXT NOT NULL
    DEFAULT '0000000000000000000000000000000000000000000000000000000000000000';
UPDATE cases SET
    last_seq = COALESCE((SELECT MAX(seq) FROM audit_events e WHERE e.case_id = cases.id), 0),
    last_hash = COALESCE((SELECT hash FROM audit_events e WHERE e.case_id = cases.id
                          ORDER BY seq DESC LIMIT 1), last_hash);
