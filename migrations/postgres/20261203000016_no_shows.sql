-- No-shows (issue 13): how many appointments of the application passed without the applicant,
-- and how many of them the office has already looked at. Past the limit (`booking.no_show_limit`)
-- a new booking waits until staff approve it (`staff approve-booking`), which sets
-- `no_shows_approved` to `no_shows`.
ALTER TABLE applications ADD COLUMN no_shows BIGINT NOT NULL DEFAULT 0;
ALTER TABLE applications ADD COLUMN no_shows_approved BIGINT NOT NULL DEFAULT 0;
UPDATE applications SET no_shows = (
    SELECT COUNT(*) FROM appointments p WHERE p.application_id = applications.id AND p.status = 'no_show'
);
