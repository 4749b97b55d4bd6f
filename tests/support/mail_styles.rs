//! Raw e-mail replies written the way Gmail, Outlook and Apple Mail write them in Spanish, so
//! integration tests can answer Ventanilla as a person would. Only std: quoted-printable,
//! RFC 2047 and windows-1252 are encoded by hand (windows-1252 only for Spanish letters; any
//! other character becomes '?', or a numeric reference in HTML).
#![allow(dead_code)]

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The mail client whose reply style is imitated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Gmail,
    Outlook,
    AppleMail,
}

/// The message being answered.
pub struct Original<'a> {
    /// E.g. "Ventanilla <tramites@ventanilla.test>".
    pub from: &'a str,
    /// RFC 2822 date of the message answered, e.g. "Mon, 30 Nov 2026 10:15:00 -0600".
    pub date: &'a str,
    /// Its text.
    pub text: &'a str,
    /// Without `<>`.
    pub message_id: &'a str,
    /// Its References, without `<>`.
    pub references: &'a [String],
    pub subject: &'a str,
}

/// A raw RFC 5322 reply (CRLF) from `from` (e.g. "Luz Pérez <luz@correo.test>") to `to` (the
/// Reply-To of the original), written as `client` writes replies in Spanish: its attribution,
/// its way of quoting, its charset and transfer encoding, "RE: "/"Re: " before the subject,
/// In-Reply-To and References, and a fresh Message-ID `<{n}.{client}@correo.test>`.
pub fn reply(
    client: Client,
    from: &str,
    to: &str,
    new_text: &str,
    original: &Original<'_>,
) -> Vec<u8> {
    let date = Moment::parse(original.date)
        .unwrap_or_else(|| panic!("not an RFC 2822 date: {:?}", original.date));
    let n = next_number();
    let mut ids: Vec<&str> = original.references.iter().map(String::as_str).collect();
    ids.push(original.message_id);
    let charset = match client {
        Client::Outlook => Charset::Windows1252,
        Client::Gmail | Client::AppleMail => Charset::Utf8,
    };
    let prefix = match client {
        Client::Outlook => "RE: ",
        Client::Gmail | Client::AppleMail => "Re: ",
    };
    let subject = if original.subject.to_lowercase().starts_with("re:") {
        original.subject.to_string()
    } else {
        format!("{prefix}{}", original.subject)
    };
    let mut headers = Headers::default();
    match client {
        Client::Gmail => {
            headers.add("MIME-Version", "1.0");
            headers.add("References", &fold_ids(&ids));
            headers.add("In-Reply-To", &format!("<{}>", original.message_id));
            headers.add("From", &mailbox(from, charset));
            headers.add("Date", &now_rfc2822());
            headers.add("Message-ID", &format!("<{n}.gmail@correo.test>"));
            headers.add("Subject", &encode_words(&subject, charset));
            headers.add("To", to);
        }
        Client::Outlook => {
            headers.add("From", &mailbox(from, charset));
            headers.add("To", to);
            headers.add("Subject", &encode_words(&subject, charset));
            headers.add("Thread-Topic", &encode_words(original.subject, charset));
            headers.add("Thread-Index", "AQHbQ2x1c3Rh8k9ZVUG2m4m8Y0p5qQ==");
            headers.add("Date", &now_rfc2822());
            headers.add("Message-ID", &format!("<{n}.outlook@correo.test>"));
            headers.add("References", &fold_ids(&ids));
            headers.add("In-Reply-To", &format!("<{}>", original.message_id));
            headers.add("Accept-Language", "es-MX, en-US");
            headers.add("Content-Language", "es-MX");
            headers.add("X-MS-Has-Attach", "");
            headers.add("X-MS-TNEF-Correlator", "");
        }
        Client::AppleMail => {
            headers.add("Content-Type", "text/plain;\r\n\tcharset=utf-8");
            headers.add("Content-Transfer-Encoding", "quoted-printable");
            headers.add("From", &mailbox(from, charset));
            headers.add("Mime-Version", "1.0 (1.0)");
            headers.add("Date", &now_rfc2822());
            headers.add("Subject", &encode_words(&subject, charset));
            headers.add("Message-Id", &format!("<{n}.applemail@correo.test>"));
            headers.add("References", &fold_ids(&ids));
            headers.add("In-Reply-To", &format!("<{}>", original.message_id));
            headers.add("To", to);
            headers.add("X-Mailer", "iPhone Mail (22B91)");
        }
    }
    let body = match client {
        Client::Gmail => gmail_body(n, new_text, original, &date),
        Client::Outlook => outlook_body(n, from, new_text, original, &date),
        Client::AppleMail => {
            let attribution = format!(
                "El {} {} {}, a las {:02}:{:02}, {} escribió:",
                date.day,
                MONTHS_SHORT[date.month - 1],
                date.year,
                date.hour,
                date.minute,
                original.from
            );
            let text = format!(
                "{}\n\nEnviado desde mi iPhone\n\n{}\n",
                new_text,
                quote_lines(&format!("{attribution}\n\n{}", original.text), "> ", "> ")
            );
            quoted_printable(&charset.encode(&text))
        }
    };
    let mut raw = headers.0;
    if client != Client::AppleMail {
        raw.push_str(&format!(
            "Content-Type: multipart/alternative; boundary=\"{}\"\r\n",
            boundary(client, n)
        ));
    }
    raw.push_str("\r\n");
    raw.push_str(&body);
    raw.into_bytes()
}

