-- The waitlist (issue 13): applicants who want an earlier seat than the calendar had, at one
-- office, up to the latest day they would accept; first come, first offered. A freed seat is
-- offered with a hold: an appointment row in status 'held' that takes its seat in the day's and
-- the slot's counters like any booking (so nobody else can take it) until `hold_until` (Unix
-- milliseconds). Accepting turns it 'active'; declining or expiry marks it 'released' and frees
-- the seat for the next in line.
ALTER TABLE appointments ADD COLUMN hold_until INTEGER;
CREATE UNIQUE INDEX appointments_one_held ON appointments (application_id) WHERE status = 'held';

CREATE TABLE waitlist (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications (id),
    office_id TEXT NOT NULL,
    latest_day TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'waiting'
        CHECK (status IN ('waiting', 'offered', 'accepted', 'declined', 'expired', 'left')),
    -- The held appointment of the offer.
    hold_id INTEGER REFERENCES appointments (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- One place in line per application at a time.
CREATE UNIQUE INDEX waitlist_one_place ON waitlist (application_id)
    WHERE status IN ('waiting', 'offered');
CREATE INDEX waitlist_line ON waitlist (office_id, status, id);
CREATE INDEX waitlist_hold ON waitlist (hold_id);
