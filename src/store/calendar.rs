//! The office's own calendar decisions: its hours (over the configured ones), one day's
//! capacity, closures and what each closure did. Everything a booking must respect is checked
//! by the database inside the booking's transaction: the hours row is held `FOR SHARE` by a
//! booking on PostgreSQL (a change of hours waits for it, and it for the change), and a day's
//! own capacity (0 when closed) is in the same row as its seat counter.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::FromRow;

use super::{Conn, on};
use crate::domain::calendar::{Held, Hours};
use crate::domain::procedure::Procedure;

/// The procedure as the office has it now between `from` and `to`: each office's hours, its
/// closed days and its days of other capacity.
pub async fn effective(
    conn: &mut Conn<'_>,
    procedure: &Procedure,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Procedure, sqlx::Error> {
    let hours = on!(conn, c => sqlx::query_as::<_, (String, String)>(
        "SELECT office_id, hours FROM office_calendars WHERE hours IS NOT NULL",
    )
    .fetch_all(c)
    .await)?;
    let days = on!(conn, c => sqlx::query_as::<_, (String, NaiveDate, i64)>(
        "SELECT office_id, day, capacity FROM day_seats
         WHERE capacity IS NOT NULL AND day >= $1 AND day <= $2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await)?;
    let closures = on!(conn, c => sqlx::query_as::<_, (String, NaiveDate, NaiveDate)>(
        "SELECT office_id, first_day, last_day FROM closures
         WHERE last_day >= $1 AND first_day <= $2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await)?;
    let mut procedure = procedure.clone();
    for office in procedure.offices.iter_mut() {
        if let Some(changed) = hours
            .iter()
            .find(|(id, _)| *id == office.id)
            .and_then(|(_, json)| serde_json::from_str::<Hours>(json).ok())
        {
            *office = office.with_hours(&changed);
        }
        for (_, day, capacity) in days.iter().filter(|(id, ..)| *id == office.id) {
            office
                .exceptions
                .capacity
                .insert(*day, u32::try_from(*capacity).unwrap_or(0));
        }
        for (_, first, last) in closures.iter().filter(|(id, ..)| *id == office.id) {
            let (first, last) = ((*first).max(from), (*last).min(to));
            office
                .exceptions
                .closed
                .extend(first.iter_days().take_while(|day| *day <= last));
        }
    }
    Ok(procedure)
}

/// Holds the office's hours for a booking (PostgreSQL: `FOR SHARE` until commit, so that a
/// change of hours cannot pass between reading them and taking the seat; SQLite serializes
/// writers).
pub async fn hold_hours(conn: &mut Conn<'_>, office_id: &str) -> Result<(), sqlx::Error> {
    ensure_row(conn, office_id).await?;
    on!(conn,
        sqlite _c => Ok::<(), sqlx::Error>(()),
        postgres c => sqlx::query("SELECT 1 FROM office_calendars WHERE office_id = $1 FOR SHARE")
            .bind(office_id)
            .execute(c)
            .await
            .map(|_| ()),
    )
}

async fn ensure_row(conn: &mut Conn<'_>, office_id: &str) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "INSERT INTO office_calendars (office_id) VALUES ($1) ON CONFLICT (office_id) DO NOTHING",
    )
    .bind(office_id)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Writes the office's new hours (the caller checks what they leave out before committing).
pub async fn set_hours(
    conn: &mut Conn<'_>,
    office_id: &str,
    hours: &Hours,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    ensure_row(conn, office_id).await?;
    let json = serde_json::to_string(hours).expect("hours serialize");
    on!(conn, c => sqlx::query(
        "UPDATE office_calendars SET hours = $1, updated_at = $2, updated_by = $3
         WHERE office_id = $4",
    )
    .bind(&json)
    .bind(now)
    .bind(by)
    .bind(office_id)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Gives `day` its own capacity (`None`: the office's again; 0: closed). Takes the day's row,
/// so a booking of that day waits for the caller's transaction.
pub async fn set_day_capacity(
    conn: &mut Conn<'_>,
    office_id: &str,
    day: NaiveDate,
    capacity: Option<u32>,
) -> Result<(), sqlx::Error> {
    let capacity = capacity.map(i64::from);
    on!(conn, c => sqlx::query(
        "INSERT INTO day_seats (office_id, day, taken, capacity) VALUES ($1, $2, 0, $3)
         ON CONFLICT (office_id, day) DO UPDATE SET capacity = $3",
    )
    .bind(office_id)
    .bind(day)
    .bind(capacity)
    .execute(c)
    .await
    .map(|_| ()))
}

/// An active appointment of an office from a day on, with its application.
#[derive(Debug, Clone, FromRow)]
pub struct ActiveRow {
    pub appointment_id: i64,
    pub application_id: i64,
    pub conversation_id: i64,
    pub folio: String,
    pub data: String,
    pub day: NaiveDate,
    pub slot: String,
}

impl ActiveRow {
    pub fn held(&self) -> Held {
        Held {
            day: self.day,
            slot: NaiveTime::parse_from_str(&self.slot, "%H:%M").unwrap_or(NaiveTime::MIN),
        }
    }
}

/// The office's active appointments between `from` and `to`, by day and time.
pub async fn active(
    conn: &mut Conn<'_>,
    office_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<ActiveRow>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, ActiveRow>(
        "SELECT ap.id AS appointment_id, ap.application_id, a.conversation_id, a.folio, a.data,
                ap.day, ap.slot
         FROM appointments ap JOIN applications a ON a.id = ap.application_id
         WHERE ap.office_id = $1 AND ap.day >= $2 AND ap.day <= $3 AND ap.status = 'active'
         ORDER BY ap.day, ap.slot, ap.id",
    )
    .bind(office_id)
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await)
}

/// A closure as the office reads it.
#[derive(Debug, Clone, FromRow)]
pub struct ClosureRow {
    pub id: i64,
    pub office_id: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub reason: String,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// Records a closure; its id.
pub async fn insert_closure(
    conn: &mut Conn<'_>,
    office_id: &str,
    first: NaiveDate,
    last: NaiveDate,
    reason: &str,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    on!(conn, c => sqlx::query_scalar::<_, i64>(
        "INSERT INTO closures (office_id, first_day, last_day, reason, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(office_id)
    .bind(first)
    .bind(last)
    .bind(reason)
    .bind(by)
    .bind(now)
    .fetch_one(c)
    .await)
}

macro_rules! closures_where {
    ($rest:literal) => {
        concat!(
            "SELECT id, office_id, first_day, last_day, reason, created_by, created_at
             FROM closures WHERE ",
            $rest
        )
    };
}

/// The office's closures that end on or after `from`, by first day.
pub async fn closures(
    conn: &mut Conn<'_>,
    office_id: &str,
    from: NaiveDate,
) -> Result<Vec<ClosureRow>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, ClosureRow>(closures_where!(
        "office_id = $1 AND last_day >= $2 ORDER BY first_day, id"
    ))
        .bind(office_id)
        .bind(from)
        .fetch_all(c)
        .await)
}

pub async fn closure(conn: &mut Conn<'_>, id: i64) -> Result<Option<ClosureRow>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, ClosureRow>(closures_where!("id = $1"))
        .bind(id)
        .fetch_optional(c)
        .await)
}

/// What a closure did to one appointment.
pub async fn record_move(
    conn: &mut Conn<'_>,
    closure_id: i64,
    application_id: i64,
    from_appointment_id: i64,
    to_appointment_id: Option<i64>,
    notices: &[i64],
) -> Result<(), sqlx::Error> {
    let notices = serde_json::to_string(notices).expect("ids serialize");
    on!(conn, c => sqlx::query(
        "INSERT INTO closure_moves
             (closure_id, application_id, from_appointment_id, to_appointment_id, notices)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(closure_id)
    .bind(application_id)
    .bind(from_appointment_id)
    .bind(to_appointment_id)
    .bind(notices)
    .execute(c)
    .await
    .map(|_| ()))
}

/// One applicant a closure met, with where they were moved and their notices' statuses.
#[derive(Debug, Clone, FromRow)]
pub struct MoveRow {
    pub application_id: i64,
    pub folio: String,
    pub data: String,
    pub from_day: NaiveDate,
    pub from_slot: String,
    pub to_day: Option<NaiveDate>,
    pub to_slot: Option<String>,
    pub notices: String,
}

/// What closure `id` did, in the order it did it.
pub async fn moves(conn: &mut Conn<'_>, closure_id: i64) -> Result<Vec<MoveRow>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, MoveRow>(
        "SELECT m.application_id, a.folio, a.data, f.day AS from_day, f.slot AS from_slot,
                t.day AS to_day, t.slot AS to_slot, m.notices
         FROM closure_moves m
         JOIN applications a ON a.id = m.application_id
         JOIN appointments f ON f.id = m.from_appointment_id
         LEFT JOIN appointments t ON t.id = m.to_appointment_id
         WHERE m.closure_id = $1
         ORDER BY f.day, f.slot, f.id",
    )
    .bind(closure_id)
    .fetch_all(c)
    .await)
}

/// The status of outbox rows (`queued`, `sent`, `failed`, `paused`…) with their last error.
pub async fn notice_statuses(
    conn: &mut Conn<'_>,
    ids: &[i64],
) -> Result<Vec<(i64, String, Option<String>)>, sqlx::Error> {
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        let row = on!(conn, c => sqlx::query_as::<_, (i64, String, Option<String>)>(
            "SELECT id, status, last_error FROM outbox WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(c)
        .await)?;
        rows.extend(row);
    }
    Ok(rows)
}
