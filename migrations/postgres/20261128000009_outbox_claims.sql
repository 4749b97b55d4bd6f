-- Who holds a row being sent, and how far its sending got.
-- claim_token: random per claim; only the holder of the current claim may renew its lease or
--   record the outcome, so a worker whose lease ran out (and whose row was taken over) cannot
--   overwrite what the new holder does.
-- taken_over: 1 when the current claim took the row over from an earlier claim whose lease had
--   run out (its message may have been sent already: a possible duplicate).
-- parts_sent: how many parts of the message (text, then each document) went out, so a retry
--   or a takeover resumes after them instead of sending them again.
ALTER TABLE outbox ADD COLUMN claim_token BIGINT;
ALTER TABLE outbox ADD COLUMN taken_over BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN parts_sent BIGINT NOT NULL DEFAULT 0;
