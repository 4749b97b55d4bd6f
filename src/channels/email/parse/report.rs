//! Delivery-status reports (RFC 3464): which recipients failed and which of our messages came
//! back.

use mail_parser::{Message, MimeHeaders, PartType};

use super::body::content_type;
use super::{FailedRecipient, Limits, Report, bare_address, safe_message_id};

pub(super) fn report(message: &Message<'_>, limits: &Limits) -> Option<Report> {
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
pub(super) fn failed_recipients(status: &str) -> Vec<FailedRecipient> {
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
