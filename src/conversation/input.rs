//! Normalising the free text a person types into the values the dialogue works with: dates,
//! yes/no answers, commands, a pick among numbered choices, values written inside a sentence,
//! and cleaned free text.
//!
//! Every parser here is total: whatever arrives (empty, emoji, control characters, a whole
//! paragraph) gives a value or a precise "no", never a panic, and reads a bounded number of
//! words. The words themselves come from the [`Vocabulary`] (`templates/es-MX/vocabulary.toml`),
//! compared after [`fold`]; the sentences that answer a failure live in the templates, keyed by
//! the error variant.

use chrono::NaiveDate;
use unicode_normalization::UnicodeNormalization;

use super::vocabulary::{Phrase, Vocabulary, phrase};
use crate::domain::text::fold;

// ---------------------------------------------------------------------------------------------
// Free text
// ---------------------------------------------------------------------------------------------

/// The form in which a free-text answer (institution, program) is kept: surrounding whitespace
/// trimmed, zero-width and control characters removed, runs of whitespace (tabs, new lines,
/// no-break spaces) collapsed to one space, and the result in Unicode NFC.
///
/// NFC matters because some keyboards (macOS, some Android IMEs) send "e" + combining accent
/// where others send a single "é": without it the same institution would be stored two ways.
/// Accents and case are kept; this is for storing, [`fold`] is for comparing.
pub fn clean(input: &str) -> String {
    let visible: String = input
        .chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                // Checked before `is_control`: tab and new line are both, and must separate words.
                Some(' ')
            } else if c.is_control() || is_invisible_format(c) {
                None
            } else {
                Some(c)
            }
        })
        .collect();
    let collapsed = visible.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.nfc().collect()
}

/// Format characters that render as nothing but break equality: zero-width space and joiners,
/// direction marks and embeddings, word joiner, byte-order mark, soft hyphen. They arrive with
/// text pasted from PDFs and web pages.
///
/// The zero-width joiner also glues emoji sequences together; losing it splits such an emoji
/// into its parts, which is harmless in an institution's name.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

fn words(input: &str) -> Vec<String> {
    phrase(input)
}

fn squash(text: &str) -> String {
    super::vocabulary::squash(text)
}

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

/// Why a text is not a date. Each variant carries what the reply needs to say what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Nothing was written (or only whitespace and invisible characters).
    #[error("no date was given")]
    Empty,
    /// The text does not have the shape of any date format we read.
    #[error("the text is not a date in a recognised format")]
    Unrecognised,
    /// The year was written with one or two digits (`15/03/15`): we do not guess the century.
    #[error("the year {year} has too few digits; a four-digit year is needed")]
    TwoDigitYear {
        /// The year as written, e.g. 15.
        year: i32,
    },
    /// Day and month were given but no year (`15 de marzo`, `15/03`).
    #[error("the date has no year")]
    MissingYear,
    /// A well-formed date that does not exist in the calendar (`31/02/2015`, `0/03/2015`).
    #[error("day {day} does not exist in month {month} of {year}")]
    NoSuchDay {
        /// The day as written.
        day: u32,
        /// The month, 1 to 12.
        month: u32,
        /// The four-digit year.
        year: i32,
    },
    /// A numeric month outside 1 to 12; often a month-first date such as `03/15/2015`.
    #[error("there is no month {month}")]
    MonthOutOfRange {
        /// The month as written.
        month: u32,
    },
    /// A word in the month's place that is not a month name or abbreviation.
    #[error("{word:?} is not the name of a month")]
    UnknownMonth {
        /// The word as typed (case and accents kept), for quoting it back.
        word: String,
    },
}

/// Reads a calendar date as people in Mexico write it.
///
/// Accepted shapes (any case, accents ignored, extra spaces and punctuation tolerated):
/// - numeric, **always day first** as in Mexico: `15/03/2015`, `15-3-2015`, `15.03.2015`,
///   `15 03 2015`; year first when it leads with four digits: `2015-03-15`, `2015/3/15`;
/// - with a month name or abbreviation (Spanish, also English): `15 de marzo de 2015`,
///   `15 de marzo del 2015`, `15 marzo 2015`, `15 mar. 2015`, `15-mar-2015`, `marzo 15, 2015`,
///   `2015 mar 15`; `sept`/`set`/`setiembre` too, and Roman numerals (`15-III-2015`);
/// - the first of the month as `1o`, `1ro`, `1er`, `1°`, `1º` or `primero`.
///
/// # Errors
/// A [`DateError`] naming the problem: two-digit year, missing year, impossible day, month out
/// of range, unknown month word, or an unrecognised shape.
pub fn parse_date(vocabulary: &Vocabulary, input: &str) -> Result<NaiveDate, DateError> {
    let cleaned = clean(input);
    if cleaned.is_empty() {
        return Err(DateError::Empty);
    }
    date_from_tokens(vocabulary, &date_tokens(vocabulary, &cleaned))
}

