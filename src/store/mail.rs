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

/// One e-mail we sent.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Sent {
    pub message_id: String,
    pub conversation_id: i64,
    pub address: String,
}

/// A message we sent, with the token of its envelope sender (`local+bounce-TOKEN@domain`).
#[derive(Debug, Clone, Copy)]
pub struct SentRecord<'a> {
    pub message_id: &'a str,
    pub bounce_token: &'a str,
    pub conversation_id: i64,
    pub outbox_id: i64,
    pub address: &'a str,
}

/// Records a message we sent (again, if a retry sent it twice).
pub async fn record_sent(
    conn: &mut Conn<'_>,
    sent: &SentRecord<'_>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "INSERT INTO mail_sent (message_id, conversation_id, outbox_id, address, sent_at, bounce_token)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (message_id) DO UPDATE SET sent_at = excluded.sent_at",
    )
    .bind(sent.message_id)
    .bind(sent.conversation_id)
    .bind(sent.outbox_id)
    .bind(sent.address)
    .bind(millis(now))
    .bind(sent.bounce_token)
    .execute(c)
    .await
    .map(|_| ()))
}

/// The message whose envelope sender carried this bounce token.
pub async fn sent_by_bounce_token(
    conn: &mut Conn<'_>,
    token: &str,
) -> Result<Option<Sent>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, Sent>(
        "SELECT message_id, conversation_id, address FROM mail_sent WHERE bounce_token = $1",
    )
    .bind(token)
    .fetch_optional(c)
    .await)
}

/// The message we sent with this Message-ID.
pub async fn sent_by_message_id(
    conn: &mut Conn<'_>,
    message_id: &str,
) -> Result<Option<Sent>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, Sent>(
        "SELECT message_id, conversation_id, address FROM mail_sent WHERE message_id = $1",
    )
    .bind(message_id)
    .fetch_optional(c)
    .await)
}

/// An address whose mail is paused because a message we sent it bounced.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, serde::Serialize)]
pub struct Paused {
    pub address: String,
    pub reason: String,
    /// The message of ours the delivery report named.
    pub message_id: String,
}

/// Pauses mail to `address` (it bounced `message_id`): its waiting rows become `paused`, and
/// its e-mail conversations are marked. Returns the ids of those conversations.
pub async fn pause_address(
    conn: &mut Conn<'_>,
    address: &str,
    reason: &str,
    message_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, sqlx::Error> {
    on!(conn, c => sqlx::query(
        "INSERT INTO mail_paused (address, reason, message_id, paused_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (address) DO UPDATE
         SET reason = excluded.reason, message_id = excluded.message_id, paused_at = excluded.paused_at",
    )
    .bind(address)
    .bind(reason)
    .bind(message_id)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|_| ()))?;
    on!(conn, c => sqlx::query(
        "UPDATE outbox SET status = 'paused', lease_until = NULL, last_error = $1
         WHERE channel = 'email' AND address = $2 AND status = 'pending'",
    )
    .bind(format!("paused: {reason}"))
    .bind(address)
    .execute(c)
    .await
    .map(|_| ()))?;
    mark_address_unreachable(conn, address, reason, now).await
}

/// The address wrote to us: its paused mail goes out again, in its order. Returns whether it
/// was paused.
pub async fn resume_address(
    conn: &mut Conn<'_>,
    address: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let removed = on!(conn, c => sqlx::query("DELETE FROM mail_paused WHERE address = $1")
        .bind(address)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    let resumed = on!(conn, c => sqlx::query(
        "UPDATE outbox SET status = 'pending', next_attempt_at = $1, last_error = NULL
         WHERE channel = 'email' AND address = $2 AND status = 'paused'",
    )
    .bind(millis(now))
    .bind(address)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    let cleared = on!(conn, c => sqlx::query(
        "UPDATE conversations SET unreachable_reason = NULL, updated_at = $1
         WHERE channel = 'email' AND address = $2 AND unreachable_reason IS NOT NULL",
    )
    .bind(now)
    .bind(address)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(removed + resumed + cleared > 0)
}

/// Every paused address, for the office.
pub async fn paused(conn: &mut Conn<'_>) -> Result<Vec<Paused>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, Paused>(
        "SELECT address, reason, message_id FROM mail_paused ORDER BY paused_at, address",
    )
    .fetch_all(c)
    .await)
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
