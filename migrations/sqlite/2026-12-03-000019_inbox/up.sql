-- Each user's inbox in the product: what the mail outbox says to them (a case assigned, an
-- escalation, a return for documents, a decision), plus documents arrived on a case they
-- hold. Written in the same transaction as the action; one item per user and event.
CREATE TABLE inbox_items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    dedupe_key  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    case_id     BIGINT,
    href        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    read_at     BIGINT,
    UNIQUE (user_id, dedupe_key)
);
CREATE INDEX inbox_items_unread ON inbox_items (user_id, read_at, id);
