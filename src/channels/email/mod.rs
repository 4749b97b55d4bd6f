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
use crate::conversation::reply::Reply;
use crate::conversation::vocabulary::Vocabulary;
use crate::guard::{self, Counting, Ending, Guarded};
use crate::service::{Channel, Inbound, Service, TurnError, TurnResult};
use crate::store::mail::InboundRecord;
use crate::store::outbox::Priority;
use crate::store::{self, Conn};
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

    let mut reader = service.db.reader().await?;
    if store::mail::inbound(&mut reader.conn(), &key)
        .await?
        .is_some()
    {
        return Ok(Received::Duplicate);
    }
    let conversation = store::conversations::find(&mut reader.conn(), "email", &sender).await?;
    let attachments: Vec<AttachmentNote<'_>> = mail
        .attachments
        .iter()
        .map(|a| AttachmentNote {
            name: a.name.as_deref(),
            content_type: &a.content_type,
            size: a.size,
        })
        .collect();
    let mut record = InboundRecord {
        message_key: key.clone(),
        sender: Some(sender.clone()),
        conversation_id: conversation.as_ref().map(|c| c.id),
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
            save(service, &record, now).await?;
            return Ok(Received::Ignored(reason));
        }
        Disposition::Bounce(failed) => {
            let ours = bounced_messages(service, &mut reader.conn(), &mail).await?;
            drop(reader);
            return bounce(service, record, &failed, &ours, now).await;
        }
    }

    let threaded = match &conversation {
        Some(conversation) => {
            is_threaded(service, &mut reader.conn(), conversation.id, &mail).await?
        }
        None => true,
    };
    if !threaded && let Some(conversation) = &conversation {
        // Anyone can put a known address in From: at most one notice waits at a time, and at
        // most one goes out per interval, so forged mail cannot bury the real answers.
        let since = now - chrono::Duration::minutes(i64::from(rules.unthreaded_notice_minutes));
        if store::outbox::recent_notice(&mut reader.conn(), conversation.id, "email", since).await?
        {
            drop(reader);
            record.disposition = "unthreaded".into();
            record.reason = Some("notice_held".into());
            save(service, &record, now).await?;
            return Ok(Received::NoticeHeld {
                conversation_id: conversation.id,
            });
        }
    }
    drop(reader);
    let (input, disposition) = if !threaded {
        (Input::Unsupported("unthreaded".into()), "unthreaded")
    } else if too_large {
        (Input::Unsupported("too_large".into()), "too_large")
    } else {
        let (input, quoted) = read_answer(&mail, rules);
        record.quoted = quoted;
        (input, "answered")
    };
    if threaded {
        // The address wrote to us (in its thread, or starting its case): mail to it works
        // again, if a bounce had paused it.
        resume(service, &sender, now).await?;
    }

    let mut thread = mail.references.clone();
    if let Some(id) = &mail.message_id {
        thread.retain(|r| r != id);
        thread.push(id.clone());
    }
    let inbound = Inbound {
        channel: Channel::Email,
        address: sender,
        external_id: key,
        input,
        thread,
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
        TurnResult::Duplicate => {
            // Processed before, but not recorded (stopped in between): record it now.
            record.disposition = disposition.into();
            save(service, &record, now).await?;
            return Ok(Received::Duplicate);
        }
    };
    record.conversation_id = Some(conversation_id);
    record.disposition = disposition.into();
    save(service, &record, now).await?;
    Ok(match disposition {
        "unthreaded" => Received::Unthreaded { conversation_id },
        "too_large" => Received::TooLarge { conversation_id },
        _ => Received::Answered { conversation_id },
    })
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

