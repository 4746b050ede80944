DROP TABLE whatif_runs;
