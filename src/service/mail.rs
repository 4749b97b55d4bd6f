//! The e-mail channel's bookkeeping, for the channel (`channels::email`), which only reads and
//! writes mail: whether a message was received before, whether it carries its conversation's
//! token, the notice lane's pace, a delivery report's effect (a turn of its own: one
//! transaction), and, for sending, the hourly cap, the conversation's token and what was sent.

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;

use super::{Channel, MailRecord, Notice, Priority, Service, TurnError};
use crate::conversation::reply::Reply;
use crate::store::audit::{self, Event};
use crate::store::mail::Sent;
/// What a sent e-mail is recorded with.
pub use crate::store::mail::SentRecord;
use crate::store::{self, Conn, Db};

/// A recipient a delivery report says failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRecipient {
    pub address: String,
    /// The enhanced status code (`5.1.1`), when the report gives one.
    pub status: Option<String>,
}

/// What a delivery report is about, as the channel read it.
#[derive(Debug, Clone, Default)]
pub struct Report<'a> {
    pub failed: &'a [FailedRecipient],
    /// The report's recipients: one of them may be a message's `local+bounce-TOKEN@domain`.
    pub recipients: &'a [String],
    /// The Message-IDs of ours it returns.
    pub original_ids: &'a [String],
}

/// How many addresses a delivery report paused; `None` when it was about no message of ours.
pub type Paused = Option<usize>;

/// The e-mail bookkeeping of a service (see the module documentation).
#[derive(Clone)]
pub struct MailBook {
    db: Db,
    from: Mailbox,
}

impl Service {
    /// The e-mail bookkeeping.
    pub fn mail(&self) -> MailBook {
        MailBook {
            db: self.db.clone(),
            from: self.settings.mail_from.clone(),
        }
    }
}

impl MailBook {
    /// Whether a message with this key was received (and recorded) before.
    pub async fn received_before(&self, key: &str) -> Result<bool, sqlx::Error> {
        let mut reader = self.db.reader().await?;
        Ok(store::mail::inbound(&mut reader.conn(), key)
            .await?
            .is_some())
    }

    /// The e-mail conversation of `address`, if it has one.
    pub async fn conversation(&self, address: &str) -> Result<Option<i64>, sqlx::Error> {
        let mut reader = self.db.reader().await?;
        let found =
            store::conversations::find(&mut reader.conn(), Channel::Email.as_str(), address)
                .await?;
        Ok(found.map(|c| c.id))
    }

    /// Whether a message carries its conversation's token: in a recipient
    /// `local+TOKEN@domain`, or in In-Reply-To/References naming a message we sent (`named`).
    pub async fn is_threaded(
        &self,
        conversation_id: i64,
        recipients: &[String],
        named: &[String],
    ) -> Result<bool, sqlx::Error> {
        let mut reader = self.db.reader().await?;
        let mut conn = reader.conn();
        if let Some(token) = store::mail::token(&mut conn, conversation_id).await? {
            let ours = &self.from.email;
            let tagged = format!("{}+{token}@{}", ours.user(), ours.domain()).to_lowercase();
            if recipients.iter().any(|r| r.to_lowercase() == tagged) {
                return Ok(true);
            }
        }
        store::mail::names_our_message(&mut conn, conversation_id, named).await
    }

    /// Whether a notice to the conversation waits or went out since `since`.
    pub async fn notice_since(
        &self,
        conversation_id: i64,
        since: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let mut reader = self.db.reader().await?;
        store::outbox::recent_notice(&mut reader.conn(), conversation_id, "email", since).await
    }

    /// Records a message that starts no turn (ignored, held, a report about nothing of ours).
    pub async fn record(&self, record: &MailRecord, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        let mut tx = self.db.begin().await?;
        store::mail::record_inbound(&mut tx.conn(), record, now).await?;
        tx.commit().await
    }

