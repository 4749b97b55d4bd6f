//! The e-mail channel. Three ways in (IMAP, the MTA pipe `ventanilla mail receive`, the Maildir
//! inbox) hand raw bytes to [`receive`]; out through [`outbound::EmailSender`].
//!
//! [`receive`] decides, before any conversation sees a message:
//! - never answer automatic mail (auto-replies, lists, bulk, system senders, out-of-office):
//!   recorded as ignored, with the reason;
//! - a delivery status notification marks the failed address unreachable (mail to it pauses;
//!   the case records it);
//! - threading: a message continues a conversation only if it carries the conversation's token
//!   (in a recipient `local+TOKEN@domain`, or In-Reply-To/References naming a message we sent)
//!   and comes from the conversation's address. Otherwise, from a known address, it changes
//!   nothing: the current question is sent again to the known address, with the token;
//! - only the new text is read (quoted history and signatures cut, and kept); a command works
//!   in the subject or on the first line.

pub mod imap;
pub mod maildir;
pub mod outbound;
pub mod parse;
pub mod quote;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::conversation::Input;
use crate::conversation::input::parse_command;
use crate::service::{Channel, Inbound, Service, TurnError, TurnResult};
use crate::store::mail::InboundRecord;
use crate::store::{self, Conn};
use parse::{Disposition, Mail, Unusable};