/// How [`read_date`] read a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateReading {
    /// The whole answer is the date, written in full.
    Exact(NaiveDate),
    /// Read with judgement: a short year given the only century that makes sense, or the one
    /// date inside a sentence. Say it back in full before relying on it.
    Inferred(NaiveDate),
    /// Several dates fit (two dates in a sentence, a short year of either century): ask which.
    Ambiguous(Vec<NaiveDate>),
}

/// How many words of a message are searched for a value inside a sentence (a date, a CURP, a
/// choice's name): the work per message stays bounded whatever its length.
const SENTENCE_WORDS: usize = 64;

/// Reads a date as a clerk would: [`parse_date`] first; then a two-digit year is given the
/// century for which `plausible` holds ("15/03/15" is 2015 for a title: 1915 is before any
/// possible title, 2015 is not in the future), and a date written inside a sentence ("la fecha
/// de expedición fue el 15 de marzo de 2015", "Presenté el examen el 20/02/2015") is found.
///
/// # Errors
/// The [`DateError`] of the answer when no date can be read from it; when a sentence holds a
/// day and month without a year, [`DateError::MissingYear`].
pub fn read_date(
    vocabulary: &Vocabulary,
    input: &str,
    plausible: impl Fn(NaiveDate) -> bool,
) -> Result<DateReading, DateError> {
    let cleaned = clean(input);
    if cleaned.is_empty() {
        return Err(DateError::Empty);
    }
    let tokens = date_tokens(vocabulary, &cleaned);
    let error = match date_from_tokens(vocabulary, &tokens) {
        Ok(date) => return Ok(DateReading::Exact(date)),
        Err(error @ DateError::TwoDigitYear { .. }) => {
            return match centuries(vocabulary, &tokens, &plausible).as_slice() {
                [] => Err(error),
                [date] => Ok(DateReading::Inferred(*date)),
                several => Ok(DateReading::Ambiguous(several.to_vec())),
            };
        }
        Err(error) => error,
    };
    // A date inside a sentence: windows of three tokens, left to right, each date once.
    let tokens = &tokens[..tokens.len().min(SENTENCE_WORDS)];
    let mut found: Vec<NaiveDate> = Vec::new();
    let mut partial = false;
    let mut at = 0;
    while at < tokens.len() {
        let window = &tokens[at..(at + 3).min(tokens.len())];
        let dates = match date_from_tokens(vocabulary, window) {
            Ok(date) if window.len() == 3 => vec![date],
            Err(DateError::TwoDigitYear { .. }) => centuries(vocabulary, window, &plausible),
            _ => Vec::new(),
        };
        if window.len() >= 2
            && date_from_tokens(vocabulary, &window[..2]) == Err(DateError::MissingYear)
        {
            partial = true;
        }
        if dates.is_empty() {
            at += 1;
            continue;
        }
        for date in dates {
            if !found.contains(&date) {
                found.push(date);
            }
        }
        at += window.len();
    }
    match found.as_slice() {
        [] if partial && error == DateError::Unrecognised => Err(DateError::MissingYear),
        [] => Err(error),
        [date] => Ok(DateReading::Inferred(*date)),
        several => Ok(DateReading::Ambiguous(several.to_vec())),
    }
}

/// The dates a short year at the end of `tokens` may mean, 19xx and 20xx, that are plausible.
fn centuries(
    vocabulary: &Vocabulary,
    tokens: &[DateToken],
    plausible: &impl Fn(NaiveDate) -> bool,
) -> Vec<NaiveDate> {
    let Some((DateToken::Number(year), rest)) = tokens.split_last() else {
        return Vec::new();
    };
    if year.digits > 2 {
        return Vec::new();
    }
    [1900, 2000]
        .into_iter()
        .filter_map(|century| {
            let mut full = rest.to_vec();
            full.push(DateToken::Number(DateNumber {
                value: century + year.value,
                digits: 4,
            }));
            date_from_tokens(vocabulary, &full).ok()
        })
        .filter(|date| plausible(*date))
        .collect()
}

