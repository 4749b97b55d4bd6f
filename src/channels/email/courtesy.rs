//! The polite lines around an e-mail answer: a greeting that opens it ("Buenas tardes,",
//! "Hola Ventanilla:") and a sign-off that closes it ("Saludos cordiales,", a name, a phone
//! line). They are cut like the quoted history (and kept with it), so that the dialogue reads
//! the answer alone. The phrases come from the vocabulary (`[email]` in `vocabulary.toml`).
//!
//! Nothing is cut that would leave no answer: a reply that is only "Gracias" stays "Gracias".

use crate::conversation::vocabulary::{Phrase, Vocabulary};
use crate::domain::text::fold;

use super::quote::Split;

/// Lines looked at for a greeting at the top: a greeting is never further down.
const GREETING_LINES: usize = 3;
/// A line that starts with a sign-off phrase and has more words than this is a sentence of the
/// answer ("Gracias a su ayuda ya tengo mi llave: …"), not a sign-off.
const SIGN_OFF_WORDS: usize = 10;
/// Words of a name (or a title and a name) in a signature line or after a greeting.
const NAME_WORDS: usize = 5;

/// Splits what a person wrote (quotes already cut) into the answer and the courtesy around it.
/// `new` is the answer, trimmed; `quoted` the cut lines, in order.
pub fn strip(vocabulary: &Vocabulary, text: &str) -> Split {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept: Vec<String> = lines.iter().map(|line| line.to_string()).collect();
    let mut cut: Vec<String> = Vec::new();

    // The sign-off and everything after it (an answer remains above).
    if let Some((line, at)) = sign_off(vocabulary, &lines) {
        let above_on_line = lines[line][..at].trim_end().trim_end_matches([',', ';']);
        cut.push(lines[line][at..].to_string());
        cut.extend(lines[line + 1..].iter().map(|l| l.to_string()));
        kept.truncate(line);
        if !above_on_line.is_empty() {
            kept.push(above_on_line.to_string());
        }
    }

    // The greeting at the top.
    let mut opening: Vec<String> = Vec::new();
    for _ in 0..GREETING_LINES {
        let Some(first) = kept.iter().position(|line| has_words(line)) else {
            break;
        };
        let more_below = kept[first + 1..].iter().any(|line| has_words(line));
        match greeting_end(vocabulary, &kept[first], more_below) {
            Some(end) => {
                let line = kept[first].clone();
                let rest = line[end..].trim_start_matches([' ', ',', ':', '!', '.', ';']);
                if rest.trim().is_empty() && !more_below {
                    break;
                }
                opening.push(line[..end].to_string());
                if rest.trim().is_empty() {
                    kept.remove(first);
                } else {
                    kept[first] = rest.to_string();
                }
            }
            None => break,
        }
    }

    // A name and phone line left below the answer, once the greeting is gone (the answer
    // itself may be a name: a given name alone stays).
    strip_signature_block(vocabulary, &mut kept, &mut cut);

    let new = kept.join("\n").trim().to_string();
    if new.is_empty() {
        return Split {
            new: text.trim().to_string(),
            quoted: String::new(),
        };
    }
    let quoted = opening
        .into_iter()
        .chain(cut)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string();
    Split { new, quoted }
}

/// Words of a line with where each starts and ends in the line, folded.
fn words_at(line: &str) -> Vec<(usize, usize, String)> {
    let mut words = Vec::new();
    let mut start = None;
    for (at, c) in line
        .char_indices()
        .chain(std::iter::once((line.len(), ' ')))
    {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(at),
            (false, Some(from)) => {
                words.push((from, at, fold(&line[from..at])));
                start = None;
            }
            _ => {}
        }
    }
    words
}

fn has_words(line: &str) -> bool {
    line.chars().any(char::is_alphanumeric)
}

/// The longest of `phrases` that the words from `from` begin with: its length in words.
fn phrase_at(phrases: &[Phrase], words: &[(usize, usize, String)], from: usize) -> Option<usize> {
    phrases
        .iter()
        .filter(|phrase| {
            phrase.len() <= words.len() - from
                && phrase
                    .iter()
                    .zip(&words[from..])
                    .all(|(expected, (_, _, typed))| expected == typed)
        })
        .map(Vec::len)
        .max()
}

/// Where a greeting that opens `line` ends: after the greeting phrase, and after a name that
/// follows it up to a punctuation mark (a greeting, the addressee, a colon or comma). Without
/// a mark, the whole line is the greeting when more lines follow, else only the phrase is.
fn greeting_end(vocabulary: &Vocabulary, line: &str, more_below: bool) -> Option<usize> {
    let words = words_at(line);
    let length = phrase_at(&vocabulary.greetings, &words, 0)?;
    let phrase_end = words[length - 1].1;
    let rest = &line[phrase_end..];
    if let Some(mark) = rest.find([',', ':', '!', ';', '.']) {
        let named = &rest[..mark];
        let name_words = words_at(named);
        // The addressee: a short name, capitalised unless it is one word.
        let capitalised = name_words.len() <= 1
            || name_words.iter().all(|(from, _, _)| {
                named[*from..]
                    .chars()
                    .next()
                    .is_some_and(char::is_uppercase)
            });
        let is_name = name_words.len() <= NAME_WORDS
            && named.chars().all(|c| !c.is_ascii_digit())
            && capitalised;
        if is_name {
            return Some(phrase_end + mark + 1);
        }
        return Some(phrase_end);
    }
    let rest_words = words_at(rest);
    let short_name = rest_words.len() <= NAME_WORDS && !rest.chars().any(|c| c.is_ascii_digit());
    if more_below && short_name {
        return Some(line.len());
    }
    Some(phrase_end)
}

