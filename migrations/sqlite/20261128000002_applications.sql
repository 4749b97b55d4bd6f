-- Submitted applications and the payment keys bound to them (one application per key).
CREATE TABLE applications (
    id INTEGER PRIMARY KEY,
    folio TEXT NOT NULL UNIQUE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    status TEXT NOT NULL,
    curp TEXT NOT NULL,
    email TEXT NOT NULL,
    payment_key TEXT NOT NULL UNIQUE,
    paid_on TEXT NOT NULL,
    data TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX applications_conversation ON applications (conversation_id);

CREATE TABLE folio_counters (
    year INTEGER PRIMARY KEY,
    last_number INTEGER NOT NULL
);

CREATE TABLE payment_keys (
    payment_key TEXT PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    application_id INTEGER REFERENCES applications (id),
    claimed_at TEXT NOT NULL
);
