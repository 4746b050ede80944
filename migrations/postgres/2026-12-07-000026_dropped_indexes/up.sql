-- The secondary indexes a history load (`import claims --history`) has dropped, with the
-- statement that makes each again. Written in the transaction that drops them, emptied as
-- each is rebuilt; whatever a crash leaves here is rebuilt when claimflow next starts.
CREATE TABLE dropped_indexes (
    name TEXT PRIMARY KEY NOT NULL,
    definition TEXT NOT NULL,
    dropped_at BIGINT NOT NULL
);
