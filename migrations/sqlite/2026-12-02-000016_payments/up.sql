-- The payee account of a person (社保卡银行账户 or one they name): the number encrypted at
-- rest (AES-256-GCM under account_key), only its last four digits in clear for masking.
CREATE TABLE payee_accounts (
    person_id      BIGINT PRIMARY KEY REFERENCES persons(id),
    bank           TEXT NOT NULL,
    holder         TEXT NOT NULL,
    number_cipher  TEXT NOT NULL,
    last4          TEXT NOT NULL,
    updated_by     BIGINT NOT NULL REFERENCES users(id),
    updated_at     BIGINT NOT NULL
);

-- A batch sent to the bank (代发). Locked once exported: its items and file never change.
CREATE TABLE payment_batches (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    region_code  TEXT NOT NULL REFERENCES regions(code),
    region_path  TEXT NOT NULL,
    cutoff_ms    BIGINT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'exported')),
    item_count   BIGINT NOT NULL,
    total_fen    BIGINT NOT NULL,
    created_by   BIGINT NOT NULL REFERENCES users(id),
    created_at   BIGINT NOT NULL,
    exported_by  BIGINT REFERENCES users(id),
    exported_at  BIGINT,
    file_sha256  TEXT
);

-- One payment per claim (and one more for an appeal's increase): payable, then in a batch, sent with it, and paid, failed or
-- returned; a failed or returned one goes back to payable (a new attempt) once the account
-- is corrected. A paid one is final.
CREATE TABLE payments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    claim_id      BIGINT NOT NULL REFERENCES claims(id),
    -- 1 for the decision; 2 for what an appeal that raised the amount adds after the first
    -- payment went to the bank.
    seq           BIGINT NOT NULL DEFAULT 1,
    person_id     BIGINT NOT NULL REFERENCES persons(id),
    region_path   TEXT NOT NULL,
    amount_fen    BIGINT NOT NULL CHECK (amount_fen > 0),
    status        TEXT NOT NULL CHECK (status IN ('payable', 'batched', 'sent', 'paid', 'failed', 'returned')),
    attempt       BIGINT NOT NULL DEFAULT 1,
    batch_id      BIGINT REFERENCES payment_batches(id),
    payable_at    BIGINT NOT NULL,
    paid_on       TEXT,
    account_last4 TEXT,
    reason        TEXT,
    updated_at    BIGINT NOT NULL,
    UNIQUE (claim_id, seq)
);
-- Each attempt of a payment in a batch, with the bank's result: the batch's history stays
-- whole when a failed payment is tried again in a later batch.
CREATE TABLE payment_items (
    batch_id      BIGINT NOT NULL REFERENCES payment_batches(id),
    payment_id    BIGINT NOT NULL REFERENCES payments(id),
    claim_id      BIGINT NOT NULL REFERENCES claims(id),
    reference     TEXT NOT NULL UNIQUE,
    amount_fen    BIGINT NOT NULL,
    -- The account as it stood at export, sealed: a repeated export writes the same file.
    bank          TEXT NOT NULL,
    holder        TEXT NOT NULL,
    number_cipher TEXT NOT NULL,
    account_last4 TEXT NOT NULL,
    result        TEXT NOT NULL CHECK (result IN ('pending', 'paid', 'failed', 'returned')),
    result_on     TEXT,
    reason        TEXT,
    PRIMARY KEY (batch_id, payment_id)
);
CREATE INDEX payments_status ON payments (status, region_path, payable_at);
CREATE INDEX payments_batch ON payments (batch_id);