fn gmail_body(n: u64, new_text: &str, original: &Original<'_>, date: &Moment) -> String {
    let (name, address) = split_mailbox(original.from);
    let who = match name {
        Some(name) => format!("{name} (<{address}>)"),
        None => format!("<{address}>"),
    };
    let attribution = format!(
        "El {}, {} {} {} a las {:02}:{:02}, {} escribió:",
        WEEKDAYS_SHORT[date.weekday()],
        date.day,
        MONTHS_SHORT[date.month - 1],
        date.year,
        date.hour,
        date.minute,
        who
    );
    let plain = format!(
        "{new_text}\n\n{}\n\n{}\n",
        wrap(&attribution, 76),
        quote_lines(original.text, "> ", ">")
    );
    let html = format!(
        "<div dir=\"ltr\">{}</div><br><div class=\"gmail_quote gmail_quote_container\"><div dir=\"ltr\" \
         class=\"gmail_attr\">{}<br></div><blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px \
         0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex\">{}</blockquote></div>\n",
        html_divs(new_text, Charset::Utf8),
        html_escape(&attribution, Charset::Utf8),
        html_divs(original.text, Charset::Utf8)
    );
    alternative(Client::Gmail, n, Charset::Utf8, &plain, &html)
}

fn outlook_body(
    n: u64,
    from: &str,
    new_text: &str,
    original: &Original<'_>,
    date: &Moment,
) -> String {
    let sent = format!(
        "{}, {} de {} de {} {:02}:{:02}",
        WEEKDAYS_LONG[date.weekday()],
        date.day,
        MONTHS_LONG[date.month - 1],
        date.year,
        date.hour,
        date.minute
    );
    let plain = format!(
        "{new_text}\n\n{}\nDe: {}\nEnviado: {sent}\nPara: {from}\nAsunto: {}\n\n{}\n",
        "_".repeat(32),
        original.from,
        original.subject,
        original.text
    );
    let cp = Charset::Windows1252;
    let html = format!(
        "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=Windows-1252\">\n\
         <style type=\"text/css\" style=\"display:none;\"> P {{margin-top:0;margin-bottom:0;}} </style>\n\
         </head>\n<body dir=\"ltr\">\n<div class=\"elementToProof\" style=\"font-family: Aptos, Calibri, \
         Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);\">\n{}</div>\n\
         <div id=\"appendonsend\"></div>\n<hr style=\"display:inline-block;width:98%\" tabindex=\"-1\">\n\
         <div id=\"divRplyFwdMsg\" dir=\"ltr\"><font face=\"Calibri, sans-serif\" style=\"font-size:11pt\" \
         color=\"#000000\"><b>De:</b> {}<br>\n<b>Enviado:</b> {}<br>\n<b>Para:</b> {}<br>\n\
         <b>Asunto:</b> {}</font>\n<div>&nbsp;</div>\n</div>\n<div>{}</div>\n</body>\n</html>\n",
        html_lines(new_text, cp),
        html_escape(original.from, cp),
        html_escape(&sent, cp),
        html_escape(from, cp),
        html_escape(original.subject, cp),
        html_lines(original.text, cp)
    );
    alternative(Client::Outlook, n, cp, &plain, &html)
}

/// A multipart/alternative body: the text part, then the HTML part, both quoted-printable.
fn alternative(client: Client, n: u64, charset: Charset, plain: &str, html: &str) -> String {
    let boundary = boundary(client, n);
    let name = charset.name();
    format!(
        "--{boundary}\r\nContent-Type: text/plain; charset=\"{name}\"\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n\
         --{boundary}\r\nContent-Type: text/html; charset=\"{name}\"\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n--{boundary}--\r\n",
        quoted_printable(&charset.encode(plain)),
        quoted_printable(&charset.encode(html))
    )
}

