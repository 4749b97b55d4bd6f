//! Outbound e-mail: an outbox message becomes one e-mail built with lettre and sent over SMTP
//! (`SMTP_URL`, pooled, TLS as the URL says) or, by default, written as an `.eml` file under
//! `$VENTANILLA_DATA_DIR/outbox`.
//!
//! Every e-mail carries our own Message-ID (`<OUTBOX-ID.TOKEN@domain>`, stored, stable across
//! retries), a Reply-To `local+TOKEN@domain` that binds the answer to its conversation, the
//! applicant's last message in In-Reply-To/References, one subject per case without personal
//! data, text and HTML alternatives from `templates/email/`, `Auto-Submitted: auto-replied` and
//! `Content-Language: es-MX`. Its envelope sender (SMTP `MAIL FROM`) is
//! `local+bounce-BTOKEN@domain`, a token of that one message (VERP): a delivery report only
//! counts when it comes back to it (or returns our Message-ID) and names the address we sent it
//! to. It reaches the same mailbox as the replies, with no MTA configuration.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::conversation::reply::Choice;
use crate::delivery::{Delivery, SendError, SendFuture, Sender};
use crate::documents::{Documents, Rendered};
use crate::service::Clock;
use crate::service::Service;
use crate::service::mail::{MailBook, SentRecord};
use crate::templates::Templates;

/// Where e-mails go.
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// One `OUTBOX-ID.eml` file per message (the embedded default).
    Files(PathBuf),
}

/// The e-mail channel's sender for the outbox worker.
pub struct EmailSender {
    book: MailBook,
    templates: Templates,
    from: Mailbox,
    transport: Transport,
    max_per_hour: u32,
    clock: Clock,
    documents: Documents,
}

/// How many message ids of the thread go in `References` (the most recent ones).
const MAX_REFERENCES: usize = 10;

impl EmailSender {
    /// The sender of `service`'s mail, through `SMTP_URL` or into `.eml` files.
    pub fn new(service: &Service) -> anyhow::Result<EmailSender> {
        let settings = &service.settings;
        let transport = match &settings.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .context(
                        "SMTP_URL is not a valid SMTP URL (smtp://user:pass@host:587?tls=required)",
                    )?
                    .timeout(Some(Duration::from_secs(30)))
                    .build(),
            ),
            None => {
                let dir = settings.data_dir.join("outbox");
                crate::files::create_private_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                Transport::Files(dir)
            }
        };
        Ok(EmailSender {
            documents: Documents::new(service.db.clone(), service.templates.clone(), settings),
            book: service.mail(),
            templates: service.templates.clone(),
            from: settings.mail_from.clone(),
            transport,
            max_per_hour: settings.mail.max_replies_per_hour,
            clock: service.clock,
        })
    }

    /// For the start-up log: where mail goes (no credentials).
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "SMTP (SMTP_URL)".to_string(),
            Transport::Files(dir) => format!(".eml files in {}", dir.display()),
        }
    }

    /// The envelope sender of one message: `local+bounce-BTOKEN@domain`.
    pub fn return_path(&self, bounce_token: &str) -> anyhow::Result<Address> {
        Address::new(
            format!("{}+bounce-{bounce_token}", self.from.email.user()),
            self.from.email.domain(),
        )
        .context("MAIL_FROM cannot take a +bounce token")
    }

    /// Builds the e-mail of an outbox message; returns its Message-ID (without brackets).
    pub fn compose(
        &self,
        delivery: &Delivery,
        token: &str,
        files: &[Rendered],
    ) -> anyhow::Result<(String, Message)> {
        let domain = self.from.email.domain();
        let message_id = format!("{}.{token}@{domain}", delivery.id);
        let to_address: Address = delivery
            .address
            .parse()
            .context("the conversation's address is not an e-mail address")?;
        let envelope = lettre::address::Envelope::new(
            Some(self.return_path(&bounce_token(delivery.id, token))?),
            vec![to_address],
        )
        .context("the e-mail's envelope could not be built")?;
        let reply_to = Mailbox::new(
            self.from.name.clone(),
            Address::new(format!("{}+{token}", self.from.email.user()), domain)
                .context("MAIL_FROM cannot take a +token")?,
        );
        let to: Mailbox = delivery
            .address
            .parse()
            .context("the conversation's address is not an e-mail address")?;
        let subject = self.templates.render("email/subject.txt", ())?;
        let body = Body::new(
            &delivery.message.text,
            &delivery.message.choices,
            subject.trim(),
            delivery.message.rerouted_from.as_deref(),
        );
        let text = self.templates.render("email/message.txt", &body)?;
        let html = self.templates.render("email/message.html", &body)?;

        let mut builder = Message::builder()
            .envelope(envelope)
            .from(self.from.clone())
            .reply_to(reply_to)
            .to(to)
            .subject(subject.trim())
            .message_id(Some(format!("<{message_id}>")))
            .date(SystemTime::from(self.clock.now()))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-replied".into(),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Content-Language"),
                "es-MX".into(),
            ));
        // Ids as the parser kept them (it hashes any a header cannot carry), only the latest.
        let thread = &delivery.message.thread;
        if let Some(last) = thread.last() {
            builder = builder.in_reply_to(format!("<{last}>"));
            let recent = &thread[thread.len().saturating_sub(MAX_REFERENCES)..];
            let references: Vec<String> = recent.iter().map(|id| format!("<{id}>")).collect();
            builder = builder.references(references.join(" "));
        }
        let alternative = MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(text),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(html),
            );
        let body = if files.is_empty() {
            alternative
        } else {
            let mut mixed = MultiPart::mixed().multipart(alternative);
            for file in files {
                let content_type = ContentType::parse(file.content_type)
                    .context("a document has an invalid content type")?;
                mixed = mixed.singlepart(
                    Attachment::new(file.file_name.clone()).body(file.bytes.clone(), content_type),
                );
            }
            mixed
        };
        let message = builder
            .multipart(body)
            .context("the e-mail could not be built")?;
        Ok((message_id, message))
    }

    async fn try_send(&self, delivery: &Delivery) -> Result<(), SendError> {
        let now = self.clock.now();
        let (sent, oldest) = self
            .book
            .sent_since(&delivery.address, now - chrono::Duration::hours(1))
            .await
            .map_err(transient)?;
        if sent >= i64::from(self.max_per_hour) {
            let free_at = oldest.unwrap_or(now) + chrono::Duration::hours(1);
            let wait = (free_at - now).to_std().unwrap_or_default();
            return Err(SendError::Later(wait.max(Duration::from_secs(1))));
        }
        let token = self
            .book
            .token(delivery.conversation_id, now)
            .await
            .map_err(transient)?;
        let mut files = Vec::new();
        for document in &delivery.message.attachments {
            let file = self
                .documents
                .render(document)
                .await
                .map_err(SendError::cannot_render)?;
            files.push(file);
        }
        let (message_id, message) = self
            .compose(delivery, &token, &files)
            .map_err(|e| SendError::Permanent(format!("{e:#}")))?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(smtp_error)?,
            Transport::Files(dir) => write_file(dir, delivery.id, &with_return_path(&message))
                .await
                .map_err(|e| SendError::Transient {
                    reason: format!("cannot write the .eml file: {e}"),
                    retry_after: None,
                })?,
        }
        let sent = SentRecord {
            message_id: &message_id,
            bounce_token: &bounce_token(delivery.id, &token),
            conversation_id: delivery.conversation_id,
            outbox_id: delivery.id,
            address: &delivery.address,
        };
        self.book.record_sent(&sent, now).await.map_err(transient)
    }
}