/// The date `tokens` spell, in one of the shapes [`parse_date`] reads.
fn date_from_tokens(vocabulary: &Vocabulary, tokens: &[DateToken]) -> Result<NaiveDate, DateError> {
    use DateToken::{Number as N, Word as W};
    match tokens {
        [N(a), N(b), N(c)] if a.digits == 4 => {
            // Year first (ISO style); the only numeric order where the year leads.
            if b.digits > 2 || c.digits > 2 {
                return Err(DateError::Unrecognised);
            }
            build_date(c.value, numeric_month(b.value)?, a.value as i32)
        }
        [N(day), N(month), N(year)] => {
            let year = four_digit_year(year)?;
            if day.digits > 2 || month.digits > 2 {
                return Err(DateError::Unrecognised);
            }
            build_date(day.value, numeric_month(month.value)?, year)
        }
        [N(year), W(month), N(day)] if year.digits == 4 && day.digits <= 2 => build_date(
            day.value,
            month_from_word(vocabulary, month)?,
            year.value as i32,
        ),
        [N(day), W(month), N(year)] | [W(month), N(day), N(year)] => {
            let month = month_from_word(vocabulary, month)?;
            let year = four_digit_year(year)?;
            if day.digits > 2 {
                return Err(DateError::Unrecognised);
            }
            build_date(day.value, month, year)
        }
        [N(day), W(month)] | [W(month), N(day)] if day.digits <= 2 => {
            month_from_word(vocabulary, month)?;
            Err(DateError::MissingYear)
        }
        [N(day), N(month)] if day.digits <= 2 && month.digits <= 2 => {
            numeric_month(month.value)?;
            Err(DateError::MissingYear)
        }
        _ => Err(DateError::Unrecognised),
    }
}

/// A run of digits, kept with its length: `03` and `3` are the same month, but `15` and `2015`
/// are different kinds of year.
#[derive(Debug, Clone, Copy)]
struct DateNumber {
    value: u32,
    digits: usize,
}

/// A run of letters: as typed (for error messages) and folded (for lookup).
#[derive(Debug, Clone)]
struct DateWord {
    typed: String,
    folded: String,
}

#[derive(Debug, Clone)]
enum DateToken {
    Number(DateNumber),
    Word(DateWord),
    /// A run of more than four digits (a phone number, a folio): never part of a date.
    Other,
}

/// Splits a date into numbers and words, dropping separators, fillers and ordinal endings.
///
/// NFKC first: it turns the ordinal indicator `º` into `o` (so `1º` reads as `1o`) and
/// full-width digits into ASCII ones. The degree sign `°`, often typed for `º`, is a separator.
fn date_tokens(vocabulary: &Vocabulary, cleaned: &str) -> Vec<DateToken> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Digit,
        Letter,
        Separator,
    }
    let class = |c: char| {
        if c.is_ascii_digit() {
            Class::Digit
        } else if c.is_alphabetic() {
            Class::Letter
        } else {
            Class::Separator
        }
    };

    // Runs of one class, each flagged when it touches the previous run with no separator.
    let normalised: String = cleaned.nfkc().collect();
    let mut runs: Vec<(Class, String, bool)> = Vec::new();
    let mut previous = Class::Separator;
    for c in normalised.chars() {
        let current = class(c);
        if current != Class::Separator {
            match runs.last_mut() {
                Some((last, text, _)) if *last == current && previous == current => text.push(c),
                _ => runs.push((current, c.to_string(), previous != Class::Separator)),
            }
        }
        previous = current;
    }

    let mut tokens = Vec::with_capacity(runs.len());
    for (class, text, attached) in runs {
        match class {
            Class::Digit => {
                // More than four digits is no part of a date; setting it apart here also keeps
                // the value inside u32.
                match text.parse() {
                    Ok(value) if text.len() <= 4 => tokens.push(DateToken::Number(DateNumber {
                        value,
                        digits: text.len(),
                    })),
                    _ => tokens.push(DateToken::Other),
                }
            }
            Class::Letter => {
                let folded = fold(&text);
                let follows_number =
                    matches!(tokens.last(), Some(DateToken::Number(n)) if n.digits <= 2);
                if attached && follows_number && vocabulary.date_ordinal_suffixes.contains(&folded)
                {
                    continue;
                }
                if vocabulary.date_fillers.contains(&folded) {
                    continue;
                }
                if vocabulary.first_of_month.contains(&folded) {
                    tokens.push(DateToken::Number(DateNumber {
                        value: 1,
                        digits: 1,
                    }));
                    continue;
                }
                tokens.push(DateToken::Word(DateWord {
                    typed: text,
                    folded,
                }));
            }
            Class::Separator => {}
        }
    }
    tokens
}

