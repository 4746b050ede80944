DROP TABLE dropped_indexes;
