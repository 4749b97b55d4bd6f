//! E-mail bookkeeping: the threading token of each conversation, the messages we sent (by
//! Message-ID), and every inbound message with what became of it.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{Conn, millis, on};

/// The conversation's reply token, created on first use (an unguessable 24-character
/// lowercase base-32 string, safe in an address's local part).
pub async fn ensure_token(
    conn: &mut Conn<'_>,
    conversation_id: i64,
    now: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    let candidate = new_token();
    on!(conn, c => sqlx::query(
        "INSERT INTO mail_threads (conversation_id, token, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (conversation_id) DO NOTHING",
    )
    .bind(conversation_id)
    .bind(&candidate)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ()))?;
    Ok(token(conn, conversation_id).await?.unwrap_or(candidate))
}

pub async fn token(
    conn: &mut Conn<'_>,
    conversation_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    on!(conn, c => sqlx::query_scalar::<_, String>(
        "SELECT token FROM mail_threads WHERE conversation_id = $1",
    )
    .bind(conversation_id)
    .fetch_optional(c)
    .await)
}

fn new_token() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let bytes: [u8; 15] = rand::random();
    let mut bits: u64 = 0;
    let mut count = 0;
    let mut token = String::with_capacity(24);
    for byte in bytes {
        bits = (bits << 8) | u64::from(byte);
        count += 8;
        while count >= 5 {
            count -= 5;
            token.push(char::from(ALPHABET[((bits >> count) & 31) as usize]));
        }
    }
    token
}

/// Whether any of `message_ids` is a message we sent in this conversation.
pub async fn names_our_message(
    conn: &mut Conn<'_>,
    conversation_id: i64,
    message_ids: &[String],
) -> Result<bool, sqlx::Error> {
    for id in message_ids {
        let found = on!(conn, c => sqlx::query_scalar::<_, i64>(
            "SELECT conversation_id FROM mail_sent WHERE message_id = $1",
        )
        .bind(id)
        .fetch_optional(c)
        .await)?;
        if found == Some(conversation_id) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Records a message we sent (again, if a retry sent it twice).
pub async fn record_sent(
    conn: &mut Conn<'_>,
    message_id: &str,
    conversation_id: i64,
    outbox_id: i64,
    address: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "INSERT INTO mail_sent (message_id, conversation_id, outbox_id, address, sent_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (message_id) DO UPDATE SET sent_at = excluded.sent_at",
    )
    .bind(message_id)
    .bind(conversation_id)
    .bind(outbox_id)
    .bind(address)
    .bind(millis(now))
    .execute(c)
    .await
    .map(|_| ()))
}

/// How many messages went to `address` since `since`, and when the oldest of them went.
pub async fn sent_since(
    conn: &mut Conn<'_>,
    address: &str,
    since: DateTime<Utc>,
) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
    let (count, oldest) = on!(conn, c => sqlx::query_as::<_, (i64, Option<i64>)>(
        "SELECT COUNT(*), MIN(sent_at) FROM mail_sent WHERE address = $1 AND sent_at > $2",
    )
    .bind(address)
    .bind(millis(since))
    .fetch_one(c)
    .await)?;
    Ok((count, oldest.and_then(DateTime::from_timestamp_millis)))
}

/// One inbound message and what became of it.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct InboundRecord {
    pub message_key: String,
    pub sender: Option<String>,
    pub conversation_id: Option<i64>,
    /// `answered`, `unthreaded`, `ignored`, `bounce`, `too_large`.
    pub disposition: String,
    pub reason: Option<String>,
    /// What was cut from the text: quoted history, attribution, signature.
    pub quoted: String,
    /// JSON list of `{name, content_type, size}`.
    pub attachments: String,
    pub size: i64,
}

/// Records an inbound message; false when it was recorded before (a redelivery).
pub async fn record_inbound(
    conn: &mut Conn<'_>,
    record: &InboundRecord,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let affected = on!(conn, c => sqlx::query(
        "INSERT INTO mail_inbound (message_key, sender, conversation_id, disposition, reason,
                                   quoted, attachments, size, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (message_key) DO NOTHING",
    )
    .bind(&record.message_key)
    .bind(&record.sender)
    .bind(record.conversation_id)
    .bind(&record.disposition)
    .bind(&record.reason)
    .bind(&record.quoted)
    .bind(&record.attachments)
    .bind(record.size)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

pub async fn inbound(
    conn: &mut Conn<'_>,
    message_key: &str,
) -> Result<Option<InboundRecord>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, InboundRecord>(
        "SELECT message_key, sender, conversation_id, disposition, reason, quoted, attachments, size
         FROM mail_inbound WHERE message_key = $1",
    )
    .bind(message_key)
    .fetch_optional(c)
    .await)
}

/// Every inbound message recorded, oldest first (for tests and the office).
pub async fn all_inbound(conn: &mut Conn<'_>) -> Result<Vec<InboundRecord>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, InboundRecord>(
        "SELECT message_key, sender, conversation_id, disposition, reason, quoted, attachments, size
         FROM mail_inbound ORDER BY received_at, message_key",
    )
    .fetch_all(c)
    .await)
}

/// Marks every e-mail conversation with this address as unreachable; returns their ids.
pub async fn mark_address_unreachable(
    conn: &mut Conn<'_>,
    address: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, sqlx::Error> {
    on!(conn, c => sqlx::query_scalar::<_, i64>(
        "UPDATE conversations SET unreachable_reason = $1, updated_at = $2
         WHERE channel = 'email' AND address = $3
         RETURNING id",
    )
    .bind(reason)
    .bind(now)
    .bind(address)
    .fetch_all(c)
    .await)
}

/// The address answered us: mail to it is resumed.
pub async fn clear_unreachable(
    conn: &mut Conn<'_>,
    conversation_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let affected = on!(conn, c => sqlx::query(
        "UPDATE conversations SET unreachable_reason = NULL, updated_at = $1
         WHERE id = $2 AND unreachable_reason IS NOT NULL",
    )
    .bind(now)
    .bind(conversation_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

#[cfg(test)]
mod tests {
    use super::new_token;

    #[test]
    fn tokens_are_24_safe_characters_and_differ() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.len(), 24);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c))
        );
        assert_ne!(a, b);
    }
}
