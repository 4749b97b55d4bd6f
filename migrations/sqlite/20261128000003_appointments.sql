-- Seats: counters per office and day, and per slot, taken by conditional updates that cannot
-- exceed the capacity; appointments reference them. One active appointment per application.
CREATE TABLE day_seats (
    office_id TEXT NOT NULL,
    day TEXT NOT NULL,
    taken INTEGER NOT NULL DEFAULT 0 CHECK (taken >= 0),
    PRIMARY KEY (office_id, day)
);

CREATE TABLE slot_seats (
    office_id TEXT NOT NULL,
    day TEXT NOT NULL,
    slot TEXT NOT NULL,
    taken INTEGER NOT NULL DEFAULT 0 CHECK (taken >= 0),
    PRIMARY KEY (office_id, day, slot)
);

CREATE TABLE appointments (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications (id),
    office_id TEXT NOT NULL,
    day TEXT NOT NULL,
    slot TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    cancelled_at TEXT
);
CREATE UNIQUE INDEX appointments_one_active ON appointments (application_id) WHERE status = 'active';
CREATE INDEX appointments_day ON appointments (office_id, day);
