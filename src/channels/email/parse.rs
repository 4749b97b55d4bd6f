//! Reading inbound e-mail: raw RFC 5322 bytes become a [`Mail`], and [`classify`] decides
//! whether it is a person's message to answer, an automatic one to ignore, or a bounce.
//!
//! This is the only module that knows mail-parser, so an upgrade stays here. mail-parser does
//! the MIME structure, transfer encodings, charsets and RFC 2047 words; this module picks the
//! body (undoing `format=flowed`), turns HTML into text itself (mail-parser's conversion only
//! breaks lines at `<br>` and `</p>`, and drops blockquotes), and reads delivery-status fields.

use std::borrow::Cow;

use mail_parser::{
    HeaderName, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};

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

/// The body: the first text/plain body part, else the first text/html one.
fn body_part<'a>(message: &'a Message<'a>) -> Option<(usize, &'a MessagePart<'a>)> {
    let find = |ids: &[u32], html: bool| {
        ids.iter().find_map(|&id| {
            let part = message.parts.get(id as usize)?;
            match part.body {
                PartType::Text(_) if !html => Some((id as usize, part)),
                PartType::Html(_) if html => Some((id as usize, part)),
                _ => None,
            }
        })
    };
    find(&message.text_body, false).or_else(|| find(&message.html_body, true))
}

