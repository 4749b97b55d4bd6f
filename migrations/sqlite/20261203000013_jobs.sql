-- Work the service schedules for itself (reminders, and what issue 13 adds), written in the
-- same transaction as what causes it and run by one runner at a time. `key` makes scheduling
-- idempotent (one reminder of a kind per appointment); a job is marked done in the same
-- transaction as its effect, so a job run twice has one effect. Ending an appointment deletes
-- its pending jobs.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    -- Unix milliseconds, so that both backends compare numbers.
    due_at INTEGER NOT NULL,
    appointment_id INTEGER,
    payload TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    done_at TEXT
);
CREATE INDEX jobs_due ON jobs (status, due_at);
CREATE INDEX jobs_by_appointment ON jobs (appointment_id);
