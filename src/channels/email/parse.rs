//! Reading inbound e-mail: raw RFC 5322 bytes become a [`Mail`], and [`classify`] decides
//! whether it is a person's message to answer, an automatic one to ignore, or a bounce.
//!
//! This is the only module that knows mail-parser, so an upgrade stays here. mail-parser does
//! the MIME structure, transfer encodings, charsets and RFC 2047 words; this module picks the
//! body (undoing `format=flowed`), turns HTML into text itself (mail-parser's conversion only
//! breaks lines at `<br>` and `</p>`, and drops blockquotes), and reads delivery-status fields.

use std::borrow::Cow;

use mail_parser::{HeaderName, HeaderValue, Message, MessageParser};

mod body;
mod html;
mod report;

use body::{attachments, body_part, body_text};
#[cfg(test)]
use html::html_to_text;
use report::report;

/// What Ventanilla reads from one inbound message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mail {
    /// Without angle brackets, trimmed.
    pub message_id: Option<String>,
    /// Bare address of the first From mailbox, lowercased.
    pub from: Option<String>,
    /// Bare lowercased addresses from To, Cc, Delivered-To and X-Original-To, each once, in
    /// header order.
    pub recipients: Vec<String>,
    /// Bare lowercased address of the first Reply-To mailbox (recorded; we answer From).
    pub reply_to: Option<String>,
    /// Message ids, without `<>`.
    pub in_reply_to: Vec<String>,
    /// Message ids, without `<>`, in order.
    pub references: Vec<String>,
    /// Decoded; empty when absent.
    pub subject: String,
    /// Lowercased, trimmed.
    pub auto_submitted: Option<String>,
    /// Lowercased, trimmed.
    pub precedence: Option<String>,
    /// List-Id, List-Unsubscribe or List-Post present.
    pub mailing_list: bool,
    /// X-Autoreply, X-Autorespond or X-Auto-Reply present.
    pub auto_reply_headers: bool,
    /// Return-Path is `<>`.
    pub null_sender: bool,
    /// Set when the top-level Content-Type is multipart/report.
    pub report: Option<Report>,
    /// The first text/plain body part, else the first text/html one as text; LF line ends.
    pub text: String,
    /// Every part that is an attachment, never the body (at most [`Limits::max_attachments`]).
    pub attachments: Vec<Attachment>,
    /// The header block was longer than [`Limits::max_header_bytes`]: only its start was read,
    /// and the body was not.
    pub headers_truncated: bool,
    /// The body's text was cut at [`Limits::max_text_bytes`].
    pub text_truncated: bool,
    /// More MIME parts than [`Limits::max_parts`]: only the headers were read.
    pub too_many_parts: bool,
}

/// Bounds on what one message may cost to read, whatever it contains (`[mail]` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the header block read; a longer block is read up to here, and the body not.
    pub max_header_bytes: usize,
    /// Distinct recipients kept (To, Cc, Delivered-To, X-Original-To).
    pub max_recipients: usize,
    /// Message ids kept from References (the first and the latest ones).
    pub max_references: usize,
    /// Bytes of body text kept (after HTML conversion).
    pub max_text_bytes: usize,
    /// Quote depth rendered for nested `<blockquote>` (deeper levels print as this depth).
    pub max_quote_depth: usize,
    /// Attachments and failed recipients of a report listed.
    pub max_attachments: usize,
    /// Lines that may open a MIME part (`--boundary`): a message with more is read from its
    /// headers only (each part costs the parser memory, whatever its size).
    pub max_parts: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 64 * 1024,
            max_recipients: 100,
            max_references: 50,
            max_text_bytes: 256 * 1024,
            max_quote_depth: 8,
            max_attachments: 50,
            max_parts: 1000,
        }
    }
}

/// Message ids longer than this (or with characters a header cannot carry) are replaced by a
/// hash of themselves: we never echo them into our own headers.
pub const MAX_MESSAGE_ID: usize = 250;

/// A part that is not the body: it has a file name, is marked as an attachment, or is not text.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub name: Option<String>,
    /// Lowercased "type/subtype", e.g. "application/pdf".
    pub content_type: String,
    /// Decoded size in bytes.
    pub size: usize,
}

/// A multipart/report message.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The lowercased report-type parameter, e.g. "delivery-status".
    pub report_type: String,
    /// The recipients whose Action is "failed".
    pub failed: Vec<FailedRecipient>,
    /// Message ids found in the returned message (its Message-ID, or the headers part), which
    /// tell whether the report is about a message we sent.
    pub original_ids: Vec<String>,
}

