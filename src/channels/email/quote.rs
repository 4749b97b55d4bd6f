//! Separates what a person just wrote in an e-mail reply from what their client added: the
//! quoted history (`>` lines, attribution lines such as "El … escribió:" / "On … wrote:",
//! Outlook's "De:/Enviado:/Para:/Asunto:" block, "-----Mensaje original-----"), signatures
//! ("-- ") and "sent from" lines ("Enviado desde mi iPhone", "Obtener Outlook para Android").
//!
//! Only line-start patterns count: a person's sentence that merely contains "De:" stays.
//! Patterns are matched against the lowercased line (the `regex` build here has no Unicode case
//! folding), so every pattern is written in lowercase; the language's patterns live in
//! `templates/es-MX/vocabulary.toml` (`[email.history]`).

use std::sync::LazyLock;

use regex::Regex;

use crate::conversation::vocabulary::{History, Vocabulary};

/// A reply cut in two.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Split {
    pub new: String,
    pub quoted: String,
}

/// Splits a reply into what the person just wrote and what was cut (quoted history, attribution
/// lines, signatures, "sent from" lines). `new` is trimmed (leading/trailing blank lines and
/// whitespace removed, inner lines kept); `quoted` keeps everything cut, in order, so nothing is
/// lost.
///
/// A reply that starts with the quoted history (bottom-posting) keeps the text written after
/// it. A signature or "sent from" line that would leave nothing, in a text without any quoted
/// history, is not a cut.
pub fn split_reply(text: &str) -> Split {
    let lines: Vec<&str> = text.lines().collect();
    let start = leading_quote_end(&lines).unwrap_or(0);
    let mut cut = first_cut(&lines, start);
    if let Some((at, Cut::Signature)) = cut
        && start == 0
        && is_blank(&lines[..at])
        && !has_history(&lines[at..])
    {
        cut = None;
    }
    let end = cut.map_or(lines.len(), |(at, _)| at);
    let mut quoted = trimmed_lines(&lines[..start]);
    let tail = trimmed_lines(&lines[end..]);
    if !quoted.is_empty() && !tail.is_empty() {
        quoted.push('\n');
    }
    quoted.push_str(&tail);
    Split {
        new: lines[start..end].join("\n").trim().to_string(),
        quoted,
    }
}

/// Why a text is cut at a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// Quoted history: `>` lines, an attribution, a header block, an "original message" rule.
    History,
    /// A signature separator or a "sent from" line.
    Signature,
}

/// A time such as "10:15": an attribution names the moment the answered message was sent.
static TIME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b\d{1,2}:\d{2}\b").expect("time"));
/// Outlook's rule above the header block.
static UNDERSCORES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^_{10,}$").expect("underscores pattern"));

/// The language's patterns: attribution, header block, "original message", "sent from".
fn patterns() -> &'static History {
    &Vocabulary::es_mx().history
}

/// How many lines an attribution's wrapped form may take.
const ATTRIBUTION_LINES: usize = 3;
/// How far below "De:" the other header fields are looked for.
const HEADER_WINDOW: usize = 8;

/// The end of a quoted block that opens the text (optionally after its attribution), when new
/// text follows it: a bottom-posted reply.
fn leading_quote_end(lines: &[&str]) -> Option<usize> {
    let mut at = next_filled(lines, 0)?;
    if let Some(len) = attribution_len(lines, at) {
        at = next_filled(lines, at + len)?;
    }
    if !is_quoted(lines[at]) {
        return None;
    }
    let mut end = at;
    for (i, line) in lines.iter().enumerate().skip(at) {
        if is_quoted(line) {
            end = i + 1;
        } else if !line.trim().is_empty() {
            break;
        }
    }
    next_filled(lines, end).map(|_| end)
}

/// The first line at or after `from` where the person's text ends, and why.
fn first_cut(lines: &[&str], from: usize) -> Option<(usize, Cut)> {
    (from..lines.len()).find_map(|at| cut_at(lines, at).map(|cut| (at, cut)))
}