fn body_text((_, part): (usize, &MessagePart<'_>), limits: &Limits) -> String {
    match &part.body {
        PartType::Text(text) => {
            let text = normalize_newlines(text);
            let attribute = |name: &str| {
                part.content_type()
                    .and_then(|ct| ct.attribute(name))
                    .map(str::to_ascii_lowercase)
            };
            if attribute("format").as_deref() == Some("flowed") {
                unflow(
                    &text,
                    attribute("delsp").as_deref() == Some("yes"),
                    limits.max_quote_depth,
                )
            } else {
                text
            }
        }
        PartType::Html(html) => html_to_text(&normalize_newlines(html), limits),
        _ => String::new(),
    }
}

fn normalize_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Joins the soft line breaks of `format=flowed` text (RFC 3676), keeping quote depth.
fn unflow(text: &str, delsp: bool, max_depth: usize) -> String {
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut continued = false;
    for line in text.split('\n') {
        let depth = line.bytes().take_while(|&b| b == b'>').count();
        let content = &line[depth..];
        let content = content.strip_prefix(' ').unwrap_or(content);
        let flowed = content.ends_with(' ') && content != "-- ";
        let piece = if flowed && delsp {
            &content[..content.len() - 1]
        } else {
            content
        };
        match lines.last_mut() {
            Some((last_depth, last)) if continued && *last_depth == depth => last.push_str(piece),
            _ => lines.push((depth, piece.to_string())),
        }
        continued = flowed;
    }
    lines
        .into_iter()
        .map(|(depth, content)| {
            let depth = depth.min(max_depth.max(1));
            let content = if content == "-- " {
                content.as_str()
            } else {
                content.trim_end()
            };
            match depth {
                0 => content.to_string(),
                _ if content.is_empty() => ">".repeat(depth),
                _ => format!("{} {content}", ">".repeat(depth)),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every leaf part that is an attachment, the body excepted.
fn attachments(message: &Message<'_>, body: Option<usize>, limits: &Limits) -> Vec<Attachment> {
    message
        .parts
        .iter()
        .enumerate()
        .filter(|&(id, part)| Some(id) != body && !matches!(part.body, PartType::Multipart(_)))
        .filter_map(|(_, part)| {
            let content_type = content_type(part);
            let name = part.attachment_name().map(str::to_string);
            let disposed = part
                .content_disposition()
                .is_some_and(|disposition| disposition.is_attachment());
            (name.is_some() || disposed || !content_type.starts_with("text/")).then(|| Attachment {
                name,
                content_type,
                size: part.len(),
            })
        })
        .take(limits.max_attachments)
        .collect()
}

/// The lowercased "type/subtype" of a part; text/plain when absent.
fn content_type(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(subtype) => format!("{}/{}", ct.ctype(), subtype).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        },
        None => "text/plain".to_string(),
    }
}

fn report(message: &Message<'_>, limits: &Limits) -> Option<Report> {
    let root = message.root_part().content_type()?;
    let is_report = root.ctype().eq_ignore_ascii_case("multipart")
        && root
            .subtype()
            .is_some_and(|subtype| subtype.eq_ignore_ascii_case("report"));
    if !is_report {
        return None;
    }
    let report_type = root
        .attribute("report-type")
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let failed = message
        .parts
        .iter()
        .find(|part| {
            matches!(
                content_type(part).as_str(),
                "message/delivery-status" | "message/global-delivery-status"
            )
        })
        .map(|part| failed_recipients(&String::from_utf8_lossy(bounded(part.contents()))))
        .unwrap_or_default()
        .into_iter()
        .take(limits.max_attachments)
        .collect();
    Some(Report {
        report_type,
        failed,
        original_ids: original_ids(message),
    })
}

/// At most the first 64 KiB of a part: what a report's fields need.
fn bounded(contents: &[u8]) -> &[u8] {
    &contents[..contents.len().min(64 * 1024)]
}

/// The Message-ID of the message a report returns: from a `message/rfc822` part (parsed as a
/// nested message) or a `text/rfc822-headers` part (read as header lines).
fn original_ids(message: &Message<'_>) -> Vec<String> {
    let mut ids = Vec::new();
    for part in message.parts.iter().skip(1) {
        match &part.body {
            PartType::Message(returned) => {
                ids.extend(returned.message_id().map(|id| safe_message_id(id.trim())));
            }
            _ if content_type(part) == "text/rfc822-headers" => {
                let headers = String::from_utf8_lossy(bounded(part.contents()));
                let mut lines = headers.lines().peekable();
                while let Some(line) = lines.next() {
                    let Some((name, value)) = line.split_once(':') else {
                        continue;
                    };
                    if !name.trim().eq_ignore_ascii_case("message-id") {
                        continue;
                    }
                    let mut value = value.trim().to_string();
                    while lines
                        .peek()
                        .is_some_and(|next| next.starts_with([' ', '\t']))
                    {
                        value.push_str(lines.next().unwrap_or_default().trim());
                    }
                    let id = value.trim().trim_start_matches('<').trim_end_matches('>');
                    if !id.is_empty() {
                        ids.push(safe_message_id(id));
                    }
                }
            }
            _ => {}
        }
        if ids.len() >= 4 {
            break;
        }
    }
    ids
}

/// The per-recipient blocks of a delivery-status body whose Action is "failed". Fields are
/// case-insensitive, blocks are separated by blank lines, and folded lines are joined.
fn failed_recipients(status: &str) -> Vec<FailedRecipient> {
    let mut failed = Vec::new();
    let mut block: Vec<(String, String)> = Vec::new();
    for line in status.lines().chain([""]) {
        if line.trim().is_empty() {
            failed.extend(failed_recipient(&block));
            block.clear();
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = block.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            block.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    failed
}

fn failed_recipient(block: &[(String, String)]) -> Option<FailedRecipient> {
    let field = |name: &str| {
        block
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    };
    if !field("action").is_some_and(|action| first_word(action).eq_ignore_ascii_case("failed")) {
        return None;
    }
    let recipient = field("final-recipient").or_else(|| field("original-recipient"))?;
    let address = recipient
        .split_once(';')
        .map_or(recipient, |(_, address)| address);
    let address = bare_address(address)?;
    Some(FailedRecipient {
        address,
        status: field("status").map(|status| first_word(status).to_string()),
        diagnostic: field("diagnostic-code").map(str::to_string),
    })
}

fn first_word(value: &str) -> &str {
    value.split_whitespace().next().unwrap_or_default()
}

/// HTML as the text a person reads: block elements and `<br>` end lines, `<blockquote>`
/// becomes `>` quoting, `<hr>` becomes Outlook's line of underscores, entities are decoded and
/// head, style and script are dropped.
fn html_to_text(html: &str, limits: &Limits) -> String {
    let lower = html.to_ascii_lowercase();
    let mut text = TextWriter {
        max_depth: limits.max_quote_depth,
        // Room for the tidying to remove; the caller cuts to the exact cap.
        max_len: limits.max_text_bytes.saturating_add(1024),
        ..TextWriter::default()
    };
    let mut at = 0;
    while at < html.len() && !text.full() {
        let rest = &html[at..];
        if rest.starts_with("<!--") {
            at = lower[at + 4..]
                .find("-->")
                .map_or(html.len(), |end| at + 4 + end + 3);
        } else if let Some(tag) = Tag::read(rest) {
            at += tag.len;
            if !tag.closing && SKIPPED.contains(&tag.name.as_str()) {
                let close = format!("</{}", tag.name);
                at = lower[at..]
                    .find(&close)
                    .and_then(|start| {
                        lower[at + start..]
                            .find('>')
                            .map(|end| at + start + end + 1)
                    })
                    .unwrap_or(html.len());
                continue;
            }
            text.tag(&tag);
        } else if rest.starts_with('&') {
            let (decoded, len) = entity(rest);
            text.push(decoded);
            at += len;
        } else {
            let c = rest.chars().next().unwrap_or_default();
            if text.pre && c == '\n' {
                text.newline();
            } else if c.is_whitespace() && c != '\u{a0}' && !text.pre {
                text.space();
            } else {
                text.push(c);
            }
            at += c.len_utf8();
        }
    }
    tidy(&text.out)
}

/// Elements whose content is never shown.
const SKIPPED: &[&str] = &["head", "style", "script", "title", "template"];
/// Elements that begin and end a line.
const BLOCKS: &[&str] = &[
    "p", "div", "li", "ul", "ol", "tr", "table", "tbody", "thead", "tfoot", "h1", "h2", "h3", "h4",
    "h5", "h6", "pre", "section", "article", "header", "footer", "address", "center", "dl", "dt",
    "dd", "form", "body", "html",
];

struct Tag {
    name: String,
    closing: bool,
    len: usize,
}

impl Tag {
    /// A tag at the start of `input`: '<', an optional '/', a letter; up to the '>' outside
    /// quotes (or the end of the input).
    fn read(input: &str) -> Option<Tag> {
        let rest = input.strip_prefix('<')?;
        let (closing, rest) = match rest.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, rest),
        };
        if !rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '!' || c == '?') {
            return None;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == ':')
            .collect::<String>()
            .to_ascii_lowercase();
        let mut quote = None;
        let mut len = input.len();
        for (i, c) in input.char_indices().skip(1) {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '>') => {
                    len = i + 1;
                    break;
                }
                _ => {}
            }
        }
        Some(Tag { name, closing, len })
    }
}