/// Roman numerals, still seen on older Mexican documents (`15-III-2015`).
const ROMAN_MONTHS: [&str; 12] = [
    "i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii",
];

/// A month named by a word: a Roman numeral, or at least three letters that begin one of the
/// vocabulary's names of a single month (which covers every usual abbreviation).
fn month_from_word(vocabulary: &Vocabulary, word: &DateWord) -> Result<u32, DateError> {
    let folded = word.folded.as_str();
    let unknown = || DateError::UnknownMonth {
        word: word.typed.clone(),
    };
    if let Some(index) = ROMAN_MONTHS.iter().position(|r| *r == folded) {
        return Ok(index as u32 + 1);
    }
    if folded.len() < 3 {
        return Err(unknown());
    }
    let mut found = vocabulary
        .months
        .iter()
        .enumerate()
        .filter(|(_, names)| names.iter().any(|name| name.starts_with(folded)))
        .map(|(index, _)| index as u32 + 1);
    match (found.next(), found.next()) {
        (Some(month), None) => Ok(month),
        // No three-letter prefix is shared by two months today; if a name added later makes
        // one ambiguous, refusing is better than picking.
        _ => Err(unknown()),
    }
}

fn numeric_month(month: u32) -> Result<u32, DateError> {
    if (1..=12).contains(&month) {
        Ok(month)
    } else {
        Err(DateError::MonthOutOfRange { month })
    }
}

/// The year must be written in full: two digits are refused rather than guessed (a title from
/// 1999 and one from 2099 look the same as "99").
fn four_digit_year(year: &DateNumber) -> Result<i32, DateError> {
    match year.digits {
        4 => Ok(year.value as i32),
        1 | 2 => Err(DateError::TwoDigitYear {
            year: year.value as i32,
        }),
        _ => Err(DateError::Unrecognised),
    }
}

fn build_date(day: u32, month: u32, year: i32) -> Result<NaiveDate, DateError> {
    NaiveDate::from_ymd_opt(year, month, day).ok_or(DateError::NoSuchDay { day, month, year })
}

// ---------------------------------------------------------------------------------------------
// A value inside a sentence
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Yes / no
// ---------------------------------------------------------------------------------------------

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
/// phrase first, so "sí, son correctos" is "sí" + "son correctos" although "sí son" is a phrase
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

/// A word with its runs of one letter made one: "siii" → "si", "nooo" → "no".
pub(crate) fn squeeze(word: &str) -> String {
    let mut squeezed = String::with_capacity(word.len());
    for c in word.chars() {
        if !squeezed.ends_with(c) {
            squeezed.push(c);
        }
    }
    squeezed
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/// A request about the conversation itself rather than an answer to the current question; valid
/// in any state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `ayuda`: explain the current step again.
    Help,
    /// `estado`: where the application stands.
    Status,
    /// `corregir`: change an answer already given.
    Correct,
    /// `cancelar`: abandon the current step or application.
    Cancel,
    /// `reiniciar`: start the conversation over.
    Restart,
    /// `/start`: what Telegram sends when a person opens the bot.
    Start,
    /// `reenviar`: send the documents issued so far again.
    Resend,
}

