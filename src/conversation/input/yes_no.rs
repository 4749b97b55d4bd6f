//! Yes and no, as people type them: words, phrases, emoji, repeated letters.

use crate::conversation::vocabulary::{Phrase, Vocabulary, squeeze};
use crate::domain::text::fold;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Polarity {
    Yes,
    No,
    /// Politeness that changes nothing: "no, gracias", "si por favor".
    Neutral,
}

/// Emoji that people send as an answer, mapped to the word they stand for.
fn emoji_answer(vocabulary: &Vocabulary, c: char) -> Option<Polarity> {
    if vocabulary.emoji_yes.contains(&c) {
        Some(Polarity::Yes)
    } else if vocabulary.emoji_no.contains(&c) {
        Some(Polarity::No)
    } else {
        None
    }
}

/// Reads a yes or a no: `Some(true)` for yes, `Some(false)` for no, `None` when the message is
/// not clearly one of them (mixed "si no", an unknown word, nothing at all), so the question is
/// asked again.
///
/// Case, accents, punctuation and repeated letters ("siii", "nooo") are ignored; the thumbs
/// emoji and check marks count as answers.
/// Only phrases of the vocabulary count, and a message is read only when they cover it entirely,
/// so "no se" (I don't know) or "si pero..." stay unanswered.
pub fn parse_yes_no(vocabulary: &Vocabulary, input: &str) -> Option<bool> {
    let (mut yes, mut no) = (false, false);
    let mut tokens: Vec<String> = Vec::new();
    let mut current = String::new();
    for c in fold(input).chars() {
        if c.is_alphanumeric() {
            current.push(c);
            continue;
        }
        if !current.is_empty() {
            tokens.push(squeeze(&std::mem::take(&mut current)));
        }
        match emoji_answer(vocabulary, c) {
            Some(Polarity::Yes) => yes = true,
            Some(Polarity::No) => no = true,
            _ => {}
        }
    }
    if !current.is_empty() {
        tokens.push(squeeze(&current));
    }

    let lists = [
        (&vocabulary.yes, Polarity::Yes),
        (&vocabulary.no, Polarity::No),
        (&vocabulary.neutral, Polarity::Neutral),
    ];
    let (said_yes, said_no) = cover(&lists, &tokens)?;
    match (yes || said_yes, no || said_no) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// Whether the vocabulary's phrases cover `tokens` entirely, one after another, and if so
/// whether a yes and a no were among them. Tried from every position once (memoised), longest
/// phrase first, so "si, son correctos" is "si" + "son correctos" although "si son" is a phrase
/// too; the work stays linear in the number of words.
fn cover(lists: &[(&Vec<Phrase>, Polarity)], tokens: &[String]) -> Option<(bool, bool)> {
    // memo[i]: the covering of tokens[i..], once known (None inside: none exists).
    let mut memo: Vec<Option<Option<(bool, bool)>>> = vec![None; tokens.len() + 1];
    memo[tokens.len()] = Some(Some((false, false)));
    for at in (0..tokens.len()).rev() {
        let mut candidates: Vec<(usize, Polarity)> = lists
            .iter()
            .flat_map(|(phrases, polarity)| phrases.iter().map(move |p| (p, *polarity)))
            .filter(|(phrase, _)| phrase_matches(phrase, &tokens[at..]))
            .map(|(phrase, polarity)| (phrase.len(), polarity))
            .collect();
        candidates.sort_by_key(|(length, _)| std::cmp::Reverse(*length));
        memo[at] = Some(candidates.into_iter().find_map(|(length, polarity)| {
            let (yes, no) = memo[at + length].flatten()?;
            Some(match polarity {
                Polarity::Yes => (true, no),
                Polarity::No => (yes, true),
                Polarity::Neutral => (yes, no),
            })
        }));
    }
    memo[0].flatten()
}

/// Whether `tokens` starts with `phrase`; both have their repeated letters squeezed already
/// ("siii" = "si", "okk" = "ok").
fn phrase_matches(phrase: &Phrase, tokens: &[String]) -> bool {
    phrase.len() <= tokens.len() && phrase.iter().zip(tokens).all(|(a, b)| a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v() -> &'static Vocabulary {
        Vocabulary::es_mx()
    }

    // Accented test inputs are written with escapes, per the house rule on string literals:
    // \u{e1} a-acute, \u{e9} e-acute, \u{ed} i-acute, \u{f3} o-acute, \u{c1} A-acute,
    // \u{cd} I-acute, \u{b0} degree sign, \u{ba} ordinal indicator.

    #[test]
    fn parse_yes_no_reads_yes() {
        let cases = [
            ("plain si", "si"),
            ("si with accent", "s\u{ed}"),
            ("upper case", "SI"),
            ("upper case with accent", "S\u{cd}"),
            ("trailing full stop", "si."),
            ("exclamation", "s\u{ed}!"),
            ("Spanish exclamation marks", "\u{a1}S\u{ed}!"),
            ("si, claro", "S\u{ed}, claro"),
            ("claro", "claro"),
            ("claro que si", "claro que s\u{ed}"),
            ("ok", "ok"),
            ("OK upper case", "OK"),
            ("okay", "okay"),
            ("va", "va"),
            ("dale", "Dale"),
            ("de acuerdo", "de acuerdo"),
            ("estoy de acuerdo", "Estoy de acuerdo."),
            ("acepto", "acepto"),
            ("si acepto", "s\u{ed}, acepto"),
            ("correcto", "correcto"),
            ("es correcto", "es correcto"),
            ("afirmativo", "afirmativo"),
            ("single s", "s"),
            ("single y", "y"),
            ("yes", "yes"),
            ("Yes upper case", "YES"),
            ("repeated letters", "siii"),
            ("repeated letters and accent", "s\u{ed}\u{ed}\u{ed}"),
            ("with thanks", "si, gracias"),
            ("with please", "si por favor"),
            ("thumbs up", "\u{1F44D}"),
            ("thumbs up with skin tone", "\u{1F44D}\u{1F3FD}"),
            ("si and a smiley", "si \u{1F60A}"),
            ("said twice", "si si"),
            ("simon", "sim\u{f3}n"),
            ("surrounding spaces", "   si   "),
            ("por supuesto", "por supuesto"),
            ("esta bien", "est\u{e1} bien"),
        ];
        for (description, input) in cases {
            assert_eq!(
                parse_yes_no(v(), input),
                Some(true),
                "{description}: {input:?}"
            );
        }
    }

    #[test]
    fn parse_yes_no_reads_no() {
        let cases = [
            ("plain no", "no"),
            ("upper case", "NO"),
            ("trailing full stop", "No."),
            ("single n", "n"),
            ("nop", "nop"),
            ("nel", "nel"),
            ("no acepto", "no acepto"),
            ("negativo", "negativo"),
            ("incorrecto", "incorrecto"),
            ("no es correcto", "no es correcto"),
            ("no estoy de acuerdo", "no estoy de acuerdo"),
            ("claro que no", "claro que no"),
            ("no gracias", "no, gracias"),
            ("repeated letters", "nooo"),
            ("said three times", "no no no"),
            ("thumbs down", "\u{1F44E}"),
            ("para nada", "para nada"),
        ];
        for (description, input) in cases {
            assert_eq!(
                parse_yes_no(v(), input),
                Some(false),
                "{description}: {input:?}"
            );
        }
    }

    #[test]
    fn parse_yes_no_is_none_when_unclear() {
        let cases = [
            ("empty", ""),
            ("spaces", "   "),
            ("si no is ambiguous", "si no"),
            ("no si is ambiguous", "no, s\u{ed}"),
            ("no se means I don't know", "no s\u{e9}"),
            ("sino is another word", "sino"),
            ("a condition after yes", "si pero antes una pregunta"),
            ("a question", "\u{bf}qu\u{e9}?"),
            ("a number", "1"),
            ("only thanks", "gracias"),
            ("an unrelated word", "maestr\u{ed}a"),
            ("thumbs up and down", "\u{1F44D}\u{1F44E}"),
            ("emoji without meaning", "\u{1F914}"),
            ("not sure", "tal vez"),
            ("yes no in English", "yes no"),
            ("claro followed by no", "claro, no"),
        ];
        for (description, input) in cases {
            assert_eq!(parse_yes_no(v(), input), None, "{description}: {input:?}");
        }
    }
}
