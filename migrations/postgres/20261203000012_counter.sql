-- What the clerk saw at the counter for an application: one row per item of the checklist
-- ([console] checklist: the title's original, its copies, the bank receipts…) marked as seen,
-- with who and when. Unmarking deletes the row; the audit trail keeps both.
CREATE TABLE document_checks (
    application_id BIGINT NOT NULL REFERENCES applications (id),
    item TEXT NOT NULL,
    checked_by BIGINT,
    checked_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (application_id, item)
);
