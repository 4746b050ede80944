DROP INDEX claims_facility;
DROP TABLE recoveries;
DROP TABLE evidence_files;
DROP TABLE violations;
DROP TABLE inspections;