/// One recipient of a delivery status notification that could not be delivered to.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedRecipient {
    /// Lowercased, from Final-Recipient, else Original-Recipient.
    pub address: String,
    /// The Status field, e.g. "5.1.1".
    pub status: Option<String>,
    /// The Diagnostic-Code field.
    pub diagnostic: Option<String>,
}

/// Why a message cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    #[error("the message is empty")]
    Empty,
    #[error("no header could be read")]
    NoHeaders,
    #[error("the message has no usable From address")]
    NoSender,
}

/// Reads a whole message, within the default [`Limits`].
pub fn parse(raw: &[u8]) -> Result<Mail, Unusable> {
    parse_with(raw, &Limits::default())
}

/// Reads a whole message within `limits`. A header block over its cap is read up to the cap
/// and the body is left unread (`headers_truncated`).
pub fn parse_with(raw: &[u8], limits: &Limits) -> Result<Mail, Unusable> {
    if let Some(head) = oversized_header_block(raw, limits) {
        let mut mail = read_headers(&parse_message(head, true)?, limits)?;
        mail.headers_truncated = true;
        return Ok(mail);
    }
    if part_lines(raw) > limits.max_parts {
        let mut mail = read_headers(&parse_message(raw, true)?, limits)?;
        mail.too_many_parts = true;
        return Ok(mail);
    }
    let message = parse_message(raw, false)?;
    let mut mail = read_headers(&message, limits)?;
    let body = body_part(&message);
    let text = body.map(|body| body_text(body, limits)).unwrap_or_default();
    (mail.text, mail.text_truncated) = cap_text(text, limits.max_text_bytes);
    mail.attachments = attachments(&message, body.map(|(id, _)| id), limits);
    mail.report = report(&message, limits);
    Ok(mail)
}

/// Reads only the header block (for messages too large to parse whole): same struct, `text`
/// empty, no attachments, report None.
pub fn parse_headers(raw: &[u8]) -> Result<Mail, Unusable> {
    parse_headers_with(raw, &Limits::default())
}

pub fn parse_headers_with(raw: &[u8], limits: &Limits) -> Result<Mail, Unusable> {
    let head = oversized_header_block(raw, limits);
    let mut mail = read_headers(&parse_message(head.unwrap_or(raw), true)?, limits)?;
    mail.headers_truncated = head.is_some();
    Ok(mail)
}

/// When the header block (up to the first empty line) is longer than allowed: its start, cut
/// at the last line end within the cap.
fn oversized_header_block<'a>(raw: &'a [u8], limits: &Limits) -> Option<&'a [u8]> {
    let window = &raw[..raw.len().min(limits.max_header_bytes.saturating_add(4))];
    let lf = window.windows(2).position(|pair| pair == b"\n\n");
    let crlf = window.windows(3).position(|w| w == b"\n\r\n");
    let ends = match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if ends.is_some_and(|end| end <= limits.max_header_bytes)
        || raw.len() <= limits.max_header_bytes
    {
        return None;
    }
    let head = &raw[..limits.max_header_bytes.min(raw.len())];
    let cut = head
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(head.len(), |at| at + 1);
    Some(&head[..cut])
}

/// Lines starting with `--`: an upper bound on the MIME parts of a message, counted in one pass.
fn part_lines(raw: &[u8]) -> usize {
    raw.windows(3).filter(|w| w == b"\n--").count()
}

/// Cuts `text` to at most `max` bytes, at a character boundary; says whether it cut.
fn cap_text(mut text: String, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    (text, true)
}

/// What to do with a message before any conversation sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Disposition {
    Answer,
    /// Never answered; recorded with this reason.
    Ignore(&'static str),
    /// A delivery status notification naming recipients that failed.
    Bounce(Vec<FailedRecipient>),
}

