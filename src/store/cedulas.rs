//! Issued cédulas and the office's decisions on applications.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::FromRow;

use super::{Conn, on};

/// An application found by its folio, as the office sees it.
#[derive(Debug, Clone, FromRow)]
pub struct Case {
    pub id: i64,
    pub folio: String,
    pub conversation_id: i64,
    pub status: String,
    pub data: String,
    pub submitted_at: DateTime<Utc>,
}

pub async fn case_by_folio(conn: &mut Conn<'_>, folio: &str) -> Result<Option<Case>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, Case>(
        "SELECT id, folio, conversation_id, status, data, submitted_at
         FROM applications WHERE folio = $1",
    )
    .bind(folio)
    .fetch_optional(c)
    .await)
}

/// Allocates the next cédula number (sequential, never reused).
pub async fn next_number(conn: &mut Conn<'_>) -> Result<i64, sqlx::Error> {
    on!(conn, c => sqlx::query_scalar::<_, i64>(
        "INSERT INTO cedula_counter (id, last_number) VALUES (1, 1)
         ON CONFLICT (id) DO UPDATE SET last_number = cedula_counter.last_number + 1
         RETURNING last_number",
    )
    .fetch_one(c)
    .await)
}

/// A stored cédula.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct CedulaRow {
    pub number: i64,
    pub application_id: i64,
    pub payload: String,
    pub cadena: String,
    pub signature: String,
    pub public_key: String,
    pub issued_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut Conn<'_>, row: &CedulaRow) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "INSERT INTO cedulas (number, application_id, payload, cadena, signature, public_key, issued_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(row.number)
    .bind(row.application_id)
    .bind(&row.payload)
    .bind(&row.cadena)
    .bind(&row.signature)
    .bind(&row.public_key)
    .bind(row.issued_at)
    .execute(c)
    .await
    .map(|_| ()))
}

pub async fn by_number(conn: &mut Conn<'_>, number: i64) -> Result<Option<CedulaRow>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, CedulaRow>(
        "SELECT number, application_id, payload, cadena, signature, public_key, issued_at
         FROM cedulas WHERE number = $1",
    )
    .bind(number)
    .fetch_optional(c)
    .await)
}

pub async fn set_rejection_reason(
    conn: &mut Conn<'_>,
    application_id: i64,
    reason: &str,
) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query("UPDATE applications SET rejection_reason = $1 WHERE id = $2")
        .bind(reason)
        .bind(application_id)
        .execute(c)
        .await
        .map(|_| ()))
}

/// One line of the day's agenda.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct AgendaRow {
    pub slot: String,
    pub office_id: String,
    pub folio: String,
    pub status: String,
    pub data: String,
}

/// The active appointments of a day (of one office, or all), by time.
pub async fn agenda(
    conn: &mut Conn<'_>,
    day: NaiveDate,
    office_id: Option<&str>,
) -> Result<Vec<AgendaRow>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, AgendaRow>(
        "SELECT p.slot, p.office_id, a.folio, a.status, a.data
         FROM appointments p JOIN applications a ON a.id = p.application_id
         WHERE p.day = $1 AND p.status = 'active' AND ($2 IS NULL OR p.office_id = $2)
         ORDER BY p.office_id, p.slot, a.folio",
    )
    .bind(day)
    .bind(office_id)
    .fetch_all(c)
    .await)
}

pub async fn case_by_id(conn: &mut Conn<'_>, id: i64) -> Result<Option<Case>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, Case>(
        "SELECT id, folio, conversation_id, status, data, submitted_at
         FROM applications WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// An appointment, active or cancelled.
#[derive(Debug, Clone, FromRow)]
pub struct AppointmentRow {
    pub id: i64,
    pub application_id: i64,
    pub office_id: String,
    pub day: NaiveDate,
    pub slot: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

pub async fn appointment(
    conn: &mut Conn<'_>,
    id: i64,
) -> Result<Option<AppointmentRow>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, AppointmentRow>(
        "SELECT id, application_id, office_id, day, slot, status, created_at, cancelled_at
         FROM appointments WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Every appointment an application ever had, oldest first (for the invitation's SEQUENCE).
pub async fn appointment_ids(
    conn: &mut Conn<'_>,
    application_id: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    on!(conn, c => sqlx::query_scalar::<_, i64>(
        "SELECT id FROM appointments WHERE application_id = $1 ORDER BY id",
    )
    .bind(application_id)
    .fetch_all(c)
    .await)
}
