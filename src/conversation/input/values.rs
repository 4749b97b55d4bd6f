//! A value of one kind written inside a sentence ("Mi CURP es …").

use super::{SENTENCE_WORDS, clean};

/// What a search for one kind of value inside a message found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found<T> {
    Nothing,
    One(T),
    /// Different values of the kind: the person is asked which one.
    Several(Vec<T>),
}

/// The values of one kind written inside a sentence ("Mi CURP es PEGL890909MJCRMS08", "mi
/// correo es luz@ejemplo.mx."): every word that `parse` accepts, and runs of up to `join`
/// words written apart ("PEGL 890909 MJCRMS08") whose every word `joinable` admits, read
/// together. Words are what lies between spaces and the punctuation around a sentence's
/// words (commas, quotes, brackets, question marks, a final full stop); each value once.
pub fn find_values<T: PartialEq>(
    input: &str,
    join: usize,
    joinable: impl Fn(&str) -> bool,
    parse: impl Fn(&str) -> Option<T>,
) -> Found<T> {
    let cleaned = clean(input);
    let pieces: Vec<&str> = cleaned
        .split(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    ',' | ';'
                        | '('
                        | ')'
                        | '['
                        | ']'
                        | '{'
                        | '}'
                        | '<'
                        | '>'
                        | '"'
                        | '\''
                        | '\u{ab}'
                        | '\u{bb}'
                        | '\u{201c}'
                        | '\u{201d}'
                        | '\u{2018}'
                        | '\u{2019}'
                        | '\u{bf}'
                        | '?'
                        | '\u{a1}'
                        | '!'
                        | '*'
                )
        })
        .map(|piece| piece.trim_end_matches(['.', ':']).trim_start_matches(':'))
        .filter(|piece| !piece.is_empty())
        .take(SENTENCE_WORDS)
        .collect();
    let mut found: Vec<T> = Vec::new();
    let mut at = 0;
    'words: while at < pieces.len() {
        for length in 1..=join.min(pieces.len() - at) {
            let run = &pieces[at..at + length];
            if length > 1 && !run.iter().all(|piece| joinable(piece)) {
                break;
            }
            if let Some(value) = parse(&run.concat()) {
                if !found.contains(&value) {
                    found.push(value);
                }
                at += length;
                continue 'words;
            }
        }
        at += 1;
    }
    let mut found = found.into_iter();
    match (found.next(), found.next()) {
        (None, _) => Found::Nothing,
        (Some(one), None) => Found::One(one),
        (Some(first), Some(second)) => {
            Found::Several([first, second].into_iter().chain(found).collect())
        }
    }
}
