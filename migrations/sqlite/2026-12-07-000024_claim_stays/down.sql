DROP TABLE claim_stays;
