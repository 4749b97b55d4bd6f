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
