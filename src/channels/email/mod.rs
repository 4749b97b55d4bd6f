//! The e-mail channel. Three ways in (IMAP, the MTA pipe `ventanilla mail receive`, the Maildir
//! inbox) hand raw bytes to [`receive`]; out through [`outbound::EmailSender`].
//!
//! [`receive`] decides, before any conversation sees a message:
//! - never answer automatic mail (auto-replies, lists, bulk, system senders, out-of-office):
//!   recorded as ignored, with the reason;
//! - a delivery status notification counts only when it is about a message we sent to the
//!   failed address (it comes back to that message's envelope sender `local+bounce-TOKEN@domain`,
//!   or returns its Message-ID): mail to the address then pauses (kept, not failed) until the
//!   address writes again, and an applicant on another channel is told; any other report is
//!   recorded and ignored;
//! - a message "from" a known address without the conversation's token gets at most one notice
//!   per conversation and interval, in the notice lane (never ahead of real answers);
//! - every input is bounded (header block, recipients, references, text, quote depth, MIME
//!   parts, what is stored), and one that fails or crashes the service repeatedly is set aside
//!   ([`receive_guarded`]) so that it never stops the next;
//! - threading: a message continues a conversation only if it carries the conversation's token
//!   (in a recipient `local+TOKEN@domain`, or In-Reply-To/References naming a message we sent)
//!   and comes from the conversation's address. Otherwise, from a known address, it changes
//!   nothing: the current question is sent again to the known address, with the token;
//! - only the answer is read: quoted history and signatures ([`quote`]), then the greeting and
//!   the sign-off around it ([`courtesy`]) are cut, and kept; a command works in the subject or
//!   on the first line.

pub mod courtesy;
pub mod imap;
pub mod maildir;
pub mod outbound;
pub mod parse;
pub mod quote;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::MailRules;
use crate::conversation::Input;
use crate::conversation::input::parse_command;
use crate::conversation::vocabulary::Vocabulary;
use crate::domain::email::EmailAddress;
use crate::domain::text::hex;
use crate::guard::{self, Counting, Ending, Guarded};
use crate::service::mail as mail_book;
use crate::service::{
    Address, ChannelRecord, Inbound, MailRecord, Packaging, Priority, Service, TurnError,
    TurnResult,
};
use parse::{Disposition, FailedRecipient, Limits, Mail, Unusable};