fn cut_at(lines: &[&str], at: usize) -> Option<Cut> {
    let line = lines[at].trim();
    if line.is_empty() {
        return None;
    }
    let lower = line.to_lowercase();
    let history = is_quoted(line)
        || attribution_len(lines, at).is_some()
        || patterns().original_message.is_match(&lower)
        || header_block_at(lines, at)
        || (UNDERSCORES.is_match(&lower)
            && next_filled(lines, at + 1).is_some_and(|next| header_block_at(lines, next)))
        || introduces_quote(lines, at, &lower);
    if history {
        Some(Cut::History)
    } else if line == "--"
        || patterns()
            .sent_from
            .iter()
            .any(|sent| sent.is_match(&lower))
    {
        Some(Cut::Signature)
    } else {
        None
    }
}

/// Whether quoted history appears anywhere in `lines`.
fn has_history(lines: &[&str]) -> bool {
    (0..lines.len()).any(|at| cut_at(lines, at) == Some(Cut::History))
}

/// How many lines the attribution starting at `at` takes, when there is one. Wrapped
/// attributions are joined over consecutive non-blank lines; when a later line of the joined
/// ones is an attribution by itself, the attribution starts there instead (the lines above it
/// are the person's).
fn attribution_len(lines: &[&str], at: usize) -> Option<usize> {
    if !starts_attribution(lines.get(at)?) {
        return None;
    }
    for len in 1..=ATTRIBUTION_LINES {
        let window = lines.get(at..at + len)?;
        if window[1..]
            .iter()
            .any(|line| line.trim().is_empty() || is_quoted(line))
        {
            return None;
        }
        if is_attribution(window) {
            let starts_later =
                (1..len).any(|k| starts_attribution(window[k]) && is_attribution(&window[k..]));
            return (!starts_later).then_some(len);
        }
    }
    None
}

fn starts_attribution(line: &str) -> bool {
    let line = line.trim_start().to_lowercase();
    ["el ", "en ", "on "].iter().any(|p| line.starts_with(p))
}

