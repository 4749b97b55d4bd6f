//! Applications, their folios and the payment keys bound to them.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use sqlx::FromRow;

use super::{Conn, on};
use crate::domain::application::{ApplicationData, ApplicationView, AppointmentView};
use crate::domain::application::{Folio, Status, Waiting};
use crate::domain::payment::PaymentKey;

/// Outcome of claiming a payment key for a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Claimed,
    /// Bound to another conversation or to a submitted application.
    Taken,
}

/// Binds `key` to the conversation, unless another conversation or an application has it.
pub async fn claim_payment_key(
    conn: &mut Conn<'_>,
    key: &PaymentKey,
    conversation_id: i64,
    now: DateTime<Utc>,
) -> Result<Claim, sqlx::Error> {
    let inserted = on!(conn, c => sqlx::query(
        "INSERT INTO payment_keys (payment_key, conversation_id, claimed_at) VALUES ($1, $2, $3)
         ON CONFLICT (payment_key) DO NOTHING",
    )
    .bind(key.as_str())
    .bind(conversation_id)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if inserted == 1 {
        return Ok(Claim::Claimed);
    }
    let holder = on!(conn, c => sqlx::query_as::<_, (i64, Option<i64>)>(
        "SELECT conversation_id, application_id FROM payment_keys WHERE payment_key = $1",
    )
    .bind(key.as_str())
    .fetch_optional(c)
    .await)?;
    Ok(match holder {
        Some((holder, None)) if holder == conversation_id => Claim::Claimed,
        _ => Claim::Taken,
    })
}

/// Frees a key this conversation claimed but did not submit.
pub async fn release_payment_key(
    conn: &mut Conn<'_>,
    key: &PaymentKey,
    conversation_id: i64,
) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "DELETE FROM payment_keys
         WHERE payment_key = $1 AND conversation_id = $2 AND application_id IS NULL",
    )
    .bind(key.as_str())
    .bind(conversation_id)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Outcome of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    Submitted {
        application_id: i64,
        folio: Folio,
    },
    /// The payment key is not (or no longer) this conversation's.
    PaymentKeyTaken,
}