impl Sender for EmailSender {
    fn channel(&self) -> &'static str {
        "email"
    }

    fn send<'a>(&'a self, delivery: &'a Delivery) -> SendFuture<'a> {
        Box::pin(self.try_send(delivery))
    }
}

/// The values of the message templates.
#[derive(Serialize)]
struct Body<'a> {
    /// The channel this notice could not reach, when it comes by e-mail instead.
    rerouted_from: Option<&'a str>,
    text: &'a str,
    /// The text as paragraphs of lines, for HTML.
    paragraphs: Vec<Vec<&'a str>>,
    choices: &'a [Choice],
    subject: &'a str,
}

impl<'a> Body<'a> {
    fn new(
        text: &'a str,
        choices: &'a [Choice],
        subject: &'a str,
        rerouted_from: Option<&'a str>,
    ) -> Body<'a> {
        let paragraphs = text
            .split("\n\n")
            .map(|p| p.lines().collect::<Vec<_>>())
            .filter(|p| !p.is_empty())
            .collect();
        Body {
            rerouted_from,
            text,
            paragraphs,
            choices,
            subject,
        }
    }
}

/// The token of one message's envelope sender: stable across retries (the same outbox row and
/// conversation token give the same one) and unguessable without the conversation's token.
pub fn bounce_token(outbox_id: i64, token: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("bounce\0{outbox_id}\0{token}").as_bytes());
    digest[..10].iter().map(|b| format!("{b:02x}")).collect()
}

/// A file has no SMTP envelope: its sender goes first, as the `Return-Path` a delivering
/// server would write.
fn with_return_path(message: &Message) -> Vec<u8> {
    let mut bytes = Vec::new();
    if let Some(from) = message.envelope().from() {
        bytes.extend_from_slice(format!("Return-Path: <{from}>\r\n").as_bytes());
    }
    bytes.extend_from_slice(&message.formatted());
    bytes
}

/// Writes `ID.eml` atomically (a retry rewrites the same file with the same bytes), readable by
/// its owner only.
async fn write_file(dir: &std::path::Path, id: i64, bytes: &[u8]) -> std::io::Result<()> {
    let partial = dir.join(format!(".{id}.eml.partial"));
    crate::files::write_private(&partial, bytes).await?;
    tokio::fs::rename(&partial, dir.join(format!("{id}.eml"))).await
}

fn transient(error: sqlx::Error) -> SendError {
    SendError::Transient {
        reason: format!("database: {error}"),
        retry_after: None,
    }
}

/// 5xx: failed with the reason; 4xx and network errors: retried. The server's text is left out
/// (it usually repeats the address).
fn smtp_error(error: lettre::transport::smtp::Error) -> SendError {
    let code = error.status().map(|c| c.to_string());
    if error.is_permanent() {
        SendError::Permanent(format!("SMTP {}", code.unwrap_or_default()))
    } else if error.is_transient() {
        SendError::Transient {
            reason: format!("SMTP {}", code.unwrap_or_default()),
            retry_after: None,
        }
    } else {
        SendError::Transient {
            reason: format!("SMTP connection: {error}"),
            retry_after: None,
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn eml_files_are_readable_by_their_owner_only() {
        let dir = tempfile::tempdir().unwrap();

        write_file(dir.path(), 7, b"From: a\r\n\r\nx")
            .await
            .unwrap();

        let eml = dir.path().join("7.eml");
        let mode = std::fs::metadata(&eml).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read(&eml).unwrap(), b"From: a\r\n\r\nx");
    }
}
