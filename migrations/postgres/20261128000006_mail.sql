-- E-mail threading: the unguessable token of each e-mail conversation. Replies go to
-- local+TOKEN@domain; a message continues a conversation only with its token.
CREATE TABLE mail_threads (
    conversation_id BIGINT PRIMARY KEY REFERENCES conversations (id),
    token TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

-- Every e-mail we sent, by its Message-ID: replies naming one continue its conversation; the
-- per-address hourly limit counts them.
CREATE TABLE mail_sent (
    message_id TEXT PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    outbox_id BIGINT NOT NULL,
    address TEXT NOT NULL,
    sent_at BIGINT NOT NULL
);
CREATE INDEX mail_sent_by_address ON mail_sent (address, sent_at);

-- Every inbound message and what became of it (answered, ignored and why, a bounce, refused),
-- with what was cut from it (quoted history, signature) and its attachments (recorded only).
CREATE TABLE mail_inbound (
    message_key TEXT PRIMARY KEY,
    sender TEXT,
    conversation_id BIGINT REFERENCES conversations (id),
    disposition TEXT NOT NULL,
    reason TEXT,
    quoted TEXT NOT NULL DEFAULT '',
    attachments TEXT NOT NULL DEFAULT '[]',
    size BIGINT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);
