//! The office's day: the appointments of a date (held, or missed), by office and time.

use chrono::NaiveDate;
use sqlx::FromRow;

use super::{Conn, on};
use crate::domain::application::Status;

/// One line of the day's agenda.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct AgendaRow {
    pub slot: String,
    pub office_id: String,
    pub folio: String,
    #[sqlx(try_from = "String")]
    pub status: Status,
    pub data: String,
    /// The appointment's own status: `active`, or `no_show` when the applicant did not come.
    pub appointment_status: String,
    /// Appointments the application missed so far.
    pub no_shows: i64,
}

/// The appointments of a day that are held or were missed (of one office, or all), by time.
pub async fn agenda(
    conn: &mut Conn<'_>,
    day: NaiveDate,
    office_id: Option<&str>,
) -> Result<Vec<AgendaRow>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, AgendaRow>(
        "SELECT p.slot, p.office_id, a.folio, a.status, a.data, p.status AS appointment_status,
                a.no_shows
         FROM appointments p JOIN applications a ON a.id = p.application_id
         WHERE p.day = $1 AND p.status IN ('active', 'no_show')
           AND ($2 IS NULL OR p.office_id = $2)
         ORDER BY p.office_id, p.slot, a.folio",
    )
    .bind(day)
    .bind(office_id)
    .fetch_all(c)
    .await)
}

/// Applications that came to their appointment at `office_id` and wait for the office's
/// decision (approve or reject), oldest first.
pub async fn awaiting_decision(
    conn: &mut Conn<'_>,
    office_id: &str,
) -> Result<Vec<AgendaRow>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, AgendaRow>(
        "SELECT p.slot, p.office_id, a.folio, a.status, a.data, p.status AS appointment_status,
                a.no_shows
         FROM applications a JOIN appointments p ON p.application_id = a.id
         WHERE a.status = 'attended' AND p.status = 'active' AND p.office_id = $1
         ORDER BY p.day, p.slot, a.folio",
    )
    .bind(office_id)
    .fetch_all(c)
    .await)
}
