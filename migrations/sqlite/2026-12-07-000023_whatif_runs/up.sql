-- Policy what-if runs (issue 24): a draft uploaded and checked, then replayed over past
-- claims in the background; kept so that runs can be compared. A draft here is never used
-- to price a claim: only a policy file published to policies/ is.
CREATE TABLE whatif_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_by   BIGINT NOT NULL REFERENCES users(id),
    created_at   BIGINT NOT NULL,
    draft_name   TEXT NOT NULL,
    draft_region TEXT NOT NULL,
    draft_text   TEXT NOT NULL,
    from_date    TEXT,
    to_date      TEXT,
    region_code  TEXT,
    status       TEXT NOT NULL CHECK (status IN ('checked', 'running', 'done', 'failed')),
    -- Per mille of the persons read.
    progress     BIGINT NOT NULL DEFAULT 0,
    -- The outcome as JSON (service::whatif::RunResult), once done.
    result       TEXT,
    error_zh     TEXT,
    error_en     TEXT,
    finished_at  BIGINT
);
CREATE INDEX whatif_runs_created ON whatif_runs (created_at DESC);
