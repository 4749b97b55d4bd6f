-- Conversations: one per applicant and channel; the dialogue state as versioned JSON.
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    state TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    unreachable_reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (channel, address)
);

-- Inbound receipts: the same (channel, external id) is processed once. The input is kept.
-- WITHOUT ROWID: one b-tree keyed by the idempotency key, one page write per receipt.
CREATE TABLE receipts (
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    input TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (channel, external_id)
) WITHOUT ROWID;
