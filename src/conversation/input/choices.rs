//! A pick among the options shown: by number, id, label, alias, spoken number or prefix; and
//! an option named inside a sentence.

use crate::conversation::vocabulary::{Vocabulary, phrase as words, squash};
use crate::domain::text::fold;

use super::{SENTENCE_WORDS, clean};

/// One option offered to the person, as shown: `label` is what they read, `id` what a button
/// (Telegram's callback data) or a script sends back, `aliases` the other names people give it
/// (squashed, see [`squash`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChoiceRef<'a> {
    /// Stable identifier of the option.
    pub id: &'a str,
    /// Text shown to the person, usually in Spanish with accents.
    pub label: &'a str,
    /// Abbreviations and common names: "tsu", "edomex", "cdmx".
    pub aliases: &'a [String],
}

/// What an answer picked among the options, by index into the slice given to [`match_choice`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChoiceMatch {
    /// Exactly this option.
    One(usize),
    /// Several options fit equally well (e.g. "tec" for "Tecnico" and "Tecnico superior"); the
    /// reply can offer just these. Indices are ascending.
    Ambiguous(Vec<usize>),
    /// Nothing fits.
    NoMatch,
}

/// Shortest answer matched as the beginning of a label: one letter would pick too much.
const MIN_PREFIX_CHARS: usize = 2;

/// Finds which of `choices` the answer `input` picks. Rules, in order; the first that matches
/// anything decides:
/// 1. the number shown, 1-based: `2`, `2.`, `2)`, `#2`, `opcion 2`, `la 2`, `2a`;
/// 2. the id, exactly or case-insensitively;
/// 3. the label or one of its aliases, ignoring case, accents, spaces and punctuation
///    (`T.S.U.` for `tsu`);
/// 4. a spoken number: `dos`, `la segunda`;
/// 5. the beginning of a label (at least two letters): `lic` for "Licenciatura";
/// 6. rules 3 and 5 again without articles, prepositions and lead-in verbs on either side:
///    `la licenciatura`, `quiero maestria`.
///
/// A rule that matches several options gives [`ChoiceMatch::Ambiguous`]. The whole answer must
/// be the choice; [`find_choice`] also looks inside a sentence.
pub fn match_choice<'a>(
    vocabulary: &Vocabulary,
    input: &str,
    choices: &'a [ChoiceRef<'a>],
) -> ChoiceMatch {
    let trimmed = clean(input);
    let input_words = words(&trimmed);
    if input_words.is_empty() {
        return ChoiceMatch::NoMatch;
    }
    let squashed = input_words.concat();
    let in_range = |number: usize| number.checked_sub(1).filter(|index| *index < choices.len());

    // 1. The number shown.
    if let Some(index) = shown_number(vocabulary, &input_words).and_then(in_range) {
        return ChoiceMatch::One(index);
    }

    // 2. The id: buttons send it verbatim; a person copying it may change its case.
    let by_id = select(choices, |choice| {
        choice.id == trimmed || (!choice.id.is_empty() && fold(choice.id) == fold(&trimmed))
    });
    if let Some(found) = by_id {
        return found;
    }

    // 3. The label itself, or another of its names.
    if let Some(found) = select(choices, |choice| squash(choice.label) == squashed) {
        return found;
    }
    if let Some(found) = select(choices, |choice| choice.aliases.contains(&squashed)) {
        return found;
    }

    // 4. A spoken number. After the label, so that a label that happens to be such a word wins.
    if let Some(index) = spoken_number(vocabulary, &input_words).and_then(in_range) {
        return ChoiceMatch::One(index);
    }

    // 5. The beginning of a label.
    if let Some(found) = select_prefix(choices, &squashed, squash) {
        return found;
    }

    // 6. Both sides without stopwords.
    let content_key = |text: &str| content_squash(vocabulary, text);
    let content = content_key(&trimmed);
    if content.is_empty() {
        return ChoiceMatch::NoMatch;
    }
    let content_equal = select(choices, |choice| {
        let label = content_key(choice.label);
        (!label.is_empty() && label == content) || choice.aliases.contains(&content)
    });
    if let Some(found) = content_equal {
        return found;
    }
    if content.chars().count() < MIN_PREFIX_CHARS {
        return ChoiceMatch::NoMatch;
    }
    select(choices, |choice| {
        content_key(choice.label).starts_with(&content)
    })
    .unwrap_or(ChoiceMatch::NoMatch)
}