/// Creates the application with the next folio of the year and binds its payment key.
pub async fn submit(
    conn: &mut Conn<'_>,
    conversation_id: i64,
    data: &ApplicationData,
    now: DateTime<Utc>,
    year: i32,
) -> Result<Submission, sqlx::Error> {
    if claim_payment_key(conn, &data.payment_key, conversation_id, now).await? == Claim::Taken {
        return Ok(Submission::PaymentKeyTaken);
    }
    let number = on!(conn, c => sqlx::query_scalar::<_, i64>(
        "INSERT INTO folio_counters (year, last_number) VALUES ($1, 1)
         ON CONFLICT (year) DO UPDATE SET last_number = folio_counters.last_number + 1
         RETURNING last_number",
    )
    .bind(i64::from(year))
    .fetch_one(c)
    .await)?;
    let folio = Folio::new(year, u32::try_from(number).unwrap_or(u32::MAX));
    let json = serde_json::to_string(data).expect("application data serializes");
    let application_id = on!(conn, c => sqlx::query_scalar::<_, i64>(
        "INSERT INTO applications
           (folio, conversation_id, status, curp, email, payment_key, paid_on, data,
            submitted_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         RETURNING id",
    )
    .bind(folio.to_string())
    .bind(conversation_id)
    .bind(Status::Submitted.as_str())
    .bind(data.curp.as_str())
    .bind(data.email.as_str())
    .bind(data.payment_key.as_str())
    .bind(data.paid_on)
    .bind(json)
    .bind(now)
    .fetch_one(c)
    .await)?;
    on!(conn, c => sqlx::query(
        "UPDATE payment_keys SET application_id = $1 WHERE payment_key = $2",
    )
    .bind(application_id)
    .bind(data.payment_key.as_str())
    .execute(c)
    .await
    .map(|_| ()))?;
    Ok(Submission::Submitted {
        application_id,
        folio,
    })
}

#[derive(FromRow)]
struct ViewRow {
    id: i64,
    folio: String,
    status: String,
    paid_on: NaiveDate,
    appointment_id: Option<i64>,
    office_id: Option<String>,
    day: Option<NaiveDate>,
    slot: Option<String>,
    cedula: Option<i64>,
    waiting_office: Option<String>,
    latest_day: Option<NaiveDate>,
    no_shows: i64,
    no_shows_approved: i64,
}

/// The application as the dialogue sees it, with its active appointment.
pub async fn view(
    conn: &mut Conn<'_>,
    application_id: i64,
) -> Result<Option<ApplicationView>, sqlx::Error> {
    let row = on!(conn, c => sqlx::query_as::<_, ViewRow>(
        "SELECT a.id, a.folio, a.status, a.paid_on,
                p.id AS appointment_id, p.office_id, p.day, p.slot, c.number AS cedula,
                w.office_id AS waiting_office, w.latest_day, a.no_shows, a.no_shows_approved
         FROM applications a
         LEFT JOIN appointments p ON p.application_id = a.id AND p.status = 'active'
         LEFT JOIN cedulas c ON c.application_id = a.id
         LEFT JOIN waitlist w ON w.application_id = a.id AND w.status = 'waiting'
         WHERE a.id = $1",
    )
    .bind(application_id)
    .fetch_optional(c)
    .await)?;
    Ok(row.and_then(|row| {
        let appointment = match (row.appointment_id, row.office_id, row.day, row.slot) {
            (Some(id), Some(office_id), Some(day), Some(slot)) => Some(AppointmentView {
                id,
                office_id,
                day,
                slot: NaiveTime::parse_from_str(&slot, "%H:%M").ok()?,
            }),
            _ => None,
        };
        Some(ApplicationView {
            id: row.id,
            folio: row.folio.parse().ok()?,
            status: Status::parse(&row.status)?,
            paid_on: row.paid_on,
            appointment,
            cedula: row.cedula,
            waiting: match (row.waiting_office, row.latest_day) {
                (Some(office_id), Some(latest_day)) => Some(Waiting {
                    office_id,
                    latest_day,
                }),
                _ => None,
            },
            no_shows: u32::try_from(row.no_shows).unwrap_or(0),
            no_shows_approved: u32::try_from(row.no_shows_approved).unwrap_or(0),
        })
    }))
}

/// The e-mail address the applicant gave (and confirmed) in the conversation's latest
/// application, with that application: where important notices go when the conversation's own
/// channel cannot be reached.
pub async fn verified_email(
    conn: &mut Conn<'_>,
    conversation_id: i64,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, (i64, String)>(
        "SELECT id, email FROM applications WHERE conversation_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(conversation_id)
    .fetch_optional(c)
    .await)
}

/// One more appointment missed.
pub async fn count_no_show(conn: &mut Conn<'_>, application_id: i64) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query("UPDATE applications SET no_shows = no_shows + 1 WHERE id = $1")
        .bind(application_id)
        .execute(c)
        .await
        .map(|_| ()))
}

/// The office lets the applicant book past their no-shows so far; false when none waited.
pub async fn approve_no_shows(
    conn: &mut Conn<'_>,
    application_id: i64,
) -> Result<bool, sqlx::Error> {
    let done = on!(conn, c => sqlx::query(
        "UPDATE applications SET no_shows_approved = no_shows
         WHERE id = $1 AND no_shows_approved < no_shows",
    )
    .bind(application_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Sets the status, if the lifecycle allows it; returns the previous status when it changed.
pub async fn set_status(
    conn: &mut Conn<'_>,
    application_id: i64,
    next: Status,
    now: DateTime<Utc>,
) -> Result<Option<Status>, sqlx::Error> {
    let current = on!(conn, c => sqlx::query_scalar::<_, String>(
        "SELECT status FROM applications WHERE id = $1",
    )
    .bind(application_id)
    .fetch_optional(c)
    .await)?;
    let Some(current) = current.as_deref().and_then(Status::parse) else {
        return Ok(None);
    };
    if !current.can_become(next) {
        return Ok(None);
    }
    let affected = on!(conn, c => sqlx::query(
        "UPDATE applications SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
    )
    .bind(next.as_str())
    .bind(now)
    .bind(application_id)
    .bind(current.as_str())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok((affected == 1).then_some(current))
}

/// The calendar year of `now` in the office's zone, for folios.
pub fn folio_year(now: DateTime<Utc>, zone: chrono_tz::Tz) -> i32 {
    now.with_timezone(&zone).year()
}

/// The stored data of an application.
pub async fn data(
    conn: &mut Conn<'_>,
    application_id: i64,
) -> Result<Option<ApplicationData>, sqlx::Error> {
    let json = on!(conn, c => sqlx::query_scalar::<_, String>(
        "SELECT data FROM applications WHERE id = $1",
    )
    .bind(application_id)
    .fetch_optional(c)
    .await)?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}
