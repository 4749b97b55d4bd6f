//! Cases: an application as the office handles it (found by folio or id, with its submitted
//! data), and the office's decisions recorded on it.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{Conn, on};
use crate::domain::application::Status;

/// An application found by its folio, as the office sees it.
#[derive(Debug, Clone, FromRow)]
pub struct Case {
    pub id: i64,
    pub folio: String,
    pub conversation_id: i64,
    #[sqlx(try_from = "String")]
    pub status: Status,
    pub data: String,
    pub submitted_at: DateTime<Utc>,
}

pub async fn by_folio(conn: &mut Conn<'_>, folio: &str) -> Result<Option<Case>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, Case>(
        "SELECT id, folio, conversation_id, status, data, submitted_at
         FROM applications WHERE folio = $1",
    )
    .bind(folio)
    .fetch_optional(c)
    .await)
}

pub async fn by_id(conn: &mut Conn<'_>, id: i64) -> Result<Option<Case>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, Case>(
        "SELECT id, folio, conversation_id, status, data, submitted_at
         FROM applications WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Why the office rejected the application, while it stays rejected.
pub async fn rejection_reason(
    conn: &mut Conn<'_>,
    application_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let reason = on!(conn, c => sqlx::query_scalar::<_, Option<String>>(
        "SELECT rejection_reason FROM applications WHERE id = $1",
    )
    .bind(application_id)
    .fetch_optional(c)
    .await)?;
    Ok(reason.flatten())
}

/// Records why the office rejected the application.
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

/// One message of a case's conversation, in or out.
#[derive(Debug, Clone, FromRow)]
pub struct TimelineRow {
    /// `in` (what the applicant sent) or `out` (what was queued for them).
    pub direction: String,
    pub channel: String,
    pub at: DateTime<Utc>,
    /// The input (JSON) or the outgoing message (JSON).
    pub body: String,
    /// Outgoing only: the outbox status and the last delivery error.
    pub status: Option<String>,
    pub last_error: Option<String>,
}

/// The messages of a conversation, in and out, oldest first (at most `limit`).
pub async fn timeline(
    conn: &mut Conn<'_>,
    conversation_id: i64,
    limit: i64,
) -> Result<Vec<TimelineRow>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, TimelineRow>(
        "SELECT direction, channel, at, body, status, last_error FROM (
             SELECT 'in' AS direction, channel, received_at AS at, input AS body,
                    CAST(NULL AS TEXT) AS status, CAST(NULL AS TEXT) AS last_error
             FROM receipts WHERE conversation_id = $1
             UNION ALL
             SELECT 'out', channel, created_at, payload, status, last_error
             FROM outbox WHERE conversation_id = $1
         ) AS messages ORDER BY at, direction LIMIT $2",
    )
    .bind(conversation_id)
    .bind(limit)
    .fetch_all(c)
    .await)
}

/// Cases whose folio, CURP or name contains `text` (at most `limit`, newest first).
pub async fn search(conn: &mut Conn<'_>, text: &str, limit: i64) -> Result<Vec<Case>, sqlx::Error> {
    let escaped: String = text
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    let pattern = format!("%{}%", escaped.to_uppercase());
    on!(conn, c => sqlx::query_as::<_, Case>(
        "SELECT id, folio, conversation_id, status, data, submitted_at FROM applications
         WHERE UPPER(folio) LIKE $1 ESCAPE '\\' OR UPPER(data) LIKE $1 ESCAPE '\\'
         ORDER BY id DESC LIMIT $2",
    )
    .bind(pattern)
    .bind(limit)
    .fetch_all(c)
    .await)
}

/// An item of the counter's checklist marked as seen.
#[derive(Debug, Clone, FromRow)]
pub struct Check {
    pub item: String,
    pub checked_by: Option<i64>,
    pub checked_at: DateTime<Utc>,
}

/// The items of the checklist seen for an application.
pub async fn checks(conn: &mut Conn<'_>, application_id: i64) -> Result<Vec<Check>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, Check>(
        "SELECT item, checked_by, checked_at FROM document_checks
         WHERE application_id = $1 ORDER BY item",
    )
    .bind(application_id)
    .fetch_all(c)
    .await)
}

/// Marks `item` as seen (or not); whether that changed anything.
pub async fn set_check(
    conn: &mut Conn<'_>,
    application_id: i64,
    item: &str,
    seen: Option<(Option<i64>, DateTime<Utc>)>,
) -> Result<bool, sqlx::Error> {
    let done = match seen {
        Some((by, at)) => on!(conn, c => sqlx::query(
            "INSERT INTO document_checks (application_id, item, checked_by, checked_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (application_id, item) DO NOTHING",
        )
        .bind(application_id)
        .bind(item)
        .bind(by)
        .bind(at)
        .execute(c)
        .await
        .map(|r| r.rows_affected())),
        None => on!(conn, c => sqlx::query(
            "DELETE FROM document_checks WHERE application_id = $1 AND item = $2",
        )
        .bind(application_id)
        .bind(item)
        .execute(c)
        .await
        .map(|r| r.rows_affected())),
    };
    Ok(done? > 0)
}

/// Whether the case's conversation went on to a newer application.
pub async fn newer_in_conversation(conn: &mut Conn<'_>, case: &Case) -> Result<bool, sqlx::Error> {
    let newer = on!(conn, c => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM applications WHERE conversation_id = $1 AND id > $2",
    )
    .bind(case.conversation_id)
    .bind(case.id)
    .fetch_one(c)
    .await)?;
    Ok(newer > 0)
}

/// A reopened application: no rejection reason, and nothing checked at the counter (the next
/// visit checks again).
pub async fn reopen(conn: &mut Conn<'_>, application_id: i64) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query("UPDATE applications SET rejection_reason = NULL WHERE id = $1")
        .bind(application_id)
        .execute(c)
        .await
        .map(|_| ()))?;
    on!(conn, c => sqlx::query("DELETE FROM document_checks WHERE application_id = $1")
        .bind(application_id)
        .execute(c)
        .await
        .map(|_| ()))
}
