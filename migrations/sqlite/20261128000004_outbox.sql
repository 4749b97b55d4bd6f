-- Outgoing messages, written in the turn's transaction and delivered by the worker.
-- next_attempt_at and lease_until are Unix milliseconds so that both backends compare numbers.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until INTEGER,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
-- Only messages still to deliver are indexed for the worker: a small index, however long
-- the history of sent messages grows.
CREATE INDEX outbox_waiting ON outbox (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX outbox_conversation ON outbox (conversation_id, id);
