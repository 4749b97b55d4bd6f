//! Reads the chat channels need about what was said: the message a Telegram button belongs to,
//! the last message of a terminal conversation.

use super::{Address, OutgoingMessage, Service};
use crate::store;

/// A stored message as a button press finds it.
#[derive(Debug, Clone)]
pub struct ButtonMessage {
    pub message: Option<OutgoingMessage>,
    /// Nothing was written to the conversation after it: its question is still the open one.
    pub is_last: bool,
}

impl Service {
    /// The outbox message `id` when it went to `address`; `None` for any other.
    pub async fn message_to(
        &self,
        address: &Address,
        id: i64,
    ) -> Result<Option<ButtonMessage>, sqlx::Error> {
        let mut reader = self.db.reader().await?;
        let mut conn = reader.conn();
        let Some(row) = store::outbox::get(&mut conn, id).await? else {
            return Ok(None);
        };
        if row.channel != address.channel().as_str() || row.address != address.key() {
            return Ok(None);
        }
        let is_last = store::outbox::payloads_after(&mut conn, row.conversation_id, row.id)
            .await?
            .is_empty();
        Ok(Some(ButtonMessage {
            message: serde_json::from_str(&row.payload).ok(),
            is_last,
        }))
    }

    /// The last message written to the conversation of `address`, if any.
    pub async fn last_message(
        &self,
        address: &Address,
    ) -> Result<Option<OutgoingMessage>, sqlx::Error> {
        let mut reader = self.db.reader().await?;
        let mut conn = reader.conn();
        let channel = address.channel().as_str();
        let Some(conversation) =
            store::conversations::find(&mut conn, channel, &address.key()).await?
        else {
            return Ok(None);
        };
        let messages = store::outbox::for_conversation(&mut conn, conversation.id).await?;
        Ok(messages
            .last()
            .and_then(|stored| serde_json::from_str(&stored.payload).ok()))
    }
}