/// Reads a command when the whole message is one.
///
/// Without a slash the folded message must be exactly the word (`Ayuda`, `ayuda?`, `CANCELAR`):
/// "no puedo cancelar" is an answer, not a command. With a leading slash, as Telegram sends them,
/// the bot's name may follow (`/ayuda@MiBot`), and anything after the command is ignored, because
/// Telegram appends a payload to `/start` for deep links (`/start abc123`) and a slashed word is
/// never a real answer. `/start`, `/help` and `/cancel` are the Telegram conventions; the plain
/// Spanish words are what people type.
pub fn parse_command(vocabulary: &Vocabulary, input: &str) -> Option<Command> {
    let folded = fold(&clean(input));
    if let Some(slashed) = folded.strip_prefix('/') {
        // The command must touch the slash: "/ ayuda" is not one. `clean` left single spaces.
        let first = slashed.split(' ').next()?;
        let name = match first.split_once('@') {
            Some((name, bot)) if is_bot_username(bot) => name,
            Some(_) => return None,
            None => first,
        };
        // Telegram's conventions, then the vocabulary's words.
        return match name {
            "start" => Some(Command::Start),
            "help" => Some(Command::Help),
            "cancel" => Some(Command::Cancel),
            other => vocabulary_command(vocabulary, other),
        };
    }
    vocabulary_command(
        vocabulary,
        folded.trim_matches(|c: char| !c.is_alphanumeric()),
    )
}

fn vocabulary_command(vocabulary: &Vocabulary, word: &str) -> Option<Command> {
    vocabulary
        .commands
        .iter()
        .find(|(_, name)| name == word)
        .map(|(command, _)| *command)
}