fn boundary(client: Client, n: u64) -> String {
    match client {
        Client::Gmail => format!("000000000000{n:016x}"),
        Client::Outlook => format!("_000_{n}OUTLOOKnamp_"),
        Client::AppleMail => format!("Apple-Mail-{n}"),
    }
}

/// Header lines, CRLF-terminated.
#[derive(Default)]
struct Headers(String);

impl Headers {
    fn add(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            let _ = write!(self.0, "{name}:\r\n");
        } else {
            let _ = write!(self.0, "{name}: {value}\r\n");
        }
    }
}

/// A process-wide unique number: the current time in milliseconds and a counter.
fn next_number() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seq = COUNTER.fetch_add(1, Ordering::Relaxed) % 1000;
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    millis * 1000 + seq
}

/// Message ids in angle brackets, folded before a line would pass 78 characters.
fn fold_ids(ids: &[&str]) -> String {
    let mut out = String::new();
    let mut line = "References: ".len();
    for id in ids {
        let id = format!("<{id}>");
        if !out.is_empty() && line + 1 + id.len() > 78 {
            out.push_str("\r\n ");
            line = 1;
        } else if !out.is_empty() {
            out.push(' ');
            line += 1;
        }
        line += id.len();
        out.push_str(&id);
    }
    out
}

/// "Name <addr>" with the name RFC 2047-encoded when needed.
fn mailbox(mailbox: &str, charset: Charset) -> String {
    match split_mailbox(mailbox) {
        (Some(name), address) if name.is_ascii() => {
            if name.contains(|c: char| "()<>[]:;@\\,.\"".contains(c)) {
                format!(
                    "\"{}\" <{address}>",
                    name.replace('\\', "\\\\").replace('"', "\\\"")
                )
            } else {
                format!("{name} <{address}>")
            }
        }
        (Some(name), address) => format!("{} <{address}>", encode_words(name, charset)),
        (None, address) => address.to_string(),
    }
}

/// The display name (unquoted) and the address of "Name <addr>" or "addr".
fn split_mailbox(mailbox: &str) -> (Option<&str>, &str) {
    match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(open), Some(close)) if open < close => {
            let name = mailbox[..open].trim().trim_matches('"').trim();
            (
                (!name.is_empty()).then_some(name),
                mailbox[open + 1..close].trim(),
            )
        }
        _ => (None, mailbox.trim()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Charset {
    Utf8,
    Windows1252,
}

impl Charset {
    fn name(self) -> &'static str {
        match self {
            Charset::Utf8 => "UTF-8",
            Charset::Windows1252 => "Windows-1252",
        }
    }

    fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Charset::Utf8 => text.as_bytes().to_vec(),
            Charset::Windows1252 => text
                .chars()
                .map(|c| windows_1252(c).unwrap_or(b'?'))
                .collect(),
        }
    }

    fn encode_char(self, c: char) -> Vec<u8> {
        self.encode(c.encode_utf8(&mut [0; 4]))
    }
}

/// ASCII and the Spanish letters and marks in windows-1252 (they share Latin-1's code points).
fn windows_1252(c: char) -> Option<u8> {
    match c {
        c if c.is_ascii() => Some(c as u8),
        'á' | 'é' | 'í' | 'ó' | 'ú' | 'ñ' | 'Á' | 'É' | 'Í' | 'Ó' | 'Ú' | 'Ñ' | 'ü' | 'Ü' | '¿'
        | '¡' => Some(c as u32 as u8),
        _ => None,
    }
}

/// Quoted-printable (RFC 2045) of text with LF or CRLF line ends: CRLF hard breaks, soft
/// breaks keeping lines within 76 characters.
fn quoted_printable(bytes: &[u8]) -> String {
    let text_lines = bytes.split(|&b| b == b'\n');
    let mut out = Vec::new();
    for line in text_lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut encoded = String::new();
        let mut width = 0;
        for (i, &b) in line.iter().enumerate() {
            let last = i + 1 == line.len();
            let token = match b {
                b' ' | b'\t' if !last => (b as char).to_string(),
                33..=60 | 62..=126 => (b as char).to_string(),
                _ => format!("={b:02X}"),
            };
            if width + token.len() > 75 {
                encoded.push_str("=\r\n");
                width = 0;
            }
            width += token.len();
            encoded.push_str(&token);
        }
        out.push(encoded);
    }
    out.join("\r\n")
}

