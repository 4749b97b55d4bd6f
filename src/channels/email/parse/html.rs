//! HTML as the text a person reads (mail-parser's own conversion breaks lines only at `<br>`
//! and `</p>` and drops blockquotes).

use super::Limits;

/// HTML as the text a person reads: block elements and `<br>` end lines, `<blockquote>`
/// becomes `>` quoting, `<hr>` becomes Outlook's line of underscores, entities are decoded and
/// head, style and script are dropped.
pub(super) fn html_to_text(html: &str, limits: &Limits) -> String {
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
