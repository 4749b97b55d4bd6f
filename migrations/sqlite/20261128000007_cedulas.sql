-- Issued cédulas: the number (sequential), the signed payload as issued, its cadena original,
-- the signature and the public key that made it. A PDF is rendered again from this row.
CREATE TABLE cedula_counter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_number INTEGER NOT NULL
);

CREATE TABLE cedulas (
    number INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL UNIQUE REFERENCES applications (id),
    payload TEXT NOT NULL,
    cadena TEXT NOT NULL,
    signature TEXT NOT NULL,
    public_key TEXT NOT NULL,
    issued_at TEXT NOT NULL
);

-- Why the office rejected an application (told to the applicant; kept with the case).
ALTER TABLE applications ADD COLUMN rejection_reason TEXT;
