//! Inbound receipts: the idempotency key of every input. A redelivered Telegram update or
//! e-mail finds its receipt and changes nothing.

use chrono::{DateTime, Utc};

use super::{Conn, on};

/// Records the receipt; false when this (channel, external id) was already processed.
pub async fn record(
    conn: &mut Conn<'_>,
    channel: &str,
    external_id: &str,
    conversation_id: i64,
    input: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let affected = on!(conn, c => sqlx::query(
        "INSERT INTO receipts (channel, external_id, conversation_id, input, received_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (channel, external_id) DO NOTHING",
    )
    .bind(channel)
    .bind(external_id)
    .bind(conversation_id)
    .bind(input)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}