/// Whether the lines, joined, read as an attribution naming an address or a time.
fn is_attribution(lines: &[&str]) -> bool {
    let joined = lines
        .iter()
        .map(|line| line.trim().to_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    patterns().attribution.is_match(&joined) && (joined.contains('@') || TIME.is_match(&joined))
}

/// Outlook's "De: …" followed within a few lines by at least two of its other fields.
fn header_block_at(lines: &[&str], at: usize) -> bool {
    let is_start = patterns()
        .header_start
        .is_match(&lines[at].trim().to_lowercase());
    is_start
        && lines[at + 1..]
            .iter()
            .take(HEADER_WINDOW)
            .filter(|line| {
                patterns()
                    .header_field
                    .is_match(&line.trim().to_lowercase())
            })
            .count()
            >= 2
}

/// Any other attribution: a line naming an address and ending in ':' right above a quote.
fn introduces_quote(lines: &[&str], at: usize, lower: &str) -> bool {
    lower.ends_with(':')
        && lower.contains('@')
        && next_filled(lines, at + 1).is_some_and(|next| is_quoted(lines[next]))
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

fn is_blank(lines: &[&str]) -> bool {
    lines.iter().all(|line| line.trim().is_empty())
}

/// The first non-blank line at or after `from`.
fn next_filled(lines: &[&str], from: usize) -> Option<usize> {
    (from..lines.len()).find(|&i| !lines[i].trim().is_empty())
}

/// The lines joined, without the blank lines around them.
fn trimmed_lines(lines: &[&str]) -> String {
    let Some(first) = next_filled(lines, 0) else {
        return String::new();
    };
    let last = (0..lines.len())
        .rev()
        .find(|&i| !lines[i].trim().is_empty())
        .unwrap_or(first);
    lines[first..=last].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, reply text, expected new text)
    const CASES: &[(&str, &str, &str)] = &[
        ("plain answer", "PEGL890909MJCRMS08", "PEGL890909MJCRMS08"),
        (
            "surrounding blank lines trimmed, inner kept",
            "\n\n  Sí\n\nJosé Núñez Peña  \n\n",
            "Sí\n\nJosé Núñez Peña",
        ),
        (
            "gmail spanish attribution",
            "Sí\n\nEl lun, 30 nov 2026 a las 10:15, Ventanilla <tramites+x@ventanilla.test> escribió:\n\n> ¿Es correcto?\n",
            "Sí",
        ),
        (
            "gmail attribution wrapped, address on the next line",
            "15 de marzo de 2015\n\nEl lun, 30 nov 2026 a las 10:15, Ventanilla (\n<tramites+x@ventanilla.test>) escribió:\n\n> ¿Cuándo te titulaste?\n",
            "15 de marzo de 2015",
        ),
        (
            "gmail attribution wrapped before escribió",
            "2\n\nEl lun, 30 nov 2026 a las 10:15, Ventanilla (<tramites+x@ventanilla.test>)\nescribió:\n>\n> 1. Licenciatura\n> 2. Maestría\n",
            "2",
        ),
        (
            "numeric date attribution",
            "Licenciatura\n\nEl 30/11/2026 a las 10:15, Ventanilla escribió:\n> ¿Qué nivel?",
            "Licenciatura",
        ),
        (
            "apple mail attribution",
            "Sí\n\nEl 30 nov 2026, a las 10:15, Ventanilla <tramites@ventanilla.test> escribió:\n\n> ¿Confirmas?",
            "Sí",
        ),
        (
            "english attribution",
            "Yes, that's right.\n\nOn Mon, Nov 30, 2026 at 10:15 AM Ventanilla <tramites@ventanilla.test> wrote:\n> Is this right?",
            "Yes, that's right.",
        ),
        (
            "english attribution wrapped",
            "PEGL890909MJCRMS08\n\nOn Mon, Nov 30, 2026 at 10:15 AM Ventanilla <\ntramites+abc@ventanilla.test> wrote:\n\n> What is your CURP?",
            "PEGL890909MJCRMS08",
        ),
        (
            "outlook block after underscores",
            "Sí, es correcto.\n\n________________________________\nDe: Ventanilla <tramites@ventanilla.test>\nEnviado: lunes, 30 de noviembre de 2026 10:15\nPara: José Núñez <jose@correo.test>\nAsunto: Tu trámite\n\n¿Confirmas tus datos?",
            "Sí, es correcto.",
        ),
        (
            "outlook desktop block without underscores, bold fields",
            "José Núñez Peña\n\n*De:* Ventanilla <tramites@ventanilla.test>\n*Enviado el:* lunes, 30 de noviembre de 2026 10:15 a. m.\n*Para:* jose@correo.test\n*Asunto:* RE: Tu trámite\n\n¿Cuál es tu nombre?",
            "José Núñez Peña",
        ),
        (
            "english outlook block",
            "2\n\n________________________________\nFrom: Ventanilla <tramites@ventanilla.test>\nSent: Monday, November 30, 2026 10:15 AM\nTo: luz@correo.test\nSubject: Your application\n\nChoose 1 or 2.",
            "2",
        ),
        (
            "mensaje original",
            "Sí\n\n-----Mensaje original-----\nDe: Ventanilla [mailto:tramites@ventanilla.test]\nEnviado el: lunes\n¿Confirmas?",
            "Sí",
        ),
        (
            "original message",
            "Yes\n-----Original Message-----\nFrom: Ventanilla\n",
            "Yes",
        ),
        (
            "top-posted quote without attribution",
            "Licenciatura\n> ¿Qué nivel de estudios?\n> 1. Licenciatura",
            "Licenciatura",
        ),
        (
            "bottom-posting keeps the text after the quote",
            "El lun, 30 nov 2026 a las 10:15, Ventanilla <tramites@ventanilla.test> escribió:\n> ¿Cuál es tu CURP?\n>\n> Escríbela completa.\n\nPEGL890909MJCRMS08\n",
            "PEGL890909MJCRMS08",
        ),
        (
            "bottom-posting without attribution, then a signature",
            "> ¿Confirmas?\n\nSí, confirmo.\n\n-- \nLuz Pérez",
            "Sí, confirmo.",
        ),
        (
            "signature separator",
            "15 de marzo de 2015\n\n-- \nJosé Núñez Peña\nTel. 33 1234 5678",
            "15 de marzo de 2015",
        ),
        ("bare double dash signature", "Sí\n--\nLuz", "Sí"),
        (
            "enviado desde mi iphone",
            "Sí\n\nEnviado desde mi iPhone\n\n> El 30 nov 2026, a las 10:15, Ventanilla <tramites@ventanilla.test> escribió:\n>\n> ¿Confirmas?",
            "Sí",
        ),
        (
            "enviado desde mi teléfono huawei",
            "2\n\nEnviado desde mi teléfono Huawei",
            "2",
        ),
        (
            "enviado desde mi samsung galaxy",
            "Licenciatura\n\nEnviado desde mi Samsung Galaxy S23 de Telcel.",
            "Licenciatura",
        ),
        (
            "obtener outlook para android",
            "Sí, acepto.\n\nObtener Outlook para Android<https://aka.ms/AAb9ysg>\n________________________________\nDe: Ventanilla <tramites@ventanilla.test>\nEnviado: lunes, 30 de noviembre de 2026 10:15:00 a. m.\nPara: luz@correo.test\nAsunto: Aviso",
            "Sí, acepto.",
        ),
        ("get outlook for ios", "Yes\n\nGet Outlook for iOS", "Yes"),
        (
            "enviado desde outlook and enviado con",
            "Maestría\n\nEnviado desde Outlook",
            "Maestría",
        ),
        (
            "enviado con proton",
            "No\n\nEnviado con el correo electrónico seguro de Proton Mail.",
            "No",
        ),
        (
            "sent from my iphone",
            "Yes please\n\nSent from my iPhone",
            "Yes please",
        ),
        (
            "De: in the middle of a line is kept",
            "Mi nombre es José. De: Guadalajara, Jalisco.\nPara: mí está bien así.",
            "Mi nombre es José. De: Guadalajara, Jalisco.\nPara: mí está bien así.",
        ),
        (
            "De: at line start without a header block is kept",
            "De: mi parte, todo correcto.\nGracias.",
            "De: mi parte, todo correcto.\nGracias.",
        ),
        (
            "a line starting with El right above the attribution is kept",
            "El título dice Licenciatura.\nEl lun, 30 nov 2026 a las 10:15, Ventanilla <tramites@ventanilla.test> escribió:\n> ¿Nivel?",
            "El título dice Licenciatura.",
        ),
        (
            "a sentence starting with El is kept",
            "El 15 de marzo de 2015 me titulé.\nEl título dice Licenciatura en Derecho.",
            "El 15 de marzo de 2015 me titulé.\nEl título dice Licenciatura en Derecho.",
        ),
        (
            "a signature alone is not cut",
            "-- \nJosé Núñez Peña",
            "-- \nJosé Núñez Peña",
        ),
        (
            "only quoted history leaves nothing",
            "> ¿Cuál es tu CURP?\n> Escríbela.",
            "",
        ),
        ("empty", "", ""),
        (
            "crlf input",
            "Sí\r\n\r\nEl lun, 30 nov 2026 a las 10:15, Ventanilla <tramites@ventanilla.test> escribió:\r\n> ¿Ok?\r\n",
            "Sí",
        ),
        (
            "generic attribution above a quote",
            "Sí\n\n2026-11-30 10:15 GMT-06:00 Ventanilla <tramites@ventanilla.test>:\n> ¿Confirmas?",
            "Sí",
        ),
        (
            "forwarded message",
            "Te reenvío esto.\n\n---------- Forwarded message ---------\nDe: Ventanilla <tramites@ventanilla.test>\nDate: lun, 30 nov 2026",
            "Te reenvío esto.",
        ),
    ];

    #[test]
    fn split_reply_cases() {
        assert!(CASES.len() >= 20);
        for (name, text, expected) in CASES {
            assert_eq!(split_reply(text).new, *expected, "case: {name}");
        }
    }

    #[test]
    fn quoted_keeps_everything_cut_in_order() {
        let split = split_reply(
            "El 30 nov 2026, a las 10:15, Ventanilla <t@v.test> escribió:\n> ¿CURP?\n\nPEGL890909MJCRMS08\n\n-- \nLuz",
        );
        assert_eq!(split.new, "PEGL890909MJCRMS08");
        assert_eq!(
            split.quoted,
            "El 30 nov 2026, a las 10:15, Ventanilla <t@v.test> escribió:\n> ¿CURP?\n-- \nLuz"
        );

        let split = split_reply(
            "Sí\n\n________________________________\nDe: A\nEnviado: hoy\nPara: B\n\nTexto",
        );
        assert_eq!(split.new, "Sí");
        assert_eq!(
            split.quoted,
            "________________________________\nDe: A\nEnviado: hoy\nPara: B\n\nTexto"
        );
    }

    #[test]
    fn text_without_markers_is_not_cut() {
        let text = "Licenciatura en Derecho\n\nJosé Núñez Peña";
        assert_eq!(
            split_reply(text),
            Split {
                new: text.to_string(),
                quoted: String::new()
            }
        );
    }
}
