//! The words the dialogue reads, loaded from `templates/es-MX/vocabulary.toml`: yes and no,
//! commands, month names, the words around a choice, other names of the options (abbreviations
//! of levels and states), the polite lines around an e-mail answer, and how mail clients mark
//! quoted history.
//!
//! The file is written as people type (accents, capitals, dots); everything is folded once
//! here, when the catalogue is loaded, into the forms the parsers compare: lists of folded
//! words for phrases, and squashed keys (letters and digits only) for the names of options.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;

use super::input::Command;
use crate::domain::text::fold;

const VOCABULARY: &str = include_str!("../../templates/es-MX/vocabulary.toml");

static ES_MX: LazyLock<Vocabulary> =
    LazyLock::new(|| Vocabulary::from_toml(VOCABULARY).expect("vocabulary.toml is valid (tested)"));

/// A phrase as the parsers compare it: its folded words.
pub(crate) type Phrase = Vec<String>;

/// The input vocabulary of one language, folded for comparison.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    /// Yes, no and neutral phrases have their repeated letters squeezed, as typed words are.
    pub(crate) yes: Vec<Phrase>,
    pub(crate) no: Vec<Phrase>,
    pub(crate) neutral: Vec<Phrase>,
    pub(crate) emoji_yes: Vec<char>,
    pub(crate) emoji_no: Vec<char>,
    pub(crate) commands: Vec<(Command, String)>,
    pub(crate) months: Vec<Vec<String>>,
    pub(crate) date_fillers: Vec<String>,
    pub(crate) date_ordinal_suffixes: Vec<String>,
    pub(crate) first_of_month: Vec<String>,
    pub(crate) time_suffixes: Vec<String>,
    pub(crate) number_lead: Vec<String>,
    pub(crate) number_marks: Vec<String>,
    pub(crate) number_words: Vec<Vec<String>>,
    pub(crate) choice_ordinal_suffixes: Vec<String>,
    pub(crate) stopwords: Vec<String>,
    /// Group (`level`, `entity`) → option id → squashed names.
    aliases: HashMap<String, HashMap<String, Vec<String>>>,
    no_second_surname: Answers,
    exam_exempt: Answers,
    pub(crate) greetings: Vec<Phrase>,
    pub(crate) sign_offs: Vec<Phrase>,
    /// Lower-case words inside a name ("de", "la"), folded.
    pub(crate) name_particles: Vec<String>,
    /// Quoted history in e-mail replies.
    pub history: History,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    yes_no: YesNoFile,
    commands: HashMap<String, Vec<String>>,
    dates: DatesFile,
    choices: ChoicesFile,
    aliases: HashMap<String, HashMap<String, Vec<String>>>,
    answers: AnswersFile,
    email: EmailFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YesNoFile {
    yes: Vec<String>,
    no: Vec<String>,
    neutral: Vec<String>,
    emoji_yes: Vec<String>,
    emoji_no: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DatesFile {
    months: Vec<Vec<String>>,
    fillers: Vec<String>,
    ordinal_suffixes: Vec<String>,
    first: Vec<String>,
    time_suffixes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChoicesFile {
    number_lead: Vec<String>,
    number_marks: Vec<String>,
    number_words: Vec<Vec<String>>,
    ordinal_suffixes: Vec<String>,
    stopwords: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswersFile {
    no_second_surname: Vec<String>,
    exam_exempt: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailFile {
    greetings: Vec<String>,
    sign_offs: Vec<String>,
    name_particles: Vec<String>,
    history: HistoryFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryFile {
    attribution: String,
    header_start: String,
    header_field: String,
    original_message: String,
    sent_from: Vec<String>,
    reply_prefixes: Vec<String>,
}

/// How mail clients mark quoted history (regular expressions on the lower-cased line).
#[derive(Debug, Clone)]
pub struct History {
    pub attribution: Regex,
    pub header_start: Regex,
    pub header_field: Regex,
    pub original_message: Regex,
    pub sent_from: Vec<Regex>,
    /// "re:", "rv:", …: before the subject of a reply, lower case.
    pub reply_prefixes: Vec<String>,
}

impl History {
    fn new(file: HistoryFile) -> anyhow::Result<History> {
        let regex = |pattern: &str| {
            Regex::new(pattern).map_err(|e| anyhow::anyhow!("pattern {pattern:?}: {e}"))
        };
        Ok(History {
            attribution: regex(&file.attribution)?,
            header_start: regex(&file.header_start)?,
            header_field: regex(&file.header_field)?,
            original_message: regex(&file.original_message)?,
            sent_from: file
                .sent_from
                .iter()
                .map(|p| regex(p))
                .collect::<anyhow::Result<_>>()?,
            reply_prefixes: file.reply_prefixes,
        })
    }
}

impl Vocabulary {
    /// The compiled-in es-MX vocabulary.
    pub fn es_mx() -> &'static Vocabulary {
        &ES_MX
    }

    /// Reads a vocabulary file.
    ///
    /// # Errors
    /// The TOML does not have the expected shape, an emoji entry is not one character, a
    /// command is unknown, there are not twelve months, or a pattern is no regular expression.
    pub fn from_toml(text: &str) -> anyhow::Result<Vocabulary> {
        let file: File = toml::from_str(text)?;
        let phrases = |list: &[String]| -> Vec<Phrase> {
            list.iter()
                .map(|entry| phrase(entry))
                .filter(|words| !words.is_empty())
                .collect()
        };
        let squeezed = |list: &[String]| -> Vec<Phrase> {
            phrases(list)
                .into_iter()
                .map(|words| words.iter().map(|word| squeeze(word)).collect())
                .collect()
        };
        let folded = |list: &[String]| -> Vec<String> { list.iter().map(|w| fold(w)).collect() };
        let emoji = |list: &[String]| -> anyhow::Result<Vec<char>> {
            list.iter()
                .map(|entry| {
                    let mut chars = entry.chars();
                    match (chars.next(), chars.next()) {
                        (Some(c), None) => Ok(c),
                        _ => anyhow::bail!("emoji entry {entry:?} is not one character"),
                    }
                })
                .collect()
        };
        let mut commands = Vec::new();
        for (name, words) in &file.commands {
            let command = match name.as_str() {
                "help" => Command::Help,
                "status" => Command::Status,
                "correct" => Command::Correct,
                "cancel" => Command::Cancel,
                "restart" => Command::Restart,
                "resend" => Command::Resend,
                other => anyhow::bail!("unknown command {other:?} in the vocabulary"),
            };
            commands.extend(words.iter().map(|word| (command, fold(word))));
        }
        anyhow::ensure!(file.dates.months.len() == 12, "twelve months are needed");
        let aliases = file
            .aliases
            .into_iter()
            .map(|(group, options)| {
                let options = options
                    .into_iter()
                    .map(|(id, names)| (id, names.iter().map(|n| squash(n)).collect()))
                    .collect();
                (group, options)
            })
            .collect();
        Ok(Vocabulary {
            yes: squeezed(&file.yes_no.yes),
            no: squeezed(&file.yes_no.no),
            neutral: squeezed(&file.yes_no.neutral),
            emoji_yes: emoji(&file.yes_no.emoji_yes)?,
            emoji_no: emoji(&file.yes_no.emoji_no)?,
            commands,
            months: file
                .dates
                .months
                .iter()
                .map(|names| folded(names))
                .collect(),
            date_fillers: folded(&file.dates.fillers),
            date_ordinal_suffixes: folded(&file.dates.ordinal_suffixes),
            first_of_month: folded(&file.dates.first),
            time_suffixes: folded(&file.dates.time_suffixes),
            number_lead: folded(&file.choices.number_lead),
            number_marks: folded(&file.choices.number_marks),
            number_words: file
                .choices
                .number_words
                .iter()
                .map(|forms| folded(forms))
                .collect(),
            choice_ordinal_suffixes: folded(&file.choices.ordinal_suffixes),
            stopwords: folded(&file.choices.stopwords),
            aliases,
            no_second_surname: Answers::new(&file.answers.no_second_surname),
            exam_exempt: Answers::new(&file.answers.exam_exempt),
            greetings: phrases(&file.email.greetings),
            sign_offs: phrases(&file.email.sign_offs),
            name_particles: folded(&file.email.name_particles),
            history: History::new(file.email.history)?,
        })
    }

    /// The other names of option `id` in `group` (`level`, `entity`), squashed.
    pub fn aliases(&self, group: &str, id: &str) -> &[String] {
        self.aliases
            .get(group)
            .and_then(|options| options.get(id))
            .map_or(&[], Vec::as_slice)
    }

    /// Whether the whole answer says the person has no second surname.
    pub fn says_no_second_surname(&self, text: &str) -> bool {
        self.no_second_surname.contains(text)
    }

    /// Whether the whole answer says the person was exempt of the professional exam.
    pub fn says_exam_exempt(&self, text: &str) -> bool {
        self.exam_exempt.contains(text)
    }
}

/// Whole answers: phrases compared word for word, and entries without words ("-") as typed.
#[derive(Debug, Clone)]
struct Answers {
    phrases: Vec<Phrase>,
    symbols: Vec<String>,
}

impl Answers {
    fn new(entries: &[String]) -> Answers {
        let (with_words, symbols): (Vec<&String>, Vec<&String>) =
            entries.iter().partition(|entry| !phrase(entry).is_empty());
        Answers {
            phrases: with_words.into_iter().map(|entry| phrase(entry)).collect(),
            symbols: symbols.into_iter().map(|entry| fold(entry)).collect(),
        }
    }

    fn contains(&self, text: &str) -> bool {
        let typed = phrase(text);
        if typed.is_empty() {
            self.symbols.contains(&fold(text))
        } else {
            self.phrases.contains(&typed)
        }
    }
}

/// Folded words of `text`: lower case, no accents, anything that is not a letter or a digit
/// (punctuation, symbols, emoji) a separator.
pub(crate) fn phrase(text: &str) -> Phrase {
    fold(text)
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// A word with its runs of one letter made one: "siii" is "si", "nooo" is "no".
pub(crate) fn squeeze(word: &str) -> String {
    let mut squeezed = String::with_capacity(word.len());
    for c in word.chars() {
        if !squeezed.ends_with(c) {
            squeezed.push(c);
        }
    }
    squeezed
}

/// Letters and digits only, folded: "T.S.U." and "tsu" are the same key.
pub(crate) fn squash(text: &str) -> String {
    phrase(text).concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_vocabulary_loads() {
        let vocabulary = Vocabulary::from_toml(VOCABULARY).expect("vocabulary.toml loads");
        assert!(vocabulary.yes.contains(&vec!["si".to_string()]));
        assert!(vocabulary.no.contains(&vec!["nel".to_string()]));
        assert_eq!(vocabulary.months.len(), 12);
        assert_eq!(
            vocabulary.aliases("level", "tecnico_superior_universitario")[0],
            "tsu"
        );
        assert!(
            vocabulary
                .aliases("entity", "DF")
                .contains(&"cdmx".to_string())
        );
        assert!(vocabulary.aliases("entity", "nowhere").is_empty());
    }

    #[test]
    fn no_phrase_is_both_yes_and_no() {
        let vocabulary = Vocabulary::es_mx();
        for phrase in &vocabulary.yes {
            assert!(!vocabulary.no.contains(phrase), "{phrase:?} is yes and no");
            assert!(
                !vocabulary.neutral.contains(phrase),
                "{phrase:?} is yes and neutral"
            );
        }
        for phrase in &vocabulary.no {
            assert!(
                !vocabulary.neutral.contains(phrase),
                "{phrase:?} is no and neutral"
            );
        }
    }

    #[test]
    fn no_alias_names_two_options_of_a_group() {
        let vocabulary = Vocabulary::es_mx();
        for (group, options) in &vocabulary.aliases {
            let mut seen: HashMap<&str, &str> = HashMap::new();
            for (id, names) in options {
                for name in names {
                    if let Some(other) = seen.insert(name, id) {
                        assert_eq!(other, id, "{group}: {name:?} names {other} and {id}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_broken_file_is_refused() {
        let bad_emoji = VOCABULARY.replace(r#"emoji_yes = ["👍","#, r#"emoji_yes = ["👍👍","#);
        assert!(Vocabulary::from_toml(&bad_emoji).is_err());
        assert!(Vocabulary::from_toml("[yes_no]").is_err());
        let bad_pattern = VOCABULARY.replace("header_start = '^", "header_start = '^(");
        assert!(Vocabulary::from_toml(&bad_pattern).is_err());
    }

    #[test]
    fn answers_are_read_whole() {
        let vocabulary = Vocabulary::es_mx();
        assert!(vocabulary.says_no_second_surname("No tengo."));
        assert!(vocabulary.says_no_second_surname("-"));
        assert!(!vocabulary.says_no_second_surname("Nogales"));
        assert!(vocabulary.says_exam_exempt("Exenta"));
        assert!(vocabulary.says_exam_exempt("no present\u{e9} examen"));
        assert!(!vocabulary.says_exam_exempt("15/03/2015"));
    }
}