/// Sorts a message: bounces, then automatic or bulk mail (ignored, with the first reason that
/// applies), then everything else is answered.
pub fn classify(mail: &Mail) -> Disposition {
    if let Some(report) = &mail.report {
        if report.report_type == "delivery-status" && !report.failed.is_empty() {
            return Disposition::Bounce(report.failed.clone());
        }
        return Disposition::Ignore("delivery_report");
    }
    if mail
        .auto_submitted
        .as_deref()
        .is_some_and(|value| first_token(value) != "no")
    {
        return Disposition::Ignore("auto_submitted");
    }
    if mail.precedence.as_deref().is_some_and(|value| {
        matches!(
            first_token(value),
            "bulk" | "junk" | "list" | "auto_reply" | "auto-reply"
        )
    }) {
        return Disposition::Ignore("precedence");
    }
    if mail.mailing_list {
        return Disposition::Ignore("mailing_list");
    }
    if mail.null_sender {
        return Disposition::Ignore("null_sender");
    }
    if mail.from.as_deref().is_some_and(is_system_sender) {
        return Disposition::Ignore("system_sender");
    }
    if mail.auto_reply_headers {
        return Disposition::Ignore("auto_reply");
    }
    if is_out_of_office(&mail.subject) {
        return Disposition::Ignore("out_of_office");
    }
    Disposition::Answer
}

fn parse_message(raw: &[u8], headers_only: bool) -> Result<Message<'_>, Unusable> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(Unusable::Empty);
    }
    let parser = MessageParser::new();
    let message = if headers_only {
        parser.parse_headers(raw)
    } else {
        parser.parse(raw)
    };
    match message {
        Some(message) if !message.parts.is_empty() && !message.headers().is_empty() => Ok(message),
        _ => Err(Unusable::NoHeaders),
    }
}

fn read_headers(message: &Message<'_>, limits: &Limits) -> Result<Mail, Unusable> {
    let mut mail = Mail::default();
    let mut recipients = Recipients::new(limits.max_recipients);
    let mut references = Vec::new();
    for header in message.headers() {
        let value = &header.value;
        match &header.name {
            HeaderName::MessageId if mail.message_id.is_none() => {
                mail.message_id = message_ids(value).into_iter().next();
            }
            HeaderName::From if mail.from.is_none() => {
                mail.from = addresses(value).into_iter().next();
            }
            HeaderName::To | HeaderName::Cc => recipients.extend(addresses(value)),
            HeaderName::ReplyTo if mail.reply_to.is_none() => {
                mail.reply_to = addresses(value).into_iter().next();
            }
            HeaderName::DeliveredTo => recipients.extend(value.as_text().and_then(bare_address)),
            HeaderName::InReplyTo if mail.in_reply_to.len() < limits.max_references => {
                mail.in_reply_to.extend(message_ids(value));
                mail.in_reply_to.truncate(limits.max_references);
            }
            HeaderName::References => references.extend(message_ids(value)),
            HeaderName::Subject if mail.subject.is_empty() => {
                mail.subject = value.as_text().unwrap_or_default().trim().to_string();
            }
            HeaderName::AutoSubmitted if mail.auto_submitted.is_none() => {
                mail.auto_submitted = lowercase_text(value);
            }
            HeaderName::ListId | HeaderName::ListUnsubscribe | HeaderName::ListPost => {
                mail.mailing_list = true;
            }
            HeaderName::ReturnPath => {
                let raw = message
                    .raw_message
                    .get(header.offset_start as usize..header.offset_end as usize)
                    .unwrap_or_default();
                let compact: Vec<u8> = raw
                    .iter()
                    .copied()
                    .filter(|b| !b.is_ascii_whitespace())
                    .collect();
                mail.null_sender |= compact == b"<>";
            }
            HeaderName::Other(name) => match name.to_ascii_lowercase().as_str() {
                "x-original-to" => recipients.extend(value.as_text().and_then(bare_address)),
                "precedence" if mail.precedence.is_none() => {
                    mail.precedence = lowercase_text(value);
                }
                "x-autoreply" | "x-autorespond" | "x-auto-reply" => {
                    mail.auto_reply_headers = true;
                }
                _ => {}
            },
            _ => {}
        }
    }
    mail.recipients = recipients.into_vec();
    mail.references = keep_ends(references, limits.max_references);
    if !mail.from.as_deref().is_some_and(is_usable_sender) {
        return Err(Unusable::NoSender);
    }
    Ok(mail)
}

/// The bare lowercased addresses of an address header.
fn addresses(value: &HeaderValue<'_>) -> Vec<String> {
    value
        .as_address()
        .map(|address| {
            address
                .iter()
                .filter_map(|addr| addr.address())
                .map(|addr| addr.trim().to_lowercase())
                .filter(|addr| is_clean_address(addr))
                .collect()
        })
        .unwrap_or_default()
}