/// What became of an inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A turn ran on it (the applicant is answered).
    Answered { conversation_id: i64 },
    /// From a known address without the conversation's token: nothing changed, the current
    /// question went again to the known address.
    Unthreaded { conversation_id: i64 },
    /// Like `Unthreaded`, but a notice is already waiting or went out recently: nothing sent.
    NoticeHeld { conversation_id: i64 },
    /// Larger than allowed: the applicant is told so; nothing else read.
    TooLarge { conversation_id: i64 },
    /// Never answered (automatic mail); the reason is recorded.
    Ignored(&'static str),
    /// A delivery status notification about messages we sent: these many addresses are paused.
    Bounce { marked: usize },
    /// Received before: nothing changed, nothing sent.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    /// Not a message we can read or answer (exit 65, EX_DATAERR; see [`Outcome::exit_code`]).
    #[error("unusable message: {0}")]
    Unusable(#[from] Unusable),
    /// The database or the turn failed: try again later (exit 75, EX_TEMPFAIL).
    #[error(transparent)]
    Turn(#[from] TurnError),
}

impl From<sqlx::Error> for ReceiveError {
    fn from(error: sqlx::Error) -> Self {
        ReceiveError::Turn(TurnError::Database(error))
    }
}

#[derive(Serialize)]
struct AttachmentNote<'a> {
    name: Option<&'a str>,
    content_type: &'a str,
    size: usize,
}

/// Reads one raw RFC 5322 message: see the module documentation.
pub async fn receive(service: &Service, raw: &[u8]) -> Result<Received, ReceiveError> {
    let now = service.clock.now();
    let rules = &service.settings.mail;
    let book = service.mail();
    let limits = limits(rules);
    let mail = if raw.len() > rules.max_message_bytes {
        parse::parse_headers_with(raw, &limits)?
    } else {
        parse::parse_with(raw, &limits)?
    };
    let too_large =
        raw.len() > rules.max_message_bytes || mail.headers_truncated || mail.too_many_parts;
    let sender = mail.from.clone().ok_or(Unusable::NoSender)?;
    let key = message_key(&mail, raw);

    if book.received_before(&key).await? {
        return Ok(Received::Duplicate);
    }
    let conversation = book.conversation(&sender).await?;
    let attachments: Vec<AttachmentNote<'_>> = mail
        .attachments
        .iter()
        .map(|a| AttachmentNote {
            name: a.name.as_deref(),
            content_type: &a.content_type,
            size: a.size,
        })
        .collect();
    let mut record = MailRecord {
        message_key: key.clone(),
        sender: Some(sender.clone()),
        conversation_id: conversation,
        disposition: String::new(),
        reason: None,
        quoted: String::new(),
        attachments: serde_json::to_string(&attachments).expect("attachments serialize"),
        size: i64::try_from(raw.len()).unwrap_or(i64::MAX),
    };

    let ours = &service.settings.mail_from.email;
    let own = sender.split_once('@').is_some_and(|(local, domain)| {
        local.split('+').next() == Some(&ours.user().to_lowercase())
            && domain == ours.domain().to_lowercase()
    });
    let disposition = if own {
        // Our own address (or a +token of it) writing to us: never answer ourselves.
        Disposition::Ignore("own_address")
    } else {
        parse::classify(&mail)
    };
    match disposition {
        Disposition::Answer => {}
        Disposition::Ignore(reason) => {
            tracing::info!(reason, "automatic e-mail ignored");
            record.disposition = "ignored".into();
            record.reason = Some(reason.into());
            book.record(&record, now).await?;
            return Ok(Received::Ignored(reason));
        }
        Disposition::Bounce(failed) => return bounce(service, record, &mail, &failed, now).await,
    }

    let threaded = match conversation {
        Some(conversation_id) => {
            let named: Vec<String> = mail
                .in_reply_to
                .iter()
                .chain(&mail.references)
                .cloned()
                .collect();
            book.is_threaded(conversation_id, &mail.recipients, &named)
                .await?
        }
        None => true,
    };
    if !threaded && let Some(conversation_id) = conversation {
        // Anyone can put a known address in From: at most one notice waits at a time, and at
        // most one goes out per interval, so forged mail cannot bury the real answers.
        let since = now - chrono::Duration::minutes(i64::from(rules.unthreaded_notice_minutes));
        if book.notice_since(conversation_id, since).await? {
            record.disposition = "unthreaded".into();
            record.reason = Some("notice_held".into());
            book.record(&record, now).await?;
            return Ok(Received::NoticeHeld { conversation_id });
        }
    }
    let (input, disposition) = if !threaded {
        (Input::Unsupported("unthreaded".into()), "unthreaded")
    } else if too_large {
        (Input::Unsupported("too_large".into()), "too_large")
    } else {
        let (input, quoted) = read_answer(&mail, rules);
        record.quoted = quoted;
        (input, "answered")
    };
    record.disposition = disposition.into();
    // Replies go to an address that can take them: one that is not one is not answered.
    let address = EmailAddress::parse(&sender).map_err(|_| Unusable::NoSender)?;

    let mut thread = mail.references.clone();
    if let Some(id) = &mail.message_id {
        thread.retain(|r| r != id);
        thread.push(id.clone());
    }
    let inbound = Inbound {
        address: Address::Email(address),
        external_id: key,
        input,
        thread,
        packaging: Packaging::PerTurn,
        // Written by the turn, in its transaction; a threaded message resumes paused mail.
        record: ChannelRecord::Mail {
            record: Box::new(record),
            resumes: threaded,
        },
    };
    let priority = if threaded {
        Priority::Reply
    } else {
        Priority::Notice
    };
    let conversation_id = match service.handle_in(&inbound, priority).await? {
        TurnResult::Processed {
            conversation_id, ..
        } => conversation_id,
        // Processed (and recorded, in the same transaction) before.
        TurnResult::Duplicate => return Ok(Received::Duplicate),
    };
    Ok(match disposition {
        "unthreaded" => Received::Unthreaded { conversation_id },
        "too_large" => Received::TooLarge { conversation_id },
        _ => Received::Answered { conversation_id },
    })
}

/// A delivery report: it counts only when it is about a message we sent to the failed address
/// (see [`MailBook::bounce`](crate::service::mail::MailBook::bounce)).
async fn bounce(
    service: &Service,
    record: MailRecord,
    mail: &Mail,
    failed: &[FailedRecipient],
    now: DateTime<Utc>,
) -> Result<Received, ReceiveError> {
    let failed: Vec<mail_book::FailedRecipient> = failed
        .iter()
        .map(|f| mail_book::FailedRecipient {
            address: f.address.clone(),
            status: f.status.clone(),
        })
        .collect();
    let original_ids: Vec<String> = mail
        .report
        .iter()
        .flat_map(|r| r.original_ids.iter().cloned())
        .collect();
    let report = mail_book::Report {
        failed: &failed,
        recipients: &mail.recipients,
        original_ids: &original_ids,
    };
    match service.mail().bounce(service, record, &report, now).await? {
        Some(marked) => {
            tracing::info!(marked, "delivery report: mail to the address is paused");
            Ok(Received::Bounce { marked })
        }
        None => {
            tracing::info!(
                "delivery report about no message of ours to the failed address: ignored"
            );
            Ok(Received::Ignored("foreign_bounce"))
        }
    }
}

/// The idempotency key: the Message-ID, or a hash of the raw message when it has none.
fn message_key(mail: &Mail, raw: &[u8]) -> String {
    match &mail.message_id {
        Some(id) if !id.is_empty() => id.clone(),
        _ => {
            format!("sha256:{}", hex(&Sha256::digest(raw)))
        }
    }
}

/// What the person wrote: a command in the subject or on the first line, else the new text.
/// Returns the input and what was cut from the text.
pub fn read_answer(mail: &Mail, rules: &MailRules) -> (Input, String) {
    let (input, quoted) = read_split(mail);
    let input = match input {
        Input::Text(text) => Input::Text(cap(text, rules.max_answer_bytes)),
        other => other,
    };
    (input, cap(quoted, rules.max_quoted_bytes))
}

/// The bounds of [`parse`] from the `[mail]` settings.
pub fn limits(rules: &MailRules) -> Limits {
    Limits {
        max_header_bytes: rules.max_header_bytes,
        max_recipients: rules.max_recipients,
        max_references: rules.max_references,
        max_text_bytes: rules.max_text_bytes,
        max_quote_depth: rules.max_quote_depth,
        max_attachments: rules.max_attachments,
        max_parts: rules.max_parts,
    }
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn cap(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

fn read_split(mail: &Mail) -> (Input, String) {
    let split = answer_alone(&mail.text);
    let subject = strip_reply_prefixes(&mail.subject);
    if parse_command(Vocabulary::es_mx(), subject).is_some() {
        let mut kept = split.new.clone();
        if !split.quoted.is_empty() {
            kept = format!("{kept}\n{}", split.quoted).trim().to_string();
        }
        return (Input::Text(subject.to_string()), kept);
    }
    if let Some((first, rest)) = split.new.split_once('\n')
        && parse_command(Vocabulary::es_mx(), first).is_some()
    {
        let kept = format!("{rest}\n{}", split.quoted).trim().to_string();
        return (Input::Text(first.trim().to_string()), kept);
    }
    if split.new.is_empty() && !mail.attachments.is_empty() {
        return (Input::Unsupported("document".into()), split.quoted);
    }
    (Input::Text(split.new), split.quoted)
}

/// What the person just wrote, without the quoted history, the signature, or the greeting and
/// sign-off around the answer; what was cut is kept, in order.
fn answer_alone(text: &str) -> quote::Split {
    let reply = quote::split_reply(text);
    let answer = courtesy::strip(Vocabulary::es_mx(), &reply.new);
    let quoted = [answer.quoted, reply.quoted]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    quote::Split {
        new: answer.new,
        quoted,
    }
}

/// "Re: RV: Fwd: AYUDA" → "AYUDA".
fn strip_reply_prefixes(subject: &str) -> &str {
    let prefixes = &Vocabulary::es_mx().history.reply_prefixes;
    let mut rest = subject.trim();
    loop {
        let found = prefixes.iter().find(|prefix| {
            rest.get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        });
        match found {
            Some(prefix) => rest = rest[prefix.len()..].trim_start(),
            None => return rest,
        }
    }
}

/// What became of an input handed to [`receive_guarded`].
#[derive(Debug)]
pub enum Outcome {
    /// Done with it: processed (answered, ignored, recorded) or refused as unusable.
    Done(Result<Received, Unusable>),
    /// Not processed now (the database is unavailable, or it failed once): read it again later.
    Retry(ReceiveError),
    /// It failed or crashed the service too often: set aside (with this reason), never read
    /// again; the next message goes on.
    Quarantined(&'static str),
}

impl Outcome {
    /// The sysexits code for an MTA pipe: 0 done, 65 unusable or set aside, 75 try later.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Done(Ok(_)) => 0,
            Outcome::Done(Err(_)) | Outcome::Quarantined(_) => 65,
            Outcome::Retry(_) => 75,
        }
    }
}

/// [`receive`], guarded ([`crate::guard`]): a message whose processing failed or crashed the
/// service `[inputs] quarantine_after_failures` times is set aside, and the next one goes on. The
/// key is the SHA-256 of the raw bytes, taken before anything of the message is read.
pub async fn receive_guarded(service: &Service, raw: &[u8]) -> Outcome {
    let key = hex(&Sha256::digest(raw));
    let sort = |result: &Result<Received, ReceiveError>| match result {
        Ok(_) | Err(ReceiveError::Unusable(_)) => Ending::Done,
        Err(ReceiveError::Turn(error)) if error.is_temporary() => Ending::Temporary,
        Err(ReceiveError::Turn(_)) => Ending::Failed,
    };
    let input = ("email", key.as_str());
    match guard::run(
        service,
        input,
        Counting::Before,
        receive(service, raw),
        sort,
    )
    .await
    {
        Guarded::Done(Ok(received)) => Outcome::Done(Ok(received)),
        Guarded::Done(Err(ReceiveError::Unusable(unusable))) => Outcome::Done(Err(unusable)),
        Guarded::Done(Err(error)) | Guarded::Retry(Some(Err(error))) => Outcome::Retry(error),
        Guarded::Retry(_) => Outcome::Retry(ReceiveError::Turn(TurnError::Unexpected(
            anyhow::anyhow!("the message could not be processed this time"),
        ))),
        Guarded::Quarantined(reason) => Outcome::Quarantined(reason),
    }
}

#[cfg(test)]
mod tests;
