ALTER TABLE cases DROP COLUMN sla_remaining_ms;
