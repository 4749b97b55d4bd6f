-- The claim only takes a message when no earlier one of its conversation, channel and lane is
-- still waiting. Without this index that check walked the whole lane (every waiting message
-- before it), so claiming one of 10,000 queued reminders took seconds on SQLite.
CREATE INDEX outbox_order ON outbox (conversation_id, channel, priority, id)
    WHERE status IN ('pending', 'sending');