/// The message ids of an id header, without angle brackets.
fn message_ids(value: &HeaderValue<'_>) -> Vec<String> {
    let ids: &[Cow<'_, str>] = match value {
        HeaderValue::Text(id) => std::slice::from_ref(id),
        HeaderValue::TextList(ids) => ids,
        _ => &[],
    };
    ids.iter()
        .map(|id| {
            id.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .trim()
        })
        .filter(|id| !id.is_empty())
        .map(safe_message_id)
        .collect()
}

fn lowercase_text(value: &HeaderValue<'_>) -> Option<String> {
    value.as_text().map(|text| text.trim().to_lowercase())
}

/// The address in "Name <addr>", "<addr>" or "addr (comment)", lowercased.
fn bare_address(value: &str) -> Option<String> {
    let value = value.trim();
    let address = match (value.find('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        _ => value.split_whitespace().next().unwrap_or_default(),
    };
    let address = address.trim().to_lowercase();
    is_clean_address(&address).then_some(address)
}

/// Not empty, not absurdly long (RFC 5321: 254), and without NUL, control characters or
/// white space: such an address is refused where it comes in, never stored or answered.
fn is_clean_address(address: &str) -> bool {
    !address.is_empty()
        && address.len() <= 254
        && !address.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// Distinct recipients in header order, at most `max` of them; each is checked once (linear
/// in the number of addresses, however many the headers hold).
struct Recipients {
    seen: std::collections::HashSet<String>,
    list: Vec<String>,
    max: usize,
}

impl Recipients {
    fn new(max: usize) -> Recipients {
        Recipients {
            seen: std::collections::HashSet::new(),
            list: Vec::new(),
            max,
        }
    }

    fn into_vec(self) -> Vec<String> {
        self.list
    }
}

impl Extend<String> for Recipients {
    fn extend<I: IntoIterator<Item = String>>(&mut self, addresses: I) {
        for address in addresses {
            if self.list.len() >= self.max {
                return;
            }
            if self.seen.insert(address.clone()) {
                self.list.push(address);
            }
        }
    }
}

/// At most `max` ids: the first one (the thread's root) and the latest ones.
fn keep_ends(mut ids: Vec<String>, max: usize) -> Vec<String> {
    if ids.len() > max && max > 0 {
        ids.drain(1..ids.len() - (max - 1));
    }
    ids.truncate(max);
    ids
}

/// A message id as we keep it: itself when a header can carry it back, else a short hash of
/// it in message-id form (the same id always gives the same hash).
pub fn safe_message_id(id: &str) -> String {
    let printable = id.bytes().all(|b| (b'!'..=b'~').contains(&b));
    if printable && id.len() <= MAX_MESSAGE_ID {
        return id.to_string();
    }
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(id.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}@hashed.invalid")
}

/// An address with a local part and a domain, or a bare system mailbox.
fn is_usable_sender(address: &str) -> bool {
    match address.split_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty(),
        None => matches!(address, "mailer-daemon" | "postmaster"),
    }
}

fn first_token(value: &str) -> &str {
    value.split(';').next().unwrap_or_default().trim()
}

/// mailer-daemon, postmaster, and the no-reply family (noreply, no-reply, do_not_reply,
/// noreply-xyz, …).
fn is_system_sender(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or_default().to_lowercase();
    if local == "mailer-daemon" || local == "postmaster" {
        return true;
    }
    let squeezed: String = local
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .collect();
    squeezed.starts_with("noreply") || squeezed.starts_with("donotreply")
}

/// Subjects of out-of-office and automatic replies, Spanish and English.
fn is_out_of_office(subject: &str) -> bool {
    const PHRASES: &[&str] = &[
        "respuesta automatica",
        "respuesta automatizada",
        "fuera de la oficina",
        "fuera de oficina",
        "estoy de vacaciones",
        "out of office",
        "out of the office",
        "automatic reply",
        "auto-reply",
        "autoreply",
        "auto reply",
        "auto-response",
        "autoresponse",
        "vacation reply",
        "abwesenheitsnotiz",
    ];
    let subject = fold_accents(&subject.to_lowercase());
    subject.trim_start().starts_with("ausencia")
        || PHRASES.iter().any(|phrase| subject.contains(phrase))
}

fn fold_accents(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'á' | 'à' | 'ä' => 'a',
            'é' | 'è' | 'ë' => 'e',
            'í' | 'ì' | 'ï' => 'i',
            'ó' | 'ò' | 'ö' => 'o',
            'ú' | 'ù' | 'ü' => 'u',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests;
