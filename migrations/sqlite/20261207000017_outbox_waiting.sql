-- The due-time index of the waiting messages is read by no query on SQLite: the claim walks the
-- lanes' index instead (it keeps off this one on purpose, see `store::outbox`), and the counts
-- of waiting messages read the lanes' index too. Every message paid for it three times, when
-- it was queued, claimed and sent. PostgreSQL keeps it (its claim may read it).
DROP INDEX outbox_waiting;