/// The first sign-off below some answer: (line, byte where it starts in the line). A sign-off
/// starts a line, or follows a punctuation mark on the line of the answer (the answer, a full
/// stop, the sign-off). One with nothing written above it is no sign-off: some greetings are
/// farewells too, and open the reply.
fn sign_off(vocabulary: &Vocabulary, lines: &[&str]) -> Option<(usize, usize)> {
    let mut answered = false;
    for (index, line) in lines.iter().enumerate() {
        let words = words_at(line);
        if words.is_empty() {
            continue;
        }
        let starts_line =
            words.len() <= SIGN_OFF_WORDS && phrase_at(&vocabulary.sign_offs, &words, 0).is_some();
        if answered && starts_line {
            return Some((index, words[0].0));
        }
        for from in 1..words.len() {
            let before = line[words[from - 1].1..words[from].0].trim();
            let after_mark = before.ends_with(['.', ',', '!', ';']);
            if after_mark
                && words.len() - from <= SIGN_OFF_WORDS
                && phrase_at(&vocabulary.sign_offs, &words, from).is_some()
            {
                return Some((index, words[from].0));
            }
        }
        answered = true;
    }
    None
}

/// A signature without a sign-off phrase: after a blank line below the answer, up to three
/// lines that are each a name (capitalised words, a title such as "Lic." among them) or a phone
/// number.
fn strip_signature_block(vocabulary: &Vocabulary, kept: &mut Vec<String>, cut: &mut Vec<String>) {
    let filled: Vec<usize> = (0..kept.len()).filter(|i| has_words(&kept[*i])).collect();
    let Some(&last) = filled.last() else {
        return;
    };
    let mut start = last + 1;
    for &index in filled.iter().rev().take(3) {
        if !(is_name_line(vocabulary, &kept[index]) || is_phone_line(&kept[index])) {
            break;
        }
        start = index;
    }
    // Something must remain above, separated by a blank line.
    let above_filled = filled.iter().any(|i| *i < start);
    let blank_before = start > 0 && kept[start - 1].trim().is_empty();
    if start > last || !above_filled || !blank_before {
        return;
    }
    cut.splice(0..0, kept.drain(start..));
}

fn is_name_line(vocabulary: &Vocabulary, line: &str) -> bool {
    let words = words_at(line);
    let capitalised = words.iter().all(|(from, _, folded)| {
        line[*from..].chars().next().is_some_and(char::is_uppercase)
            || vocabulary.name_particles.contains(folded)
    });
    (2..=NAME_WORDS).contains(&words.len())
        && capitalised
        && !line.chars().any(|c| c.is_ascii_digit())
        && line.trim().chars().count() <= 60
}

fn is_phone_line(line: &str) -> bool {
    let digits = line.chars().filter(char::is_ascii_digit).count();
    let letters = line.chars().filter(|c| c.is_alphabetic()).count();
    (8..=15).contains(&digits) && letters <= 12
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &str) -> String {
        strip(Vocabulary::es_mx(), text).new
    }

    #[test]
    fn greetings_and_sign_offs_are_cut() {
        let cases = [
            (
                "Buenas tardes,\n\n1\n\nSaludos cordiales,\nLuisa P\u{e9}rez",
                "1",
            ),
            ("1\n\nSaludos cordiales, Luisa P\u{e9}rez", "1"),
            (
                "Hola Ventanilla:\nS\u{ed}, acepto.\nGracias",
                "S\u{ed}, acepto.",
            ),
            ("Buen d\u{ed}a. Licenciatura", "Licenciatura"),
            ("Licenciatura. Saludos", "Licenciatura."),
            ("Hola, s\u{ed} acepto", "s\u{ed} acepto"),
            (
                "S\u{ed}\n\nAtentamente\nIng. Juan L\u{f3}pez\nTel. 55 1234 5678",
                "S\u{ed}",
            ),
            (
                "S\u{ed}, es correcto.\n\nJos\u{e9} N\u{fa}\u{f1}ez Pe\u{f1}a",
                "S\u{ed}, es correcto.",
            ),
            (
                "Estimados se\u{f1}ores:\n\nmi CURP es PEGL890909MJCRMS08\n\nMuchas gracias.",
                "mi CURP es PEGL890909MJCRMS08",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(answer(text), expected, "{text:?}");
        }
    }

    #[test]
    fn nothing_is_cut_that_would_leave_no_answer() {
        let cases = [
            ("Gracias", "Gracias"),
            ("Saludos", "Saludos"),
            ("Hola", "Hola"),
            (
                "Gracias a su ayuda ya tengo mi llave de pago que es 4AB7K93D2X y la env\u{ed}o",
                "Gracias a su ayuda ya tengo mi llave de pago que es 4AB7K93D2X y la env\u{ed}o",
            ),
            ("Luz Elena", "Luz Elena"),
            (
                "S\u{ed}\n\npero cambien mi correo",
                "S\u{ed}\n\npero cambien mi correo",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(answer(text), expected, "{text:?}");
        }
    }

    #[test]
    fn what_is_cut_is_kept() {
        let split = strip(Vocabulary::es_mx(), "Hola:\n2\nSaludos, Ana");
        assert_eq!(split.new, "2");
        assert_eq!(split.quoted, "Hola:\nSaludos, Ana");
    }
}
