-- The office's own changes to its calendar (console or `ventanilla staff hours`): its hours
-- as JSON (opening days, opening and closing time, slot length, daily capacity; NULL: the
-- configured ones). One row per office, written at startup, so that a booking can hold it
-- (PostgreSQL: FOR SHARE) while a change waits for it, and the other way round.
CREATE TABLE office_calendars (
    office_id TEXT PRIMARY KEY,
    hours TEXT,
    updated_at TEXT,
    updated_by INTEGER
);

-- A day's own capacity (a one-day override, or 0 for a closed day), checked by the same
-- conditional update that takes a seat.
ALTER TABLE day_seats ADD COLUMN capacity INTEGER CHECK (capacity >= 0);

-- Days or ranges an office closes, with the reason, who closed and when.
CREATE TABLE closures (
    id INTEGER PRIMARY KEY,
    office_id TEXT NOT NULL,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by INTEGER,
    created_at TEXT NOT NULL
);
CREATE INDEX closures_by_office ON closures (office_id, last_day);

-- What a closure did to each appointment it met: the appointment it moved the applicant to
-- (NULL: no free day was left, the appointment was cancelled and the applicant asked to book
-- again) and the outbox rows that told them (a JSON array of ids), so the office sees who was
-- told and whose notice failed.
CREATE TABLE closure_moves (
    closure_id INTEGER NOT NULL REFERENCES closures (id),
    application_id INTEGER NOT NULL,
    from_appointment_id INTEGER NOT NULL,
    to_appointment_id INTEGER,
    notices TEXT NOT NULL,
    PRIMARY KEY (closure_id, application_id)
);
