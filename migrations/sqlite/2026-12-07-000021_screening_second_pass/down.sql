DROP TABLE screening_stats;
DROP INDEX cases_stage_risk;
ALTER TABLE cases DROP COLUMN risk_score;
DROP INDEX claim_invoices_key;
ALTER TABLE claim_invoices DROP COLUMN invoice_key;
DROP INDEX claims_doctor;
ALTER TABLE claims DROP COLUMN attending_doctor;