/// Telegram usernames: letters, digits and underscores.
fn is_bot_username(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

// ---------------------------------------------------------------------------------------------
// Choices
// ---------------------------------------------------------------------------------------------

/// One option offered to the person, as shown: `label` is what they read, `id` what a button
/// (Telegram's callback data) or a script sends back, `aliases` the other names people give it
/// (squashed, see [`super::vocabulary::squash`]).
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
///    (`T.S.U.`, `Edo. de México`);
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
/// sentence*: "estudié en Guadalajara, Jalisco", "es una maestría en derecho", "me quedo con la
/// opción 3". A label, alias or id found as a run of whole words counts, and a number counts
/// after a word such as "opción"; a name inside a longer name found at the same place ("México"
/// inside "Ciudad de México") does not. Two different options named make the answer
/// ambiguous: the person is asked which one.
///
/// For questions whose options are names (levels, states, offices). Not for yes/no choices,
/// where a sentence ("no sé si acepto") may hold an option's words and mean something else.
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

    fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("valid test date")
    }

    // Accented test inputs are written with escapes, per the house rule on string literals:
    // \u{e1} a-acute, \u{e9} e-acute, \u{ed} i-acute, \u{f3} o-acute, \u{c1} A-acute,
    // \u{cd} I-acute, \u{b0} degree sign, \u{ba} ordinal indicator.

    #[test]
    fn parse_date_accepts_the_usual_ways_of_writing_a_date() {
        let march_15 = ymd(2015, 3, 15);
        let march_1 = ymd(2015, 3, 1);
        let cases = [
            ("slashes, day first", "15/03/2015", march_15),
            ("dashes, day first", "15-03-2015", march_15),
            ("dots, day first", "15.03.2015", march_15),
            ("spaces between numbers", "15 03 2015", march_15),
            ("single-digit month", "15/3/2015", march_15),
            ("single-digit day and month", "1/3/2015", march_1),
            ("ISO, year first", "2015-03-15", march_15),
            ("year first with slashes", "2015/03/15", march_15),
            ("year first, single digits", "2015/3/5", ymd(2015, 3, 5)),
            ("written out", "15 de marzo de 2015", march_15),
            ("written out with del", "15 de marzo del 2015", march_15),
            ("without de", "15 marzo 2015", march_15),
            ("abbreviated month", "15 mar 2015", march_15),
            ("abbreviation with dot", "15 mar. 2015", march_15),
            ("dashes and abbreviation", "15-mar-2015", march_15),
            ("month first with comma", "marzo 15, 2015", march_15),
            ("year, month name, day", "2015 marzo 15", march_15),
            ("upper case", "15 DE MARZO DE 2015", march_15),
            ("mixed case", "15 De Marzo Del 2015", march_15),
            (
                "accent typed by mistake",
                "15 de M\u{c1}RZO de 2015",
                march_15,
            ),
            ("extra spaces", "   15  de   marzo   de  2015  ", march_15),
            ("trailing full stop", "15 de marzo de 2015.", march_15),
            ("leading article", "el 15 de marzo de 2015", march_15),
            (
                "el dia",
                "el d\u{ed}a 15 de marzo del a\u{f1}o 2015",
                march_15,
            ),
            ("first written 1o", "1o de marzo de 2015", march_1),
            ("first written 1ro", "1ro de marzo de 2015", march_1),
            ("first written 1er", "1er. de marzo de 2015", march_1),
            (
                "first with degree sign",
                "1\u{b0} de marzo de 2015",
                march_1,
            ),
            (
                "first with ordinal indicator",
                "1\u{ba} de marzo de 2015",
                march_1,
            ),
            ("first written primero", "primero de marzo de 2015", march_1),
            ("Primero capitalised", "Primero de Marzo del 2015", march_1),
            ("ene", "5 ene 2016", ymd(2016, 1, 5)),
            ("feb", "5 feb 2016", ymd(2016, 2, 5)),
            ("abr", "5 abr 2016", ymd(2016, 4, 5)),
            ("may", "5 may 2016", ymd(2016, 5, 5)),
            ("jun", "5 jun 2016", ymd(2016, 6, 5)),
            ("jul", "5 jul 2016", ymd(2016, 7, 5)),
            ("ago", "5 ago 2016", ymd(2016, 8, 5)),
            ("sep", "5 sep 2016", ymd(2016, 9, 5)),
            ("sept with dot", "5 sept. 2016", ymd(2016, 9, 5)),
            ("set", "5 set 2016", ymd(2016, 9, 5)),
            ("setiembre", "5 de setiembre de 2016", ymd(2016, 9, 5)),
            ("septiembre", "16 de septiembre de 2010", ymd(2010, 9, 16)),
            ("oct", "5 oct 2016", ymd(2016, 10, 5)),
            ("nov", "5 nov 2016", ymd(2016, 11, 5)),
            ("dic", "5 dic 2016", ymd(2016, 12, 5)),
            ("enero", "31 de enero de 1999", ymd(1999, 1, 31)),
            (
                "febrero in a leap year",
                "29 de febrero de 2016",
                ymd(2016, 2, 29),
            ),
            ("English month first", "March 15, 2015", march_15),
            ("English abbreviation", "15 Dec 2012", ymd(2012, 12, 15)),
            ("Roman numeral month", "15-III-2015", march_15),
            ("Roman numeral XII", "24/XII/2009", ymd(2009, 12, 24)),
            ("full-width digits", "\u{ff11}\u{ff15}/03/2015", march_15),
            ("zero-width space pasted in", "15/03\u{200b}/2015", march_15),
            ("mixed separators", "15/03-2015", march_15),
            ("letters glued to numbers", "15mar2015", march_15),
        ];
        for (description, input, expected) in cases {
            assert_eq!(
                parse_date(v(), input),
                Ok(expected),
                "{description}: {input:?}"
            );
        }
    }

    #[test]
    fn parse_date_explains_what_is_wrong() {
        let cases = [
            ("empty", "", DateError::Empty),
            ("only spaces", "   ", DateError::Empty),
            (
                "only invisible characters",
                "\u{200b}\u{feff}",
                DateError::Empty,
            ),
            ("a word", "ayer", DateError::Unrecognised),
            ("punctuation only", "...", DateError::Unrecognised),
            ("a sentence", "no me acuerdo", DateError::Unrecognised),
            ("compact digits", "15032015", DateError::Unrecognised),
            ("four numbers", "15/03/2015/1", DateError::Unrecognised),
            ("with a time", "15/03/2015 10:30", DateError::Unrecognised),
            ("three-digit year", "15/03/201", DateError::Unrecognised),
            ("five-digit year", "15/03/20155", DateError::Unrecognised),
            ("three-digit day", "150/03/2015", DateError::Unrecognised),
            (
                "month and year only",
                "marzo de 2015",
                DateError::Unrecognised,
            ),
            (
                "numeric month and year only",
                "03/2015",
                DateError::Unrecognised,
            ),
            (
                "two-digit year",
                "15/03/15",
                DateError::TwoDigitYear { year: 15 },
            ),
            (
                "two-digit year, dashes",
                "15-03-99",
                DateError::TwoDigitYear { year: 99 },
            ),
            (
                "two-digit year, words",
                "15 de marzo de 15",
                DateError::TwoDigitYear { year: 15 },
            ),
            (
                "two-digit year, apostrophe",
                "15 mar '15",
                DateError::TwoDigitYear { year: 15 },
            ),
            (
                "one-digit year",
                "15/03/5",
                DateError::TwoDigitYear { year: 5 },
            ),
            ("no year, words", "15 de marzo", DateError::MissingYear),
            (
                "no year, ordinal",
                "1\u{b0} de marzo",
                DateError::MissingYear,
            ),
            ("no year, numbers", "15/03", DateError::MissingYear),
            (
                "31 February",
                "31/02/2015",
                DateError::NoSuchDay {
                    day: 31,
                    month: 2,
                    year: 2015,
                },
            ),
            (
                "29 February, not a leap year",
                "29 de febrero de 2015",
                DateError::NoSuchDay {
                    day: 29,
                    month: 2,
                    year: 2015,
                },
            ),
            (
                "31 April",
                "31 abr 2015",
                DateError::NoSuchDay {
                    day: 31,
                    month: 4,
                    year: 2015,
                },
            ),
            (
                "day zero",
                "0/03/2015",
                DateError::NoSuchDay {
                    day: 0,
                    month: 3,
                    year: 2015,
                },
            ),
            (
                "day 32",
                "32/01/2015",
                DateError::NoSuchDay {
                    day: 32,
                    month: 1,
                    year: 2015,
                },
            ),
            (
                "31 February, year first",
                "2015-02-31",
                DateError::NoSuchDay {
                    day: 31,
                    month: 2,
                    year: 2015,
                },
            ),
            (
                "month first, as in the US",
                "03/15/2015",
                DateError::MonthOutOfRange { month: 15 },
            ),
            (
                "month zero",
                "15/00/2015",
                DateError::MonthOutOfRange { month: 0 },
            ),
            (
                "month 13, year first",
                "2015-13-01",
                DateError::MonthOutOfRange { month: 13 },
            ),
            (
                "month out of range without year",
                "15/13",
                DateError::MonthOutOfRange { month: 13 },
            ),
            (
                "misspelt month",
                "15 de marzzo de 2015",
                DateError::UnknownMonth {
                    word: "marzzo".into(),
                },
            ),
            (
                "misspelt month keeps accents and case",
                "15 de M\u{e1}rso de 2015",
                DateError::UnknownMonth {
                    word: "M\u{e1}rso".into(),
                },
            ),
            (
                "two-letter abbreviation",
                "15 ma 2015",
                DateError::UnknownMonth { word: "ma".into() },
            ),
            (
                "weekday is not a month",
                "lunes 15 2015",
                DateError::UnknownMonth {
                    word: "lunes".into(),
                },
            ),
            (
                "unknown month without year",
                "15 de hola",
                DateError::UnknownMonth {
                    word: "hola".into(),
                },
            ),
        ];
        for (description, input, expected) in cases {
            assert_eq!(
                parse_date(v(), input),
                Err(expected),
                "{description}: {input:?}"
            );
        }
    }

    #[test]
    fn date_errors_have_messages() {
        let error = DateError::NoSuchDay {
            day: 31,
            month: 2,
            year: 2015,
        };
        assert_eq!(
            error.to_string(),
            "day 31 does not exist in month 2 of 2015"
        );
    }

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

    #[test]
    fn parse_command_reads_whole_message_commands() {
        let cases = [
            ("ayuda", "ayuda", Some(Command::Help)),
            ("Ayuda capitalised", "Ayuda", Some(Command::Help)),
            (
                "ayuda with question mark",
                "\u{bf}ayuda?",
                Some(Command::Help),
            ),
            ("slash ayuda", "/ayuda", Some(Command::Help)),
            ("slash ayuda at bot", "/ayuda@MiBot", Some(Command::Help)),
            (
                "slash ayuda at bot with underscore",
                "/ayuda@mi_tramite_bot",
                Some(Command::Help),
            ),
            ("estado", "estado", Some(Command::Status)),
            ("slash estado", "/estado", Some(Command::Status)),
            ("corregir", "corregir", Some(Command::Correct)),
            ("CORREGIR", "CORREGIR", Some(Command::Correct)),
            ("cancelar", "cancelar", Some(Command::Cancel)),
            ("slash cancelar", "/cancelar", Some(Command::Cancel)),
            (
                "cancelar with spaces",
                "  cancelar  ",
                Some(Command::Cancel),
            ),
            ("reiniciar", "reiniciar", Some(Command::Restart)),
            (
                "slash reiniciar at bot",
                "/reiniciar@MiBot",
                Some(Command::Restart),
            ),
            ("slash start", "/start", Some(Command::Start)),
            ("slash start at bot", "/start@MiBot", Some(Command::Start)),
            (
                "slash start with deep-link payload",
                "/start abc123",
                Some(Command::Start),
            ),
            (
                "slash help, Telegram convention",
                "/help",
                Some(Command::Help),
            ),
            (
                "slash cancel, Telegram convention",
                "/cancel",
                Some(Command::Cancel),
            ),
        ];
        for (description, input, expected) in cases {
            assert_eq!(
                parse_command(v(), input),
                expected,
                "{description}: {input:?}"
            );
        }
    }

    #[test]
    fn parse_command_ignores_what_is_not_a_command() {
        let cases = [
            ("empty", ""),
            ("a sentence containing a command word", "no puedo cancelar"),
            ("command word followed by text", "ayuda por favor"),
            ("command word inside an answer", "estado de mexico"),
            ("start without slash", "start"),
            ("help without slash", "help"),
            ("unknown slash command", "/foo"),
            ("slash alone", "/"),
            ("slash and space", "/ ayuda"),
            ("mention without slash", "ayuda@MiBot"),
            ("empty bot name", "/ayuda@"),
            ("bot name with a dash", "/ayuda@Mi-Bot"),
            ("an answer", "licenciatura"),
            ("yes", "s\u{ed}"),
        ];
        for (description, input) in cases {
            assert_eq!(parse_command(v(), input), None, "{description}: {input:?}");
        }
    }

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

    #[test]
    fn clean_keeps_text_tidy_for_storage() {
        let cases = [
            ("trims", "  UNAM  ", "UNAM"),
            (
                "collapses spaces",
                "Facultad   de  Derecho",
                "Facultad de Derecho",
            ),
            (
                "tabs and new lines become spaces",
                "Facultad\tde\nDerecho\r\n",
                "Facultad de Derecho",
            ),
            (
                "no-break spaces",
                "Facultad\u{a0}de\u{a0}Derecho",
                "Facultad de Derecho",
            ),
            ("zero-width space removed", "UN\u{200b}AM", "UNAM"),
            ("byte-order mark removed", "\u{feff}UNAM", "UNAM"),
            ("direction marks removed", "\u{200e}UNAM\u{200f}", "UNAM"),
            (
                "soft hyphen removed",
                "Ingenie\u{ad}r\u{ed}a",
                "Ingenier\u{ed}a",
            ),
            ("control characters removed", "UN\u{7}AM\u{0}", "UNAM"),
            (
                "accents and case kept",
                "Ingenier\u{ed}a Qu\u{ed}mica",
                "Ingenier\u{ed}a Qu\u{ed}mica",
            ),
            (
                "decomposed accents composed",
                "Qui\u{301}mica",
                "Qu\u{ed}mica",
            ),
            ("enye kept", "Espa\u{f1}ol", "Espa\u{f1}ol"),
            ("empty", "", ""),
            ("only invisible characters", "\u{200b} \u{feff}\t", ""),
            (
                "punctuation kept",
                "Univ. Aut\u{f3}noma (UAM)",
                "Univ. Aut\u{f3}noma (UAM)",
            ),
        ];
        for (description, input, expected) in cases {
            assert_eq!(clean(input), expected, "{description}: {input:?}");
        }
    }

    #[test]
    fn parsers_survive_hostile_input() {
        let long = "9".repeat(10_000);
        let sentence = "el 15 de marzo de 2015 o lic. en la opci\u{f3}n 3 ".repeat(2_000);
        let inputs = [
            long.as_str(),
            sentence.as_str(),
            "\u{0}\u{1}\u{2}",
            "////////",
            "@@@",
            "/@",
            "\u{301}\u{301}",
            "1\u{b0}\u{b0}\u{b0}",
            "de de de del",
        ];
        for input in inputs {
            let _ = read_date(v(), input, |_| true);
            let _ = find_values(input, 4, |_| true, |piece| Some(piece.to_string()));
            let _ = find_choice(v(), input, &LEVELS);
            let _ = parse_date(v(), input);
            let _ = parse_yes_no(v(), input);
            let _ = parse_command(v(), input);
            let _ = match_choice(v(), input, &LEVELS);
            let _ = clean(input);
        }
    }
}
