-- Inputs whose processing failed or crashed the service, by channel and key (for e-mail the
-- SHA-256 of the raw message, counted before it is read): after `quarantine_after_failures` the
-- input is set aside instead of being read again, so one message can never stop the next.
CREATE TABLE input_failures (
    channel TEXT NOT NULL,
    input_key TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    updated_at TEXT NOT NULL,
    quarantined_at TEXT,
    PRIMARY KEY (channel, input_key)
) WITHOUT ROWID;

-- The VERP token of each message we sent: its envelope sender is local+bounce-TOKEN@domain, so
-- a delivery report counts only when it comes back to that address (or names our Message-ID).
ALTER TABLE mail_sent ADD COLUMN bounce_token TEXT;
CREATE UNIQUE INDEX mail_sent_by_bounce_token ON mail_sent (bounce_token);

-- Addresses that bounced a message we sent them: e-mail to them is paused (rows 'paused', not
-- failed) until the address writes to us again.
CREATE TABLE mail_paused (
    address TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    message_id TEXT NOT NULL,
    paused_at TEXT NOT NULL
);

-- Delivery lanes: 0 = interactive replies, 1 = notices (an unthreaded message, a bounce),
-- 2 = scheduled work. Order within a conversation is kept per lane, and lower lanes are
-- claimed first: a notice never holds back a reply.
ALTER TABLE outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_lanes ON outbox (priority, id) WHERE status IN ('pending', 'sending');
