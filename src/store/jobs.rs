//! Jobs: work the service schedules for itself, due at an instant (Unix milliseconds). A job
//! is scheduled in the transaction of what causes it (`key` unique: scheduling twice is once),
//! marked done in the transaction of its effect (a second run finds it done and does nothing),
//! and an appointment's pending jobs go with it when it ends.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{Conn, millis, on};

/// A job to schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: &'static str,
    /// Unique among all jobs: the same key scheduled again is ignored.
    pub key: String,
    pub due_at: DateTime<Utc>,
    pub appointment_id: Option<i64>,
    pub payload: String,
}

/// A job as the runner reads it.
#[derive(Debug, Clone, FromRow)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub due_at: i64,
    pub appointment_id: Option<i64>,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

const COLUMNS: &str =
    "id, kind, key, due_at, appointment_id, payload, status, attempts, last_error";

/// Schedules `job` unless one with its key exists; whether it was new.
pub async fn schedule(
    conn: &mut Conn<'_>,
    job: &NewJob,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = on!(conn, c => sqlx::query(
        "INSERT INTO jobs (kind, key, due_at, appointment_id, payload, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING",
    )
    .bind(job.kind)
    .bind(&job.key)
    .bind(millis(job.due_at))
    .bind(job.appointment_id)
    .bind(&job.payload)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done > 0)
}

/// Schedules the job of `job.key` again at `job.due_at` with `job.payload`, whether it is new,
/// pending or done (a job that follows something over time re-arms itself this way, also from
/// within its own run, after `finish`).
pub async fn reschedule(
    conn: &mut Conn<'_>,
    job: &NewJob,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "INSERT INTO jobs (kind, key, due_at, appointment_id, payload, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (key) DO UPDATE SET due_at = excluded.due_at, payload = excluded.payload,
             status = 'pending', attempts = 0, last_error = NULL, done_at = NULL",
    )
    .bind(job.kind)
    .bind(&job.key)
    .bind(millis(job.due_at))
    .bind(job.appointment_id)
    .bind(&job.payload)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Drops the pending job of `key`, if any (what it watched is over).
pub async fn cancel(conn: &mut Conn<'_>, key: &str) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query("DELETE FROM jobs WHERE key = $1 AND status = 'pending'")
        .bind(key)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Drops the pending jobs of an appointment that ended (cancelled, moved, no-show).
pub async fn drop_for_appointment(
    conn: &mut Conn<'_>,
    appointment_id: i64,
) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query("DELETE FROM jobs WHERE appointment_id = $1 AND status = 'pending'")
        .bind(appointment_id)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Pending jobs due at `now`, earliest first, at most `limit`.
pub async fn due(
    conn: &mut Conn<'_>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<JobRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM jobs WHERE status = 'pending' AND due_at <= $1
         ORDER BY due_at, id LIMIT $2"
    );
    on!(conn, c => sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(millis(now))
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// Marks the job done, in the transaction of its effect; false when it was not pending any
/// more (another run did it).
pub async fn finish(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let done = on!(conn, c => sqlx::query(
        "UPDATE jobs SET status = 'done', done_at = $1, attempts = attempts + 1
         WHERE id = $2 AND status = 'pending'",
    )
    .bind(now)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done > 0)
}

/// A run that failed: tried again at `retry_at`, or failed for good after `max_attempts`.
pub async fn failed(
    conn: &mut Conn<'_>,
    id: i64,
    error: &str,
    retry_at: DateTime<Utc>,
    max_attempts: i64,
) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "UPDATE jobs SET attempts = attempts + 1, last_error = $1, due_at = $2,
             status = CASE WHEN attempts + 1 >= $3 THEN 'failed' ELSE 'pending' END
         WHERE id = $4 AND status = 'pending'",
    )
    .bind(error)
    .bind(millis(retry_at))
    .bind(max_attempts)
    .bind(id)
    .execute(c)
    .await
    .map(|_| ()))
}

/// The jobs of an appointment (for the office and tests).
pub async fn for_appointment(
    conn: &mut Conn<'_>,
    appointment_id: i64,
) -> Result<Vec<JobRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE appointment_id = $1 ORDER BY due_at, id");
    on!(conn, c => sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(appointment_id)
        .fetch_all(c)
        .await)
}
