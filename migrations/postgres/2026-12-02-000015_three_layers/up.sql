-- Year-to-date totals are kept per schedule (the files of one schedule share a coverage
-- year: a student's runs September to August across two policy years) and per layer.
ALTER TABLE ytd_totals RENAME COLUMN policy_name TO schedule;
UPDATE ytd_totals SET schedule = 'pingyang' WHERE schedule LIKE 'pingyang-%';
UPDATE ytd_totals SET schedule = 'chongqing' WHERE schedule = 'chongqing-level1';
ALTER TABLE ytd_totals ADD COLUMN catastrophic_base_fen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ytd_totals ADD COLUMN catastrophic_paid_fen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ytd_totals ADD COLUMN assistance_paid_fen BIGINT NOT NULL DEFAULT 0;
-- What the later layers granted at the decision, beside the fund's decided_fen.
ALTER TABLE claims ADD COLUMN catastrophic_fen BIGINT;
ALTER TABLE claims ADD COLUMN assistance_fen BIGINT;