/// Whether the message carries the conversation's token.
async fn is_threaded(
    service: &Service,
    conn: &mut Conn<'_>,
    conversation_id: i64,
    mail: &Mail,
) -> Result<bool, sqlx::Error> {
    if let Some(token) = store::mail::token(conn, conversation_id).await? {
        let ours = &service.settings.mail_from.email;
        let tagged = format!("{}+{token}@{}", ours.user(), ours.domain()).to_lowercase();
        if mail.recipients.iter().any(|r| r.to_lowercase() == tagged) {
            return Ok(true);
        }
    }
    let named: Vec<String> = mail
        .in_reply_to
        .iter()
        .chain(&mail.references)
        .cloned()
        .collect();
    store::mail::names_our_message(conn, conversation_id, &named).await
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

async fn save(
    service: &Service,
    record: &InboundRecord,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = service.db.begin().await?;
    store::mail::record_inbound(&mut tx.conn(), record, now).await?;
    tx.commit().await
}

async fn resume(service: &Service, address: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let mut tx = service.db.begin().await?;
    if store::mail::resume_address(&mut tx.conn(), address, now).await? {
        store::audit::record(
            &mut tx.conn(),
            now,
            "mail",
            None,
            None,
            "address_reachable",
            "{}",
        )
        .await?;
        tracing::info!("a paused address wrote again: its mail is resumed");
    }
    tx.commit().await
}

/// The messages of ours a delivery report is about: the one whose envelope sender it came
/// back to (`local+bounce-TOKEN@domain` among its recipients), and those whose Message-ID it
/// returns.
async fn bounced_messages(
    service: &Service,
    conn: &mut Conn<'_>,
    mail: &Mail,
) -> Result<Vec<store::mail::Sent>, sqlx::Error> {
    let ours = &service.settings.mail_from.email;
    let prefix = format!("{}+bounce-", ours.user()).to_lowercase();
    let suffix = format!("@{}", ours.domain()).to_lowercase();
    let mut found: Vec<store::mail::Sent> = Vec::new();
    for recipient in &mail.recipients {
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
    let returned = mail.report.iter().flat_map(|r| &r.original_ids);
    for id in returned {
        if let Some(sent) = store::mail::sent_by_message_id(conn, id).await? {
            found.push(sent);
        }
    }
    found.dedup();
    Ok(found)
}

/// A delivery report: only a failed recipient that is the address one of our messages went to
/// counts. Its mail is paused, its e-mail conversations are marked, and an applicant whose
/// conversation is on another channel is told there. Anything else is recorded and ignored.
async fn bounce(
    service: &Service,
    mut record: InboundRecord,
    failed: &[FailedRecipient],
    ours: &[store::mail::Sent],
    now: DateTime<Utc>,
) -> Result<Received, ReceiveError> {
    let matched: Vec<(&FailedRecipient, &store::mail::Sent)> = failed
        .iter()
        .filter_map(|f| {
            ours.iter()
                .find(|sent| sent.address.eq_ignore_ascii_case(&f.address))
                .map(|sent| (f, sent))
        })
        .collect();
    record.conversation_id = None;
    if matched.is_empty() {
        tracing::info!("delivery report about no message of ours to the failed address: ignored");
        record.disposition = "ignored".into();
        record.reason = Some("foreign_bounce".into());
        save(service, &record, now).await?;
        return Ok(Received::Ignored("foreign_bounce"));
    }
    let mut tx = service.db.begin().await?;
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
            store::audit::record(
                &mut tx.conn(),
                now,
                "mail",
                Some(*id),
                None,
                "address_bounced",
                &detail,
            )
            .await?;
        }
        tell_other_channel(service, &mut tx.conn(), sent, status)
            .await
            .map_err(TurnError::Unexpected)?;
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
    tracing::info!(marked, "delivery report: mail to the address is paused");
    Ok(Received::Bounce { marked })
}

/// When the bounced message belongs to a conversation on another channel (the cédula sent to a
/// Telegram applicant's address), the applicant hears of it there, once per pause.
async fn tell_other_channel(
    service: &Service,
    conn: &mut Conn<'_>,
    sent: &store::mail::Sent,
    status: &str,
) -> anyhow::Result<()> {
    let Some(conversation) = store::conversations::get(conn, sent.conversation_id).await? else {
        return Ok(());
    };
    if conversation.channel == "email" {
        return Ok(());
    }
    let reply = Reply::new("email_paused")
        .with("address", &sent.address)
        .with("status", status);
    let message = service.render(&reply)?;
    let row = (
        conversation.channel.as_str(),
        conversation.address.as_str(),
        &message,
    );
    service
        .queue(conn, conversation.id, &[row], Priority::Notice)
        .await?;
    Ok(())
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
