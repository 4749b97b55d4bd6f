//! What goes into a turn and what comes out of it: the channel, the applicant's address on it
//! (parsed once, where the input arrives), the input, and the rendered messages.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::conversation::Input;
use crate::conversation::reply::{CalendarView, Choice};
use crate::domain::email::EmailAddress;
/// The inbound row of an e-mail: what became of it (answered, unthreaded, too large, ignored,
/// bounce), what was cut from its text, its attachments' names and sizes.
pub use crate::store::mail::InboundRecord as MailRecord;

/// The channels Ventanilla speaks on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Terminal,
    Telegram,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Terminal => "terminal",
            Channel::Telegram => "telegram",
            Channel::Email => "email",
        }
    }
}

/// A Telegram chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChatId(pub i64);

/// A person at the terminal (`chat --user`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserName(pub String);

/// Who an input comes from and where its replies go, per channel: parsed once where the input
/// arrives, never parsed again from a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    Telegram(ChatId),
    Email(EmailAddress),
    Terminal(UserName),
}

impl Address {
    pub fn channel(&self) -> Channel {
        match self {
            Address::Telegram(_) => Channel::Telegram,
            Address::Email(_) => Channel::Email,
            Address::Terminal(_) => Channel::Terminal,
        }
    }

    /// The stored form (a conversation's and an outbox row's `address`): the chat id in
    /// digits, the e-mail address, the user name.
    pub fn key(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Telegram(ChatId(id)) => write!(f, "{id}"),
            Address::Email(address) => f.write_str(address.as_str()),
            Address::Terminal(UserName(user)) => f.write_str(user),
        }
    }
}

/// How the replies of one turn leave: the channel decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Packaging {
    /// One message per reply (chats, the terminal).
    #[default]
    PerReply,
    /// The whole turn as one message (e-mail: one e-mail per answer, with one question in it:
    /// the last reply's, whose choices it carries, with the documents of every reply), naming
    /// the thread it answers.
    PerTurn,
}

/// What a channel keeps of an input, written by the turn in the turn's own transaction (so an
/// input is never processed without its record, nor recorded without being processed).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ChannelRecord {
    #[default]
    None,
    /// An e-mail: its inbound row, and whether the address wrote in its thread (mail to it
    /// resumes if a bounce had paused it).
    Mail {
        record: Box<MailRecord>,
        resumes: bool,
    },
}

/// One input, as a channel adapter hands it over.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub address: Address,
    /// The channel's id of this input (update id, Message-ID…): the idempotency key.
    pub external_id: String,
    pub input: Input,
    /// The channel's thread this input continues, oldest first, ending with this input's own
    /// id (e-mail: References then Message-ID); replies name it. Empty on other channels.
    pub thread: Vec<String>,
    pub packaging: Packaging,
    pub record: ChannelRecord,
}

impl Inbound {
    /// An input of a chat or the terminal: one message per reply, no thread, no record.
    pub fn new(address: Address, external_id: impl Into<String>, input: Input) -> Inbound {
        Inbound {
            address,
            external_id: external_id.into(),
            input,
            thread: Vec::new(),
            packaging: Packaging::PerReply,
            record: ChannelRecord::None,
        }
    }

    pub fn channel(&self) -> Channel {
        self.address.channel()
    }
}

/// A rendered message, as stored in the outbox and handed to a channel sender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    pub text: String,
    #[serde(default)]
    pub choices: Vec<Choice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<CalendarView>,
    /// The template it came from (channels may present some messages differently).
    pub template: String,
    /// The thread this message answers (see [`Inbound::thread`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thread: Vec<String>,
    /// Documents sent with it, rendered from their records when the message is sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::documents::DocumentRef>,
    /// The first line of `text` is the progress line ("step N of M"), which chats that format
    /// text show as a heading.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub headed: bool,
    /// A notice sent to the applicant's e-mail because their own channel (named here) could
    /// not be reached; the e-mail says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerouted_from: Option<String>,
}

impl Packaging {
    /// The messages of a turn as this packaging sends them (a turn packaged whole names
    /// `thread`, the thread it answers).
    pub fn package(
        self,
        messages: Vec<OutgoingMessage>,
        thread: &[String],
    ) -> Vec<OutgoingMessage> {
        match self {
            Packaging::PerTurn if !messages.is_empty() => {
                let text = messages
                    .iter()
                    .map(|m| m.text.trim())
                    .collect::<Vec<_>>()
                    .join("\n\n");
                let attachments = messages
                    .iter()
                    .flat_map(|m| m.attachments.iter().cloned())
                    .collect();
                let headed = messages.first().is_some_and(|m| m.headed);
                let last = messages.into_iter().last().expect("not empty");
                vec![OutgoingMessage {
                    text,
                    thread: thread.to_vec(),
                    attachments,
                    headed,
                    ..last
                }]
            }
            _ => messages,
        }
    }
}

/// What a turn did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnResult {
    Processed {
        conversation_id: i64,
        messages: usize,
    },
    /// This input was processed before: nothing changed, nothing was sent.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    /// The database failed or is unreachable: the input can be retried later.
    #[error("the database is unavailable")]
    Database(#[from] sqlx::Error),
    /// Other turns of the same conversation kept winning; the input can be retried.
    #[error("the conversation changed during the turn too many times")]
    Contended,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl TurnError {
    /// Whether the same input may succeed later (the database, contention), as opposed to a
    /// failure of the input itself.
    pub fn is_temporary(&self) -> bool {
        matches!(self, TurnError::Database(_) | TurnError::Contended)
    }
}
