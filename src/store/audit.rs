//! The audit trail: every change of an application or a conversation's stage, with its actor.
//! Details never carry personal data (no CURP, name or address).

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{Conn, on};

#[derive(Debug, Clone, FromRow)]
pub struct AuditEvent {
    pub id: i64,
    pub actor: String,
    pub conversation_id: Option<i64>,
    pub application_id: Option<i64>,
    pub event: String,
    pub detail: String,
}

/// One event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub actor: &'static str,
    pub conversation_id: Option<i64>,
    pub application_id: Option<i64>,
    pub event: &'static str,
    /// JSON object, without personal data.
    pub detail: String,
}

pub async fn record(
    conn: &mut Conn<'_>,
    now: DateTime<Utc>,
    actor: &str,
    conversation_id: Option<i64>,
    application_id: Option<i64>,
    event: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "INSERT INTO audit_events (at, actor, conversation_id, application_id, event, detail)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(now)
    .bind(actor)
    .bind(conversation_id)
    .bind(application_id)
    .bind(event)
    .bind(detail)
    .execute(c)
    .await
    .map(|_| ()))
}

/// The events of an application or a conversation, oldest first.
/// The events of one kind, oldest first (for the office and tests).
pub async fn by_event(conn: &mut Conn<'_>, event: &str) -> Result<Vec<AuditEvent>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, AuditEvent>(
        "SELECT id, actor, conversation_id, application_id, event, detail FROM audit_events
         WHERE event = $1 ORDER BY id",
    )
    .bind(event)
    .fetch_all(c)
    .await)
}

pub async fn list(
    conn: &mut Conn<'_>,
    conversation_id: Option<i64>,
    application_id: Option<i64>,
) -> Result<Vec<AuditEvent>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, AuditEvent>(
        "SELECT id, actor, conversation_id, application_id, event, detail FROM audit_events
         WHERE ($1 IS NOT NULL AND conversation_id = $1) OR ($2 IS NOT NULL AND application_id = $2)
         ORDER BY id",
    )
    .bind(conversation_id)
    .bind(application_id)
    .fetch_all(c)
    .await)
}
