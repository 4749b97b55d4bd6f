//! The waitlist: applicants who asked to be told when an earlier seat frees up at an office, up
//! to the latest day they would accept, first come first offered. A seat freed on a day someone
//! waits for schedules an offer job (`OFFER_JOB`, in the transaction that freed it); the job
//! holds the seat for the first in line (`appointments::hold`) and marks the place `offered`.
//! Accepting, declining or the hold's expiry end the place.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::FromRow;

use super::jobs::NewJob;
use super::{Conn, on};

/// The job that offers the free seats of one office's day to the people waiting for it.
pub const OFFER_JOB: &str = "waitlist_offer";

/// What the offer job reads: the office and the day whose seats opened.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Opened {
    pub office: String,
    pub day: NaiveDate,
}

/// How a place in line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Accepted,
    Declined,
    Expired,
    /// The applicant left the line (or the application ended).
    Left,
}

impl Ended {
    fn as_str(self) -> &'static str {
        match self {
            Ended::Accepted => "accepted",
            Ended::Declined => "declined",
            Ended::Expired => "expired",
            Ended::Left => "left",
        }
    }
}

/// Puts the application in the office's line up to `latest_day` (a place it had is given up
/// first: the new range is what counts, at the back of the line). False when it has an offer
/// open (that offer is answered first).
pub async fn join(
    conn: &mut Conn<'_>,
    application_id: i64,
    office_id: &str,
    latest_day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    end_waiting(conn, application_id, now).await?;
    let added = on!(conn, c => sqlx::query(
        "INSERT INTO waitlist (application_id, office_id, latest_day, status, created_at, updated_at)
         VALUES ($1, $2, $3, 'waiting', $4, $4) ON CONFLICT DO NOTHING",
    )
    .bind(application_id)
    .bind(office_id)
    .bind(latest_day)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(added == 1)
}

/// Takes the application out of line (a place still waiting; an open offer is ended by its own
/// answer or expiry).
pub async fn leave(
    conn: &mut Conn<'_>,
    application_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    end_waiting(conn, application_id, now).await
}

async fn end_waiting(
    conn: &mut Conn<'_>,
    application_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let left = on!(conn, c => sqlx::query(
        "UPDATE waitlist SET status = 'left', updated_at = $1
         WHERE application_id = $2 AND status = 'waiting'",
    )
    .bind(now)
    .bind(application_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(left > 0)
}

/// Seats opened on `day` at `office_id` (`cause` names why, unique per event: `freed:{id}`,
/// `capacity:{millis}`): schedules an offer job, due now, if anyone waits for that day.
pub async fn seats_opened(
    conn: &mut Conn<'_>,
    office_id: &str,
    day: NaiveDate,
    cause: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let waiting = on!(conn, c => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM waitlist WHERE office_id = $1 AND status = 'waiting' AND latest_day >= $2",
    )
    .bind(office_id)
    .bind(day)
    .fetch_one(c)
    .await)?;
    if waiting == 0 {
        return Ok(());
    }
    let opened = Opened {
        office: office_id.to_string(),
        day,
    };
    let job = NewJob {
        kind: OFFER_JOB,
        key: format!("{OFFER_JOB}:{office_id}:{day}:{cause}"),
        due_at: now,
        appointment_id: None,
        payload: serde_json::to_string(&opened).expect("serializes"),
    };
    super::jobs::schedule(conn, &job, now).await.map(|_| ())
}

/// Seats may have opened on every day after `today` up to `last` (the office's hours changed):
/// an offer job for each day someone waits for.
pub async fn days_opened(
    conn: &mut Conn<'_>,
    office_id: &str,
    today: NaiveDate,
    last: NaiveDate,
    cause: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let latest = on!(conn, c => sqlx::query_scalar::<_, Option<NaiveDate>>(
        "SELECT MAX(latest_day) FROM waitlist WHERE office_id = $1 AND status = 'waiting'",
    )
    .bind(office_id)
    .fetch_one(c)
    .await)?;
    let Some(latest) = latest else {
        return Ok(());
    };
    let mut day = today;
    while let Some(next) = day.succ_opt().filter(|d| *d <= latest.min(last)) {
        seats_opened(conn, office_id, next, cause, now).await?;
        day = next;
    }
    Ok(())
}

/// A place in line.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Place {
    pub id: i64,
    pub application_id: i64,
    pub office_id: String,
    pub latest_day: NaiveDate,
    pub status: String,
    pub hold_id: Option<i64>,
}

const COLUMNS: &str = "id, application_id, office_id, latest_day, status, hold_id";

/// The first applicant waiting at `office_id` (after place `after`) for whom `day` is an
/// improvement: within their range, their application still open, and no appointment of theirs
/// on that day or earlier.
pub async fn first_in_line(
    conn: &mut Conn<'_>,
    office_id: &str,
    day: NaiveDate,
    after: i64,
) -> Result<Option<Place>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM waitlist w
         WHERE w.office_id = $1 AND w.status = 'waiting' AND w.latest_day >= $2 AND w.id > $3
           AND EXISTS (SELECT 1 FROM applications a
                       WHERE a.id = w.application_id AND a.status IN ('submitted', 'scheduled'))
           AND NOT EXISTS (SELECT 1 FROM appointments p
                           WHERE p.application_id = w.application_id
                             AND p.status IN ('active', 'held') AND p.day <= $2)
         ORDER BY w.id LIMIT 1"
    );
    on!(conn, c => sqlx::query_as::<_, Place>(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(office_id)
        .bind(day)
        .bind(after)
        .fetch_optional(c)
        .await)
}

/// The place is offered the hold `hold_id`; false when it was no longer waiting.
pub async fn offered(
    conn: &mut Conn<'_>,
    place_id: i64,
    hold_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = on!(conn, c => sqlx::query(
        "UPDATE waitlist SET status = 'offered', hold_id = $1, updated_at = $2
         WHERE id = $3 AND status = 'waiting'",
    )
    .bind(hold_id)
    .bind(now)
    .bind(place_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// The offer of hold `hold_id` ended (accepted, declined, expired).
pub async fn offer_ended(
    conn: &mut Conn<'_>,
    hold_id: i64,
    how: Ended,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "UPDATE waitlist SET status = $1, updated_at = $2 WHERE hold_id = $3 AND status = 'offered'",
    )
    .bind(how.as_str())
    .bind(now)
    .bind(hold_id)
    .execute(c)
    .await
    .map(|_| ()))
}

/// The application's place in line, waiting or offered.
pub async fn place_of(
    conn: &mut Conn<'_>,
    application_id: i64,
) -> Result<Option<Place>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM waitlist
         WHERE application_id = $1 AND status IN ('waiting', 'offered')"
    );
    on!(conn, c => sqlx::query_as::<_, Place>(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(application_id)
        .fetch_optional(c)
        .await)
}

/// How many places of an office are in each status (for the office and tests).
pub async fn counts(
    conn: &mut Conn<'_>,
    office_id: &str,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, (String, i64)>(
        "SELECT status, COUNT(*) FROM waitlist WHERE office_id = $1 GROUP BY status ORDER BY status",
    )
    .bind(office_id)
    .fetch_all(c)
    .await)
}

/// The places of an office in `status`, first in line first (for the office and tests).
pub async fn places(
    conn: &mut Conn<'_>,
    office_id: &str,
    status: &str,
) -> Result<Vec<Place>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM waitlist WHERE office_id = $1 AND status = $2 ORDER BY id");
    on!(conn, c => sqlx::query_as::<_, Place>(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(office_id)
        .bind(status)
        .fetch_all(c)
        .await)
}
