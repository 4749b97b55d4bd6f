-- Staff accounts of the office console (`ventanilla staff user …`): the argon2id hash of the
-- password (a PHC string, never the password), a role, and the office the member works at
-- (NULL: every office).
CREATE TABLE staff_users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('clerk', 'supervisor', 'admin')),
    office_id TEXT,
    disabled_at TEXT,
    created_at TEXT NOT NULL
);

-- Console sessions, in the database so that they survive a restart and work across instances:
-- the SHA-256 of the cookie's token (the token itself is never stored), the token of its forms
-- (CSRF), when it started and when it was last used (Unix milliseconds).
CREATE TABLE staff_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES staff_users (id),
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX staff_sessions_by_user ON staff_sessions (user_id);

-- Failed logins in the current window, per account (`user:NAME`) and per client address
-- (`address:IP`): beyond the configured number, logins are refused until the window ends.
CREATE TABLE login_failures (
    throttle_key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_start INTEGER NOT NULL
);

-- The staff member who did an action of the audit trail (NULL for the applicant, the mail and
-- the delivery worker).
ALTER TABLE audit_events ADD COLUMN staff_id INTEGER;