/// The longest name of an option looked for inside a sentence, in words.
const NAME_WORDS: usize = 6;

/// [`match_choice`], and when the whole answer is not a choice, a choice *named inside a
/// sentence* (where one studied, a level followed by its discipline, "option 3" in a longer
/// message). A label, alias or id found as a run of whole words counts, and a number counts
/// after one of the vocabulary's number marks; a name inside a longer name found at the same
/// place (a state's name inside a city's) does not. Two different options named make the
/// answer ambiguous: the person is asked which one.
///
/// For questions whose options are names (levels, states, offices). Not for yes/no choices,
/// where a sentence (not knowing whether to accept) may hold an option's words and mean
/// something else.
pub fn find_choice<'a>(
    vocabulary: &Vocabulary,
    input: &str,
    choices: &'a [ChoiceRef<'a>],
) -> ChoiceMatch {
    let whole = match_choice(vocabulary, input, choices);
    if whole != ChoiceMatch::NoMatch {
        return whole;
    }
    let input_words: Vec<String> = words(input).into_iter().take(SENTENCE_WORDS).collect();
    let mut names: std::collections::HashMap<String, Vec<usize>> = Default::default();
    for (index, choice) in choices.iter().enumerate() {
        let keys = [squash(choice.label), squash(choice.id)]
            .into_iter()
            .chain(choice.aliases.iter().cloned());
        for key in keys.filter(|key| key.chars().count() >= MIN_PREFIX_CHARS) {
            let entry = names.entry(key).or_default();
            if !entry.contains(&index) {
                entry.push(index);
            }
        }
    }
    // (first word, last word + 1, options) of every name found.
    let mut found: Vec<(usize, usize, Vec<usize>)> = Vec::new();
    for start in 0..input_words.len() {
        let mut key = String::new();
        for end in start + 1..=(start + NAME_WORDS).min(input_words.len()) {
            key.push_str(&input_words[end - 1]);
            if let Some(options) = names.get(&key) {
                found.push((start, end, options.clone()));
            }
        }
        let marked = vocabulary.number_marks.contains(&input_words[start]);
        if marked && let Some(next) = input_words.get(start + 1) {
            let index = next
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .filter(|index| *index < choices.len());
            if let Some(index) = index {
                found.push((start, start + 2, vec![index]));
            }
        }
    }
    let outermost = found.iter().filter(|(start, end, _)| {
        !found
            .iter()
            .any(|(s, e, _)| s <= start && end <= e && (e - s) > (end - start))
    });
    let mut options: Vec<usize> = outermost.flat_map(|(_, _, o)| o.iter().copied()).collect();
    options.sort_unstable();
    options.dedup();
    match options.as_slice() {
        [] => ChoiceMatch::NoMatch,
        [one] => ChoiceMatch::One(*one),
        _ => ChoiceMatch::Ambiguous(options),
    }
}

