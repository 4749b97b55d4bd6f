-- Audit trail of state changes: who did what to which conversation or application.
-- Details hold no personal data.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    conversation_id INTEGER,
    application_id INTEGER,
    event TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_application ON audit_events (application_id);