/// Writes text with `>` quoting; never more than `max_len` bytes, never deeper than
/// `max_depth` markers on a line (however deep the markup nests).
#[derive(Default)]
struct TextWriter {
    out: String,
    depth: usize,
    max_depth: usize,
    max_len: usize,
    at_line_start: bool,
    pending_space: bool,
    pre: bool,
    started: bool,
}

impl TextWriter {
    fn full(&self) -> bool {
        self.out.len() >= self.max_len
    }

    /// The quote markers of a line: one per level, up to the cap.
    fn markers(&self) -> usize {
        self.depth.min(self.max_depth.max(1))
    }

    fn tag(&mut self, tag: &Tag) {
        match tag.name.as_str() {
            "br" => self.newline(),
            "hr" => {
                self.line_break();
                (0..32).for_each(|_| self.push('_'));
                self.newline();
            }
            "blockquote" => {
                self.line_break();
                self.depth = if tag.closing {
                    self.depth.saturating_sub(1)
                } else {
                    self.depth + 1
                };
            }
            "td" | "th" => self.space(),
            name if BLOCKS.contains(&name) => {
                self.line_break();
                if name == "pre" {
                    self.pre = !tag.closing;
                }
            }
            _ => {}
        }
    }

    fn push(&mut self, c: char) {
        if !self.started || self.at_line_start {
            self.started = true;
            self.at_line_start = false;
            if self.depth > 0 {
                (0..self.markers()).for_each(|_| self.out.push('>'));
                self.out.push(' ');
            }
        } else if self.pending_space {
            self.out.push(' ');
        }
        self.pending_space = false;
        self.out.push(c);
    }

    fn space(&mut self) {
        self.pending_space = true;
    }

    /// Ends the current line, leaving an empty one when the line had nothing.
    fn newline(&mut self) {
        if (!self.started || self.at_line_start) && self.depth > 0 {
            (0..self.markers()).for_each(|_| self.out.push('>'));
        }
        self.out.push('\n');
        self.started = true;
        self.at_line_start = true;
        self.pending_space = false;
    }

    /// Ends the current line unless nothing was written on it.
    fn line_break(&mut self) {
        if self.started && !self.at_line_start {
            self.newline();
        }
        self.pending_space = false;
    }
}

/// Decodes the entity at the start of `input` ("&amp;", "&#243;", "&#xF3;"), returning the
/// character and how many bytes it took; a lone '&' stays itself.
fn entity(input: &str) -> (char, usize) {
    let end = input
        .char_indices()
        .take(12)
        .find(|&(_, c)| c == ';')
        .map(|(i, _)| i);
    let decoded = end.and_then(|end| {
        let name = &input[1..end];
        let c = match name.strip_prefix('#') {
            Some(code) => match code.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => code.parse().ok(),
            }
            .map(|code| char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)),
            None => named_entity(name),
        }?;
        Some((c, end + 1))
    });
    decoded.unwrap_or(('&', 1))
}

fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "aacute" => 'á',
        "eacute" => 'é',
        "iacute" => 'í',
        "oacute" => 'ó',
        "uacute" => 'ú',
        "Aacute" => 'Á',
        "Eacute" => 'É',
        "Iacute" => 'Í',
        "Oacute" => 'Ó',
        "Uacute" => 'Ú',
        "ntilde" => 'ñ',
        "Ntilde" => 'Ñ',
        "uuml" => 'ü',
        "Uuml" => 'Ü',
        "iquest" => '¿',
        "iexcl" => '¡',
        "agrave" => 'à',
        "egrave" => 'è',
        "ograve" => 'ò',
        "ccedil" => 'ç',
        "laquo" => '«',
        "raquo" => '»',
        "ldquo" => '“',
        "rdquo" => '”',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "bull" => '•',
        "middot" => '·',
        "deg" => '°',
        "ordm" => 'º',
        "ordf" => 'ª',
        "copy" => '©',
        "reg" => '®',
        "euro" => '€',
        _ => return None,
    })
}

/// Non-breaking spaces become spaces, lines lose trailing spaces, runs of blank lines become
/// one, and the text loses its surrounding blank lines.
fn tidy(text: &str) -> String {
    let text = text.replace('\u{a0}', " ");
    let mut out: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim_end) {
        let blank = line.is_empty() || line.chars().all(|c| c == '>');
        let previous_blank = out
            .last()
            .is_none_or(|last: &&str| last.is_empty() || last.chars().all(|c| c == '>'));
        if !(blank && previous_blank) {
            out.push(line);
        }
    }
    while out
        .last()
        .is_some_and(|last| last.is_empty() || last.chars().all(|c| c == '>'))
    {
        out.pop();
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::super::quote::split_reply;
    use super::*;

    use std::collections::BTreeMap;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mail");

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Expected {
        new_text: String,
        disposition: String,
        from: String,
        subject: Option<String>,
        attachments: Option<usize>,
        message_id: Option<String>,
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn expectations() -> BTreeMap<String, Expected> {
        let text =
            std::fs::read_to_string(format!("{FIXTURES}/expected.toml")).expect("expected.toml");
        toml::from_str(&text).expect("expected.toml parses")
    }

    fn fixture_names() -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(FIXTURES)
            .expect("fixtures directory")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name.ends_with(".eml"))
            .collect();
        names.sort();
        names
    }

    fn disposition_label(disposition: &Disposition) -> String {
        match disposition {
            Disposition::Answer => "answer".to_string(),
            Disposition::Ignore(reason) => format!("ignore:{reason}"),
            Disposition::Bounce(failed) => {
                let addresses: Vec<&str> = failed.iter().map(|f| f.address.as_str()).collect();
                format!("bounce:{}", addresses.join(","))
            }
        }
    }

    #[test]
    fn every_fixture_matches_expected_toml() {
        let expected = expectations();
        let names = fixture_names();
        assert!(names.len() >= 10, "fixtures: {names:?}");
        for name in &names {
            let want = expected
                .get(name)
                .unwrap_or_else(|| panic!("{name} is missing from expected.toml"));
            let mail = parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                split_reply(&mail.text).new,
                want.new_text,
                "{name}: new text"
            );
            assert_eq!(
                disposition_label(&classify(&mail)),
                want.disposition,
                "{name}"
            );
            assert_eq!(
                mail.from.as_deref(),
                Some(want.from.as_str()),
                "{name}: from"
            );
            if let Some(subject) = &want.subject {
                assert_eq!(&mail.subject, subject, "{name}: subject");
            }
            if let Some(count) = want.attachments {
                assert_eq!(mail.attachments.len(), count, "{name}: attachments");
            }
            if let Some(id) = &want.message_id {
                assert_eq!(mail.message_id.as_ref(), Some(id), "{name}: message id");
            }
            let headers = parse_headers(&fixture(name)).expect("headers parse");
            assert_eq!(headers.from, mail.from, "{name}: headers-only from");
            assert_eq!(
                headers.subject, mail.subject,
                "{name}: headers-only subject"
            );
            assert!(headers.text.is_empty() && headers.attachments.is_empty());
            assert_eq!(headers.report, None);
        }
        for name in expected.keys() {
            assert!(names.contains(name), "expected.toml names a missing {name}");
        }
    }

    #[test]
    fn gmail_reply_headers() {
        let mail = parse(&fixture("gmail_es.eml")).expect("parses");
        assert_eq!(
            mail.message_id.as_deref(),
            Some("CAHk3xQ7vN2pLr8dYz+Q1w9s@mail.gmail.com")
        );
        assert_eq!(mail.in_reply_to, ["20261130161500.a1b2c3@ventanilla.test"]);
        assert_eq!(
            mail.references,
            [
                "20261130160000.0f0e0d@ventanilla.test",
                "20261130161500.a1b2c3@ventanilla.test"
            ]
        );
        assert_eq!(mail.recipients, ["tramites+k7q2m@ventanilla.test"]);
        assert!(mail.text.contains("> ¿Cuál es tu CURP?"), "{}", mail.text);
    }

    #[test]
    fn windows_1252_and_iso_8859_1_accents_decode() {
        let outlook = parse(&fixture("outlook_es.eml")).expect("parses");
        assert!(outlook.text.contains("José Núñez Peña"), "{}", outlook.text);
        assert_eq!(
            outlook.subject,
            "RE: Tu trámite de cédula: confirma tus datos"
        );
        let latin1 = parse(&fixture("latin1_mensaje_original.eml")).expect("parses");
        assert!(latin1.text.contains("Núñez"), "{}", latin1.text);
        assert!(latin1.text.contains("¿"), "{}", latin1.text);
    }

    #[test]
    fn html_only_body_becomes_text_with_quotes() {
        let mail = parse(&fixture("html_only.eml")).expect("parses");
        assert!(
            mail.text.contains("\n> ¿Qué nivel de estudios concluiste?"),
            "{}",
            mail.text
        );
        assert_eq!(
            html_to_text(
                "<html><head><style>p{}</style></head><body><div>Hola &amp; adi&oacute;s</div>\
                 <div><br></div><div>Luz&nbsp;P&#233;rez</div><blockquote><p>Uno</p><p>Dos</p>\
                 </blockquote><hr><p>x &lt; y</p></body></html>",
                &Limits::default()
            ),
            "Hola & adiós\n\nLuz Pérez\n> Uno\n> Dos\n________________________________\nx < y"
        );
    }

    #[test]
    fn html_alternatives_split_like_their_plain_text() {
        for name in [
            "gmail_es.eml",
            "outlook_es.eml",
            "outlook_android.eml",
            "pdf_attachment.eml",
        ] {
            let raw = fixture(name);
            let message = MessageParser::new().parse(&raw).expect("parses");
            let html = message
                .html_body
                .iter()
                .find_map(|&id| match &message.parts[id as usize].body {
                    PartType::Html(html) => Some(html_to_text(html, &Limits::default())),
                    _ => None,
                })
                .expect("an html part");
            let plain = parse(&raw).expect("parses").text;
            assert_eq!(
                split_reply(&html).new,
                split_reply(&plain).new,
                "{name}:\n{html}"
            );
        }
    }

    #[test]
    fn flowed_text_is_joined() {
        assert_eq!(
            unflow("Uno dos \ntres\n> cita \n> larga\n-- \nFirma", false, 8),
            "Uno dos tres\n> cita larga\n-- \nFirma"
        );
        assert_eq!(unflow("Uno-\u{20}\ndos", true, 8), "Uno-dos");
    }

    #[test]
    fn bounce_names_the_failed_recipient() {
        let mail = parse(&fixture("dsn_failed.eml")).expect("parses");
        assert_eq!(
            mail.report,
            Some(Report {
                report_type: "delivery-status".to_string(),
                failed: vec![FailedRecipient {
                    address: "nadie@correo.test".to_string(),
                    status: Some("5.1.1".to_string()),
                    diagnostic: Some(
                        "x-unix; user unknown. Command output: Invalid user specified.".to_string()
                    ),
                }],
                original_ids: vec!["20261130161600.b7k2q@ventanilla.test".to_string()],
            })
        );
    }

    #[test]
    fn delivery_status_fields_are_read_loosely() {
        let status = "Reporting-MTA: dns; mx.test\r\n\r\nfinal-recipient: RFC822;\r\n <Ana@Correo.Test>\r\nACTION: Failed\r\nStatus: 5.2.2 (mailbox full)\r\nDiagnostic-Code: smtp; 552 5.2.2\r\n Mailbox full\r\n\r\nOriginal-Recipient: rfc822;beto@correo.test\r\nAction: delayed\r\n\r\nOriginal-Recipient: rfc822;carla@correo.test\r\nAction: failed\r\n";
        assert_eq!(
            failed_recipients(status),
            [
                FailedRecipient {
                    address: "ana@correo.test".to_string(),
                    status: Some("5.2.2".to_string()),
                    diagnostic: Some("smtp; 552 5.2.2 Mailbox full".to_string()),
                },
                FailedRecipient {
                    address: "carla@correo.test".to_string(),
                    status: None,
                    diagnostic: None,
                },
            ]
        );
    }

    #[test]
    fn classify_rules_in_order() {
        let person = Mail {
            from: Some("luz@correo.test".to_string()),
            ..Mail::default()
        };
        assert_eq!(classify(&person), Disposition::Answer);
        let with = |change: fn(&mut Mail)| {
            let mut mail = person.clone();
            change(&mut mail);
            classify(&mail)
        };
        assert_eq!(
            with(|m| m.auto_submitted = Some("no".into())),
            Disposition::Answer
        );
        assert_eq!(
            with(|m| m.auto_submitted = Some("auto-generated".into())),
            Disposition::Ignore("auto_submitted")
        );
        assert_eq!(
            with(|m| m.precedence = Some("bulk".into())),
            Disposition::Ignore("precedence")
        );
        assert_eq!(
            with(|m| m.precedence = Some("first-class".into())),
            Disposition::Answer
        );
        assert_eq!(
            with(|m| m.null_sender = true),
            Disposition::Ignore("null_sender")
        );
        assert_eq!(
            with(|m| m.auto_reply_headers = true),
            Disposition::Ignore("auto_reply")
        );
        assert_eq!(
            with(|m| {
                m.report = Some(Report {
                    report_type: "delivery-status".into(),
                    failed: Vec::new(),
                    original_ids: Vec::new(),
                })
            }),
            Disposition::Ignore("delivery_report")
        );
        for sender in [
            "MAILER-DAEMON@mx.test",
            "postmaster@correo.test",
            "noreply@banco.test",
            "no-reply@x.test",
            "no_reply@x.test",
            "donotreply@x.test",
            "do-not-reply@x.test",
            "do_not_reply@x.test",
            "noreply-avisos@x.test",
        ] {
            let mut mail = person.clone();
            mail.from = Some(sender.to_lowercase());
            assert_eq!(
                classify(&mail),
                Disposition::Ignore("system_sender"),
                "{sender}"
            );
        }
        for subject in [
            "Respuesta automática: Tu trámite",
            "Respuesta automatica: Tu trámite",
            "Fuera de la oficina: Tu trámite",
            "Fuera de oficina",
            "Ausencia",
            "Estoy de vacaciones",
            "Out of Office: Your application",
            "Out of the office",
            "Automatic reply: Tu trámite",
            "Auto-reply",
            "Autoreply: hola",
            "Auto reply",
            "Vacation reply",
            "Abwesenheitsnotiz: Tu trámite",
        ] {
            let mut mail = person.clone();
            mail.subject = subject.to_string();
            assert_eq!(
                classify(&mail),
                Disposition::Ignore("out_of_office"),
                "{subject}"
            );
        }
        let mut mail = person.clone();
        mail.subject = "RE: Tu trámite: ¿cuándo te titulaste?".to_string();
        assert_eq!(classify(&mail), Disposition::Answer);
    }

    #[test]
    fn unusable_messages() {
        assert_eq!(parse(b""), Err(Unusable::Empty));
        assert_eq!(parse(b" \r\n\r\n"), Err(Unusable::Empty));
        assert_eq!(parse_headers(b""), Err(Unusable::Empty));
        assert_eq!(
            parse(b"Subject: hola\r\nTo: a@b.test\r\n\r\nSin remitente\r\n"),
            Err(Unusable::NoSender)
        );
        assert_eq!(
            parse(b"From: Luz P\xc3\xa9rez\r\n\r\nSin direcci\xc3\xb3n\r\n"),
            Err(Unusable::NoSender)
        );
        let mail = parse(b"From: Luz <LUZ@Correo.Test>\r\n\r\nHola\r\n").expect("parses");
        assert_eq!(mail.from.as_deref(), Some("luz@correo.test"));
        assert_eq!(mail.text, "Hola\n");
    }

    #[test]
    fn recipients_come_from_all_destination_headers() {
        let raw = b"Delivered-To: tramites+a1@ventanilla.test\r\n\
            X-Original-To: Tramites+A1@ventanilla.test\r\n\
            Return-Path: < >\r\n\
            From: luz@correo.test\r\n\
            To: Ventanilla <tramites@ventanilla.test>, otra@correo.test\r\n\
            Cc: \"P\xc3\xa9rez, Luz\" <luz@correo.test>\r\n\
            Subject: =?iso-8859-1?Q?Re:_tr=E1mite?=\r\n\
            Auto-Submitted:  No \r\n\
            \r\n\
            Hola\r\n";
        let mail = parse(raw).expect("parses");
        assert_eq!(
            mail.recipients,
            [
                "tramites+a1@ventanilla.test",
                "tramites@ventanilla.test",
                "otra@correo.test",
                "luz@correo.test"
            ]
        );
        assert!(mail.null_sender);
        assert_eq!(mail.subject, "Re: trámite");
        assert_eq!(mail.auto_submitted.as_deref(), Some("no"));
    }

    /// A fixed linear congruential generator: the same "random" bytes on every run.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
    }

    fn exercise(raw: &[u8]) {
        if let Ok(mail) = parse(raw) {
            let _ = classify(&mail);
            let _ = split_reply(&mail.text);
        }
        let _ = parse_headers(raw);
    }

    #[test]
    fn never_panics_on_truncated_or_garbage_input() {
        for name in fixture_names() {
            let raw = fixture(&name);
            for end in 0..=raw.len() {
                exercise(&raw[..end]);
            }
        }
        let mut lcg = Lcg(0x5EED);
        let alphabet = b"<>:;=?\r\n \t-abcXYZ@\"/\\boundary_";
        for round in 0..2000 {
            let len = (lcg.next() % 600) as usize;
            let raw: Vec<u8> = (0..len)
                .map(|_| {
                    let n = lcg.next();
                    if round % 2 == 0 {
                        n as u8
                    } else {
                        alphabet[n as usize % alphabet.len()]
                    }
                })
                .collect();
            exercise(&raw);
        }
        for name in fixture_names() {
            let mut raw = fixture(&name);
            for _ in 0..200 {
                let at = lcg.next() as usize % raw.len();
                raw[at] = lcg.next() as u8;
                exercise(&raw);
            }
        }
    }

    /// A message with the given extra header lines and body.
    fn message(headers: &str, content_type: &str, body: &str) -> Vec<u8> {
        format!(
            "From: luz@correo.test\r\nTo: tramites@ventanilla.test\r\nSubject: Re: x\r\n\
             Message-ID: <m1@correo.test>\r\n{headers}MIME-Version: 1.0\r\n\
             Content-Type: {content_type}\r\n\r\n{body}\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn nested_blockquotes_cost_a_bounded_text() {
        // Today's failure: each level repeats '>' on every line below it, so 20,000 levels of a
        // few hundred KiB became ~1 GB of text.
        let depth = 20_000;
        let html = format!(
            "<p>1</p>{}{}",
            "<blockquote>cita<br>".repeat(depth),
            "</blockquote>".repeat(depth)
        );
        let limits = Limits::default();
        let mail = parse(&message("", "text/html; charset=utf-8", &html)).expect("parses");
        assert!(
            mail.text.len() <= limits.max_text_bytes,
            "{}",
            mail.text.len()
        );
        assert!(mail.text.starts_with('1'), "{}", &mail.text[..40]);
        let deepest = mail
            .text
            .lines()
            .map(|line| line.bytes().take_while(|&b| b == b'>').count())
            .max()
            .unwrap();
        assert_eq!(deepest, limits.max_quote_depth);
        // The plain-text path, too: flowed lines quoted 100,000 deep.
        let deep = format!("Hola\r\n{} cita\r\n", ">".repeat(100_000));
        let mail = parse(&message("", "text/plain; format=flowed", &deep)).expect("parses");
        assert!(
            mail.text.lines().all(|l| l.len() < 100),
            "{}",
            mail.text.len()
        );
    }

    #[test]
    fn the_text_is_cut_at_its_cap_on_a_character_boundary() {
        let limits = Limits {
            max_text_bytes: 1001,
            ..Limits::default()
        };
        let body = "ñ".repeat(5000);
        let raw = message("", "text/plain; charset=utf-8", &body);
        let mail = parse_with(&raw, &limits).expect("parses");
        assert!(mail.text_truncated);
        assert_eq!(mail.text.len(), 1000);
        assert!(!parse(&raw).unwrap().text_truncated);
    }

    #[test]
    fn an_oversized_header_block_is_read_up_to_its_cap_only() {
        let limits = Limits::default();
        let filler = format!("X-Filler: {}\r\n", "a".repeat(70));
        let headers = filler.repeat(limits.max_header_bytes / filler.len() + 10);
        let raw = message(&headers, "text/plain", "PEGL890909MJCRMS08");
        let mail = parse(&raw).expect("the start of the headers still names the sender");
        assert!(mail.headers_truncated);
        assert!(mail.text.is_empty(), "the body is not read");
        assert_eq!(mail.from.as_deref(), Some("luz@correo.test"));
        // A normal message is not affected, with LF or CRLF line ends.
        let normal = message("", "text/plain", "hola");
        assert!(!parse(&normal).unwrap().headers_truncated);
        let lf = String::from_utf8(normal).unwrap().replace("\r\n", "\n");
        assert!(!parse(lf.as_bytes()).unwrap().headers_truncated);
        assert_eq!(parse(lf.as_bytes()).unwrap().text.trim(), "hola");
    }

    #[test]
    fn recipients_and_references_are_capped_and_deduplicated_linearly() {
        // 500,000 recipients took 214 s of CPU with a quadratic de-duplication.
        let mut recipients = Recipients::new(100);
        recipients.extend((0..500_000).map(|i| format!("r{}@correo.test", i % 7)));
        recipients.extend((0..500_000).map(|i| format!("s{i}@correo.test")));
        let list = recipients.into_vec();
        assert_eq!(list.len(), 100);
        assert_eq!(
            list[..7],
            (0..7)
                .map(|i| format!("r{i}@correo.test"))
                .collect::<Vec<_>>()[..]
        );

        let limits = Limits::default();
        let to: Vec<String> = (0..300).map(|i| format!("p{i}@correo.test")).collect();
        let ids: Vec<String> = (0..300).map(|i| format!("<id{i}@correo.test>")).collect();
        let headers = format!("Cc: {}\r\nReferences: {}\r\n", to.join(", "), ids.join(" "));
        let mail = parse(&message(&headers, "text/plain", "hola")).expect("parses");
        assert_eq!(mail.recipients.len(), limits.max_recipients);
        assert_eq!(mail.references.len(), limits.max_references);
        assert_eq!(
            mail.references[0], "id0@correo.test",
            "the thread's root stays"
        );
        assert_eq!(mail.references.last().unwrap(), "id299@correo.test");
    }

    #[test]
    fn a_message_of_thousands_of_parts_is_read_from_its_headers_only() {
        let parts = "--b\r\nContent-Type: application/x-a; name=a\r\n\r\nx\r\n".repeat(5000);
        let raw = message(
            "",
            "multipart/mixed; boundary=\"b\"",
            &format!("{parts}--b--"),
        );
        let mail = parse(&raw).expect("parses");
        assert!(mail.too_many_parts);
        assert!(mail.attachments.is_empty());
        let few = "--b\r\nContent-Type: application/x-a; name=a\r\n\r\nx\r\n".repeat(3);
        let raw = message(
            "",
            "multipart/mixed; boundary=\"b\"",
            &format!("{few}--b--"),
        );
        let mail = parse(&raw).expect("parses");
        assert!(!mail.too_many_parts);
        assert_eq!(mail.attachments.len(), 3);
    }

    #[test]
    fn overlong_or_unprintable_message_ids_are_replaced_by_their_hash() {
        let long = format!("{}@correo.test", "a".repeat(1200));
        let raw = message("", "text/plain", "hola");
        let raw = String::from_utf8(raw).unwrap().replace(
            "<m1@correo.test>",
            &format!("<{long}>\r\nIn-Reply-To: <{long}>"),
        );
        let mail = parse(raw.as_bytes()).expect("parses");
        let id = mail.message_id.unwrap();
        assert!(id.len() < 64 && id.ends_with("@hashed.invalid"), "{id}");
        assert_eq!(mail.in_reply_to, std::slice::from_ref(&id));
        assert_eq!(
            safe_message_id(&long),
            id,
            "the same id gives the same hash"
        );
        assert_eq!(safe_message_id("a1@b.test"), "a1@b.test");
        assert_ne!(safe_message_id("a\u{7}b@c.test"), "a\u{7}b@c.test");
    }

    #[test]
    fn control_characters_in_addresses_are_refused() {
        for from in [
            "luz\u{0}@correo.test",
            "luz@correo.test\u{1b}",
            "l uz@correo.test",
        ] {
            let raw = format!(
                "From: <{from}>\r\nTo: tramites@ventanilla.test\r\nSubject: x\r\n\r\nhola\r\n"
            );
            assert_eq!(parse(raw.as_bytes()), Err(Unusable::NoSender), "{from:?}");
        }
        let raw = "From: luz@correo.test\r\nTo: <a\u{0}b@correo.test>, ok@correo.test\r\n\
                   Delivered-To: x\u{7}@ventanilla.test\r\nSubject: x\r\n\r\nhola\r\n";
        assert_eq!(
            parse(raw.as_bytes()).unwrap().recipients,
            ["ok@correo.test"]
        );
    }

    #[test]
    fn a_report_returns_the_message_id_of_what_bounced() {
        let mail = parse(&fixture("dsn_delayed.eml")).expect("parses");
        assert_eq!(
            mail.report.unwrap().original_ids,
            ["20261130161600.n3m4b@ventanilla.test"]
        );
    }
}
