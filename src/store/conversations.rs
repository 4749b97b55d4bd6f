//! Conversations: one per (channel, address), holding the dialogue state. Concurrent turns on the
//! same conversation are ordered by the `version` column: an update only applies to the version
//! that was read, and the loser of a race retries its turn.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{Conn, on};

#[derive(Debug, Clone, FromRow)]
pub struct ConversationRow {
    pub id: i64,
    pub channel: String,
    pub address: String,
    pub state: String,
    pub version: i64,
    pub unreachable_reason: Option<String>,
    /// The last change: the applicant's last turn, or a notice that moved the conversation.
    pub updated_at: DateTime<Utc>,
}

pub async fn find(
    conn: &mut Conn<'_>,
    channel: &str,
    address: &str,
) -> Result<Option<ConversationRow>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, ConversationRow>(
        "SELECT id, channel, address, state, version, unreachable_reason, updated_at
         FROM conversations WHERE channel = $1 AND address = $2",
    )
    .bind(channel)
    .bind(address)
    .fetch_optional(c)
    .await)
}

pub async fn get(conn: &mut Conn<'_>, id: i64) -> Result<Option<ConversationRow>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, ConversationRow>(
        "SELECT id, channel, address, state, version, unreachable_reason, updated_at
         FROM conversations WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Creates the conversation; `None` when another turn created it first.
pub async fn create(
    conn: &mut Conn<'_>,
    channel: &str,
    address: &str,
    state: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, sqlx::Error> {
    on!(conn, c => sqlx::query_scalar::<_, i64>(
        "INSERT INTO conversations (channel, address, state, version, created_at, updated_at)
         VALUES ($1, $2, $3, 0, $4, $4)
         ON CONFLICT (channel, address) DO NOTHING
         RETURNING id",
    )
    .bind(channel)
    .bind(address)
    .bind(state)
    .bind(now)
    .fetch_optional(c)
    .await)
}

/// Stores the new state if the conversation is still at `version`; false when it moved on.
pub async fn update_state(
    conn: &mut Conn<'_>,
    id: i64,
    version: i64,
    state: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let affected = on!(conn, c => sqlx::query(
        "UPDATE conversations SET state = $1, version = version + 1, updated_at = $2
         WHERE id = $3 AND version = $4",
    )
    .bind(state)
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

/// Marks the conversation as unreachable on its channel (blocked bot, bouncing address).
pub async fn mark_unreachable(
    conn: &mut Conn<'_>,
    id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "UPDATE conversations SET unreachable_reason = $1, updated_at = $2 WHERE id = $3",
    )
    .bind(reason)
    .bind(now)
    .bind(id)
    .execute(c)
    .await
    .map(|_| ()))
}