/// What became of an inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A turn ran on it (the applicant is answered).
    Answered { conversation_id: i64 },
    /// From a known address without the conversation's token: nothing changed, the current
    /// question went again to the known address.
    Unthreaded { conversation_id: i64 },
    /// Larger than allowed: the applicant is told so; nothing else read.
    TooLarge { conversation_id: i64 },
    /// Never answered (automatic mail); the reason is recorded.
    Ignored(&'static str),
    /// A delivery status notification: these many conversations are marked unreachable.
    Bounce { marked: usize },
    /// Received before: nothing changed, nothing sent.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    /// Not a message we can read or answer (exit 65, EX_DATAERR).
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

impl ReceiveError {
    /// The sysexits code for an MTA pipe.
    pub fn exit_code(&self) -> u8 {
        match self {
            ReceiveError::Unusable(_) => 65,
            ReceiveError::Turn(_) => 75,
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_temporary(&self) -> bool {
        matches!(self, ReceiveError::Turn(_))
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
    let too_large = raw.len() > service.settings.mail.max_message_bytes;
    let mail = if too_large {
        parse::parse_headers(raw)?
    } else {
        parse::parse(raw)?
    };
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
            let mut tx = service.db.begin().await?;
            let mut marked = 0;
            for recipient in &failed {
                let status = recipient.status.as_deref().unwrap_or("5.0.0");
                let reason = format!("bounce {status}");
                let ids = store::mail::mark_address_unreachable(
                    &mut tx.conn(),
                    &recipient.address,
                    &reason,
                    now,
                )
                .await?;
                for id in &ids {
                    let detail = serde_json::json!({ "status": status }).to_string();
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
                marked += ids.len();
            }
            record.disposition = "bounce".into();
            record.reason = Some(
                failed
                    .iter()
                    .filter_map(|f| f.status.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            record.conversation_id = None;
            store::mail::record_inbound(&mut tx.conn(), &record, now).await?;
            tx.commit().await?;
            tracing::info!(
                marked,
                "delivery status notification: address marked unreachable"
            );
            return Ok(Received::Bounce { marked });
        }
    }

    let threaded = match &conversation {
        Some(conversation) => {
            is_threaded(service, &mut reader.conn(), conversation.id, &mail).await?
        }
        None => true,
    };
    drop(reader);
    let (input, disposition) = if !threaded {
        (Input::Unsupported("unthreaded".into()), "unthreaded")
    } else if too_large {
        (Input::Unsupported("too_large".into()), "too_large")
    } else {
        let (input, quoted) = read_answer(&mail);
        record.quoted = quoted;
        (input, "answered")
    };
    if threaded && let Some(conversation) = &conversation {
        // The address wrote to us in the thread: it works again.
        if conversation.unreachable_reason.is_some() {
            resume(service, conversation.id, now).await?;
        }
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
    let conversation_id = match service.handle(&inbound).await? {
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
            let digest = Sha256::digest(raw);
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("sha256:{hex}")
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
fn read_answer(mail: &Mail) -> (Input, String) {
    let split = quote::split_reply(&mail.text);
    let subject = strip_reply_prefixes(&mail.subject);
    if parse_command(subject).is_some() {
        let mut kept = split.new.clone();
        if !split.quoted.is_empty() {
            kept = format!("{kept}\n{}", split.quoted).trim().to_string();
        }
        return (Input::Text(subject.to_string()), kept);
    }
    if let Some((first, rest)) = split.new.split_once('\n')
        && parse_command(first).is_some()
    {
        let kept = format!("{rest}\n{}", split.quoted).trim().to_string();
        return (Input::Text(first.trim().to_string()), kept);
    }
    if split.new.is_empty() && !mail.attachments.is_empty() {
        return (Input::Unsupported("document".into()), split.quoted);
    }
    (Input::Text(split.new), split.quoted)
}

/// "Re: RV: Fwd: AYUDA" → "AYUDA".
fn strip_reply_prefixes(subject: &str) -> &str {
    const PREFIXES: [&str; 7] = ["re:", "rv:", "res:", "fw:", "fwd:", "enc:", "aw:"];
    let mut rest = subject.trim();
    loop {
        let lower = rest.to_lowercase();
        match PREFIXES.iter().find(|p| lower.starts_with(*p)) {
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

async fn resume(
    service: &Service,
    conversation_id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = service.db.begin().await?;
    if store::mail::clear_unreachable(&mut tx.conn(), conversation_id, now).await? {
        store::audit::record(
            &mut tx.conn(),
            now,
            "mail",
            Some(conversation_id),
            None,
            "address_reachable",
            "{}",
        )
        .await?;
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_prefixes_are_stripped_in_any_case_and_number() {
        assert_eq!(strip_reply_prefixes("Re: RV: Fwd: AYUDA"), "AYUDA");
        assert_eq!(strip_reply_prefixes("RE:estado"), "estado");
        assert_eq!(strip_reply_prefixes("Tu trámite"), "Tu trámite");
    }

    fn mail(subject: &str, text: &str) -> Mail {
        Mail {
            subject: subject.into(),
            text: text.into(),
            from: Some("luz@correo.test".into()),
            ..Mail::default()
        }
    }

    #[test]
    fn a_command_in_the_subject_wins_and_the_body_is_kept() {
        let (input, kept) = read_answer(&mail("Re: AYUDA", "no entiendo"));
        assert_eq!(input, Input::Text("AYUDA".into()));
        assert_eq!(kept, "no entiendo");
    }

    #[test]
    fn a_command_on_the_first_line_is_read_alone() {
        let (input, kept) = read_answer(&mail("Re: Tu trámite", "estado\npor favor\n"));
        assert_eq!(input, Input::Text("estado".into()));
        assert_eq!(kept, "por favor");
    }

    #[test]
    fn the_new_text_is_the_answer_and_the_quote_is_kept() {
        let (input, kept) = read_answer(&mail(
            "Re: Tu trámite",
            "PEGL890909MJCRMS08\n\nOn Mon, Nov 30, 2026 at 10:15 AM Ventanilla wrote:\n> ¿Cuál es tu CURP?\n",
        ));
        assert_eq!(input, Input::Text("PEGL890909MJCRMS08".into()));
        assert!(kept.contains("¿Cuál es tu CURP?"), "{kept}");
    }

    #[test]
    fn only_an_attachment_is_an_unsupported_document() {
        let mut m = mail("Re: Tu trámite", "");
        m.attachments.push(parse::Attachment {
            name: Some("titulo.pdf".into()),
            content_type: "application/pdf".into(),
            size: 100,
        });
        assert_eq!(read_answer(&m).0, Input::Unsupported("document".into()));
        assert_eq!(read_answer(&mail("x", "  ")).0, Input::Text(String::new()));
    }
}
