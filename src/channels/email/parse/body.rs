//! The body a person wrote: the text/plain part (with `format=flowed` undone) or the HTML one
//! as text, and the parts that are attachments.

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

use super::html::html_to_text;
use super::{Attachment, Limits};

/// The body: the first text/plain body part, else the first text/html one.
pub(super) fn body_part<'a>(message: &'a Message<'a>) -> Option<(usize, &'a MessagePart<'a>)> {
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

pub(super) fn body_text((_, part): (usize, &MessagePart<'_>), limits: &Limits) -> String {
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
pub(super) fn unflow(text: &str, delsp: bool, max_depth: usize) -> String {
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
pub(super) fn attachments(
    message: &Message<'_>,
    body: Option<usize>,
    limits: &Limits,
) -> Vec<Attachment> {
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
pub(super) fn content_type(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(subtype) => format!("{}/{}", ct.ctype(), subtype).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        },
        None => "text/plain".to_string(),
    }
}
