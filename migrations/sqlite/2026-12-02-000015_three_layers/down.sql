ALTER TABLE claims DROP COLUMN assistance_fen;
ALTER TABLE claims DROP COLUMN catastrophic_fen;
ALTER TABLE ytd_totals DROP COLUMN assistance_paid_fen;
ALTER TABLE ytd_totals DROP COLUMN catastrophic_paid_fen;
ALTER TABLE ytd_totals DROP COLUMN catastrophic_base_fen;
ALTER TABLE ytd_totals RENAME COLUMN schedule TO policy_name;
