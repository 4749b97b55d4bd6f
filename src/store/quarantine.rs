//! Inputs that failed or crashed the service: each attempt is counted *before* the input is
//! processed (committed on its own), so an input that aborts the process is counted too; after
//! enough failures it is set aside instead of being processed again.

use chrono::{DateTime, Utc};

use super::{Conn, on};

/// What the count said before this attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Attempts that did not finish (failed, panicked or crashed) before this one.
    pub failures_before: i64,
    /// The last error recorded, if any.
    pub last_error: Option<String>,
    /// Set aside already.
    pub quarantined: bool,
}

/// Counts an attempt at `key` as failed until [`finished`] or [`not_counted`] says otherwise.
pub async fn begin(
    conn: &mut Conn<'_>,
    channel: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Attempt, sqlx::Error> {
    let (failures, last_error, quarantined) = on!(conn, c => sqlx::query_as::<_, (i64, Option<String>, bool)>(
        "INSERT INTO input_failures (channel, input_key, failures, updated_at)
         VALUES ($1, $2, 1, $3)
         ON CONFLICT (channel, input_key)
         DO UPDATE SET failures = input_failures.failures + 1, updated_at = excluded.updated_at
         RETURNING failures, last_error, quarantined_at IS NOT NULL",
    )
    .bind(channel)
    .bind(key)
    .bind(now)
    .fetch_one(c)
    .await)?;
    Ok(Attempt {
        failures_before: failures - 1,
        last_error,
        quarantined,
    })
}

/// The attempt finished (processed, or refused as unusable): the count is forgotten.
pub async fn finished(conn: &mut Conn<'_>, channel: &str, key: &str) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "DELETE FROM input_failures WHERE channel = $1 AND input_key = $2 AND quarantined_at IS NULL",
    )
    .bind(channel)
    .bind(key)
    .execute(c)
    .await
    .map(|_| ()))
}

/// The attempt failed for a reason outside the input (the database was unavailable): it does
/// not count against the input.
pub async fn not_counted(conn: &mut Conn<'_>, channel: &str, key: &str) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "UPDATE input_failures SET failures = failures - 1
         WHERE channel = $1 AND input_key = $2 AND failures > 0",
    )
    .bind(channel)
    .bind(key)
    .execute(c)
    .await
    .map(|_| ()))
}

/// The attempt failed: keeps the count and why.
pub async fn failed(
    conn: &mut Conn<'_>,
    channel: &str,
    key: &str,
    error: &str,
) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "UPDATE input_failures SET last_error = $1 WHERE channel = $2 AND input_key = $3",
    )
    .bind(error)
    .bind(channel)
    .bind(key)
    .execute(c)
    .await
    .map(|_| ()))
}

/// The input is set aside.
pub async fn quarantined(
    conn: &mut Conn<'_>,
    channel: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "UPDATE input_failures SET quarantined_at = $1 WHERE channel = $2 AND input_key = $3",
    )
    .bind(now)
    .bind(channel)
    .bind(key)
    .execute(c)
    .await
    .map(|_| ()))
}

/// How many inputs of a channel were set aside.
pub async fn count(conn: &mut Conn<'_>, channel: &str) -> Result<i64, sqlx::Error> {
    on!(conn, c => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM input_failures WHERE channel = $1 AND quarantined_at IS NOT NULL",
    )
    .bind(channel)
    .fetch_one(c)
    .await)
}