/// The options for which `matches` holds, as a decision; `None` when there are none, so the next
/// rule is tried.
fn select(
    choices: &[ChoiceRef<'_>],
    matches: impl Fn(&ChoiceRef<'_>) -> bool,
) -> Option<ChoiceMatch> {
    let found: Vec<usize> = choices
        .iter()
        .enumerate()
        .filter(|(_, choice)| matches(choice))
        .map(|(index, _)| index)
        .collect();
    match found.as_slice() {
        [] => None,
        [one] => Some(ChoiceMatch::One(*one)),
        _ => Some(ChoiceMatch::Ambiguous(found)),
    }
}

/// The options whose label, in the form given by `key`, begins with `typed`.
fn select_prefix(
    choices: &[ChoiceRef<'_>],
    typed: &str,
    key: fn(&str) -> String,
) -> Option<ChoiceMatch> {
    if typed.chars().count() < MIN_PREFIX_CHARS {
        return None;
    }
    select(choices, |choice| key(choice.label).starts_with(typed))
}

/// [`squash`] after dropping the vocabulary's stopwords.
fn content_squash(vocabulary: &Vocabulary, text: &str) -> String {
    words(text)
        .into_iter()
        .filter(|word| !vocabulary.stopwords.contains(word))
        .collect()
}

/// The words left after the lead-in words ("la", "opcion", "quiero"...), if exactly one remains.
fn single_after_lead<'w>(vocabulary: &Vocabulary, input_words: &'w [String]) -> Option<&'w str> {
    match input_words
        .iter()
        .skip_while(|word| vocabulary.number_lead.contains(word))
        .collect::<Vec<_>>()
        .as_slice()
    {
        [only] => Some(only.as_str()),
        _ => None,
    }
}

/// A written number (`2`, `#2`, `la 2`, `opcion 2`, `2da`), 1-based as shown.
fn shown_number(vocabulary: &Vocabulary, input_words: &[String]) -> Option<usize> {
    let word = single_after_lead(vocabulary, input_words)?;
    let digits_end = word
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(word.len());
    let (digits, suffix) = word.split_at(digits_end);
    let suffix_ok = suffix.is_empty()
        || vocabulary
            .choice_ordinal_suffixes
            .iter()
            .any(|s| s == suffix);
    if digits.is_empty() || !suffix_ok {
        return None;
    }
    digits.parse().ok()
}

/// A number spelled as a word (`dos`, `la segunda`), 1-based.
fn spoken_number(vocabulary: &Vocabulary, input_words: &[String]) -> Option<usize> {
    let word = single_after_lead(vocabulary, input_words)?;
    vocabulary
        .number_words
        .iter()
        .position(|forms| forms.iter().any(|form| form == word))
        .map(|index| index + 1)
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

    const LEVELS: [ChoiceRef<'static>; 6] = [
        ChoiceRef {
            id: "tecnico",
            label: "T\u{e9}cnico",
            aliases: &[],
        },
        ChoiceRef {
            id: "tsu",
            label: "T\u{e9}cnico Superior Universitario",
            aliases: &[],
        },
        ChoiceRef {
            id: "licenciatura",
            label: "Licenciatura",
            aliases: &[],
        },
        ChoiceRef {
            id: "especialidad",
            label: "Especialidad",
            aliases: &[],
        },
        ChoiceRef {
            id: "maestria",
            label: "Maestr\u{ed}a",
            aliases: &[],
        },
        ChoiceRef {
            id: "doctorado",
            label: "Doctorado",
            aliases: &[],
        },
    ];

    #[test]
    fn match_choice_finds_the_intended_option() {
        use ChoiceMatch::{Ambiguous, One};
        let cases = [
            ("number", "3", One(2)),
            ("number with dot", "3.", One(2)),
            ("number with parenthesis", "3)", One(2)),
            ("number in parentheses", "(3)", One(2)),
            ("number with hash", "#3", One(2)),
            ("opcion number", "opci\u{f3}n 3", One(2)),
            ("Opcion number with hash", "Opci\u{f3}n #3", One(2)),
            ("la number", "la 3", One(2)),
            ("quiero la numero", "quiero la n\u{fa}mero 3", One(2)),
            ("leading zero", "03", One(2)),
            ("ordinal digits", "la 3a", One(2)),
            ("number with spaces", "  1  ", One(0)),
            ("last option", "6", One(5)),
            ("id", "licenciatura", One(2)),
            ("id in upper case", "TSU", One(1)),
            ("label exactly", "Licenciatura", One(2)),
            ("label lower case", "licenciatura", One(2)),
            ("label without accents", "maestria", One(4)),
            ("label upper case with accent", "MAESTR\u{cd}A", One(4)),
            ("label with trailing punctuation", "Maestr\u{ed}a.", One(4)),
            (
                "short label exactly, despite longer one",
                "t\u{e9}cnico",
                One(0),
            ),
            ("long label", "tecnico superior universitario", One(1)),
            (
                "long label, odd spacing",
                "  T\u{e9}cnico   superior universitario ",
                One(1),
            ),
            ("spoken number", "dos", One(1)),
            ("spoken ordinal", "la segunda", One(1)),
            ("spoken ordinal, option", "la opci\u{f3}n cuatro", One(3)),
            ("prefix", "lic", One(2)),
            ("two-letter prefix", "do", One(5)),
            ("prefix of the long label", "tecnico sup", One(1)),
            ("prefix with accent", "maestr\u{ed}", One(4)),
            ("article before label", "la licenciatura", One(2)),
            (
                "article before label, upper case",
                "LA MAESTR\u{cd}A",
                One(4),
            ),
            ("article before prefix", "el doc", One(5)),
            ("verb and article", "quiero la especialidad", One(3)),
            ("ambiguous prefix", "tec", Ambiguous(vec![0, 1])),
            (
                "ambiguous prefix with accent",
                "T\u{e9}c",
                Ambiguous(vec![0, 1]),
            ),
        ];
        for (description, input, expected) in cases {
            assert_eq!(
                match_choice(v(), input, &LEVELS),
                expected,
                "{description}: {input:?}"
            );
        }
    }

    #[test]
    fn match_choice_refuses_what_does_not_fit() {
        let cases = [
            ("empty", ""),
            ("spaces", "   "),
            ("punctuation only", "?!"),
            ("number zero", "0"),
            ("number too large", "7"),
            ("huge number", "99999999999999999999999"),
            ("one letter is not a prefix", "l"),
            ("unrelated word", "bachillerato"),
            ("label with extra words", "maestr\u{ed}a en derecho"),
            ("two numbers", "2 3"),
            ("article only", "la"),
            ("spoken number too large", "siete"),
        ];
        for (description, input) in cases {
            assert_eq!(
                match_choice(v(), input, &LEVELS),
                ChoiceMatch::NoMatch,
                "{description}: {input:?}"
            );
        }
    }

    #[test]
    fn match_choice_handles_awkward_option_lists() {
        use ChoiceMatch::{Ambiguous, NoMatch, One};
        let duplicated = [
            ChoiceRef {
                id: "a",
                label: "Ciudad de M\u{e9}xico",
                aliases: &[],
            },
            ChoiceRef {
                id: "b",
                label: "ciudad de mexico",
                aliases: &[],
            },
        ];
        let numeric_ids = [
            ChoiceRef {
                id: "10",
                label: "Lunes 10",
                aliases: &[],
            },
            ChoiceRef {
                id: "11",
                label: "Martes 11",
                aliases: &[],
            },
        ];
        let dated = [
            ChoiceRef {
                id: "2026-03-16",
                label: "lunes 16 de marzo",
                aliases: &[],
            },
            ChoiceRef {
                id: "2026-03-17",
                label: "martes 17 de marzo",
                aliases: &[],
            },
        ];
        let cases: [(&str, &str, &[ChoiceRef<'_>], ChoiceMatch); 9] = [
            ("no options at all", "1", &[], NoMatch),
            (
                "same label twice",
                "ciudad de mexico",
                &duplicated,
                Ambiguous(vec![0, 1]),
            ),
            (
                "id wins over the label of another",
                "b",
                &duplicated,
                One(1),
            ),
            (
                "position before id when in range",
                "2",
                &numeric_ids,
                One(1),
            ),
            (
                "id when the number is out of range",
                "11",
                &numeric_ids,
                One(1),
            ),
            ("id as a button sends it", "2026-03-17", &dated, One(1)),
            ("label of a day", "Martes 17 de Marzo", &dated, One(1)),
            ("prefix of a day", "mar", &dated, One(1)),
            ("prefix after stopwords", "el lunes", &dated, One(0)),
        ];
        for (description, input, choices, expected) in cases {
            assert_eq!(
                match_choice(v(), input, choices),
                expected,
                "{description}: {input:?}"
            );
        }
    }
}