    /// A delivery report, in one transaction with its record: only a failed recipient that is
    /// the address one of our messages went to counts. Its mail is paused, its e-mail
    /// conversations are marked, and an applicant whose conversation is on another channel is
    /// told there. Anything else is recorded and ignored (`None`).
    pub async fn bounce(
        &self,
        service: &Service,
        mut record: MailRecord,
        report: &Report<'_>,
        now: DateTime<Utc>,
    ) -> Result<Paused, TurnError> {
        let ours = {
            let mut reader = self.db.reader().await?;
            self.bounced_messages(&mut reader.conn(), report).await?
        };
        let matched: Vec<(&FailedRecipient, &Sent)> = report
            .failed
            .iter()
            .filter_map(|f| {
                ours.iter()
                    .find(|sent| sent.address.eq_ignore_ascii_case(&f.address))
                    .map(|sent| (f, sent))
            })
            .collect();
        record.conversation_id = None;
        if matched.is_empty() {
            record.disposition = "ignored".into();
            record.reason = Some("foreign_bounce".into());
            self.record(&record, now).await?;
            return Ok(None);
        }
        let mut tx = self.db.begin().await?;
        let mut marked = 0;
        for (recipient, sent) in &matched {
            let status = recipient.status.as_deref().unwrap_or("5.0.0");
            let reason = format!("bounce {status}");
            let conversations = store::mail::pause_address(
                &mut tx.conn(),
                &sent.address,
                &reason,
                &sent.message_id,
                now,
            )
            .await?;
            let detail = serde_json::json!({ "status": status }).to_string();
            for id in conversations.iter().chain([&sent.conversation_id]) {
                audit::record(
                    &mut tx.conn(),
                    now,
                    "mail",
                    Some(*id),
                    None,
                    Event::AddressBounced,
                    &detail,
                )
                .await?;
            }
            tell_other_channel(service, &mut tx.conn(), sent, status).await?;
            marked += 1;
        }
        record.disposition = "bounce".into();
        record.reason = Some(
            matched
                .iter()
                .filter_map(|(f, _)| f.status.clone())
                .collect::<Vec<_>>()
                .join(" "),
        );
        store::mail::record_inbound(&mut tx.conn(), &record, now).await?;
        tx.commit().await?;
        Ok(Some(marked))
    }

    /// The messages of ours a delivery report is about: the one whose envelope sender it came
    /// back to (`local+bounce-TOKEN@domain` among its recipients), and those whose Message-ID
    /// it returns.
    async fn bounced_messages(
        &self,
        conn: &mut Conn<'_>,
        report: &Report<'_>,
    ) -> Result<Vec<Sent>, sqlx::Error> {
        let ours = &self.from.email;
        let prefix = format!("{}+bounce-", ours.user()).to_lowercase();
        let suffix = format!("@{}", ours.domain()).to_lowercase();
        let mut found: Vec<Sent> = Vec::new();
        for recipient in report.recipients {
            let Some(token) = recipient
                .strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(&suffix))
            else {
                continue;
            };
            if let Some(sent) = store::mail::sent_by_bounce_token(conn, token).await? {
                found.push(sent);
            }
        }
        for id in report.original_ids {
            if let Some(sent) = store::mail::sent_by_message_id(conn, id).await? {
                found.push(sent);
            }
        }
        found.dedup();
        Ok(found)
    }

    /// How many messages went to `address` since `since`, and when the oldest of them went.
    pub async fn sent_since(
        &self,
        address: &str,
        since: DateTime<Utc>,
    ) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
        let mut reader = self.db.reader().await?;
        store::mail::sent_since(&mut reader.conn(), address, since).await
    }

    /// The conversation's threading token, created on its first message.
    pub async fn token(
        &self,
        conversation_id: i64,
        now: DateTime<Utc>,
    ) -> Result<String, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        let token = store::mail::ensure_token(&mut tx.conn(), conversation_id, now).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Records a message sent (its Message-ID and bounce token find it when a report comes).
    pub async fn record_sent(
        &self,
        sent: &SentRecord<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.db.begin().await?;
        store::mail::record_sent(&mut tx.conn(), sent, now).await?;
        tx.commit().await
    }
}

/// When the bounced message belongs to a conversation on another channel (the cédula sent to
/// a Telegram applicant's address), the applicant hears of it there, once per pause.
async fn tell_other_channel(
    service: &Service,
    conn: &mut Conn<'_>,
    sent: &Sent,
    status: &str,
) -> Result<(), TurnError> {
    let Some(conversation) = store::conversations::get(conn, sent.conversation_id).await? else {
        return Ok(());
    };
    if conversation.channel == Channel::Email.as_str() {
        return Ok(());
    }
    let reply = Reply::new("email_paused")
        .with("address", &sent.address)
        .with("status", status);
    let message = service.render(&reply)?;
    let notice = Notice {
        channel: &conversation.channel,
        address: &conversation.address,
        message: &message,
    };
    service
        .queue(conn, conversation.id, &[notice], Priority::Notice)
        .await?;
    Ok(())
}