/// RFC 2047 encoded words (Q encoding) when the text is not plain ASCII; each word within 64
/// characters (so a header name and the first word fit in 76), a character never split between
/// two words.
fn encode_words(text: &str, charset: Charset) -> String {
    if text.is_ascii() && !text.contains("=?") {
        return text.to_string();
    }
    let open = format!("=?{}?Q?", charset.name());
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        let mut token = String::new();
        for b in charset.encode_char(c) {
            match b {
                b' ' => token.push('_'),
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'!' | b'*' | b'+' | b'-' | b'/' => {
                    token.push(b as char)
                }
                _ => {
                    let _ = write!(token, "={b:02X}");
                }
            }
        }
        if !word.is_empty() && open.len() + word.len() + token.len() + 2 > 64 {
            words.push(std::mem::take(&mut word));
        }
        word.push_str(&token);
    }
    words.push(word);
    words
        .iter()
        .map(|word| format!("{open}{word}?="))
        .collect::<Vec<_>>()
        .join("\r\n ")
}

/// Each line with `prefix`, or `empty` when the line is blank.
fn quote_lines(text: &str, prefix: &str, empty: &str) -> String {
    text.lines()
        .map(|line| {
            if line.is_empty() {
                empty.to_string()
            } else {
                format!("{prefix}{line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Breaks a line at the last space that keeps the first part within `width` characters.
fn wrap(line: &str, width: usize) -> String {
    if line.chars().count() <= width {
        return line.to_string();
    }
    let cut = line
        .char_indices()
        .take_while(|&(i, _)| line[..i].chars().count() <= width)
        .filter(|&(_, c)| c == ' ')
        .map(|(i, _)| i)
        .last();
    match cut {
        Some(at) => format!("{}\n{}", &line[..at], wrap(&line[at + 1..], width)),
        None => line.to_string(),
    }
}

fn html_escape(text: &str, charset: Charset) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if charset == Charset::Windows1252 && windows_1252(c).is_none() => {
                let _ = write!(out, "&#{};", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Gmail's HTML: a `<div>` a line, `<div><br></div>` for a blank one.
fn html_divs(text: &str, charset: Charset) -> String {
    text.lines()
        .map(|line| match line {
            "" => "<div><br></div>".to_string(),
            line => format!("<div>{}</div>", html_escape(line, charset)),
        })
        .collect()
}

/// Outlook's HTML: lines separated by `<br>`.
fn html_lines(text: &str, charset: Charset) -> String {
    text.lines()
        .map(|line| html_escape(line, charset))
        .collect::<Vec<_>>()
        .join("<br>\n")
}

const WEEKDAYS_SHORT: [&str; 7] = ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"];
const WEEKDAYS_LONG: [&str; 7] = [
    "lunes",
    "martes",
    "miércoles",
    "jueves",
    "viernes",
    "sábado",
    "domingo",
];
const MONTHS_SHORT: [&str; 12] = [
    "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic",
];
const MONTHS_LONG: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];
const MONTHS_EN: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS_EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// A date and time as written in an RFC 2822 Date header (its zone is kept as written).
struct Moment {
    year: i64,
    month: usize,
    day: u32,
    hour: u32,
    minute: u32,
}

impl Moment {
    /// "Mon, 30 Nov 2026 10:15:00 -0600" (the weekday is optional).
    fn parse(date: &str) -> Option<Moment> {
        let mut tokens = date.split_whitespace().peekable();
        if tokens.peek()?.ends_with(',') {
            tokens.next();
        }
        let day = tokens.next()?.parse().ok()?;
        let month = tokens.next()?.to_ascii_lowercase();
        let month = MONTHS_EN.iter().position(|m| month.starts_with(m))? + 1;
        let year = tokens.next()?.parse().ok()?;
        let mut time = tokens.next()?.split(':');
        let hour = time.next()?.parse().ok()?;
        let minute = time.next()?.parse().ok()?;
        Some(Moment {
            year,
            month,
            day,
            hour,
            minute,
        })
    }

    /// 0 for Monday.
    fn weekday(&self) -> usize {
        let days = days_from_civil(self.year, self.month as i64, i64::from(self.day));
        // 1970-01-01 was a Thursday.
        (days + 3).rem_euclid(7) as usize
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The current time as an RFC 2822 date in UTC.
fn now_rfc2822() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let weekday = (days + 3).rem_euclid(7) as usize;
    let month_name = MONTHS_EN[month as usize - 1];
    let month_name = format!(
        "{}{}",
        month_name[..1].to_ascii_uppercase(),
        &month_name[1..]
    );
    format!(
        "{}, {day} {month_name} {year} {:02}:{:02}:{:02} +0000",
        WEEKDAYS_EN[weekday],
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}
