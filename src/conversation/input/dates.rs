//! Dates as people in Mexico write them: numeric day first, month names and abbreviations,
//! Roman numerals, the first of the month as "1o"; a two-digit year given its century; a date
//! inside a sentence.

use chrono::NaiveDate;
use unicode_normalization::UnicodeNormalization;

use crate::conversation::vocabulary::Vocabulary;
use crate::domain::text::fold;

use super::{SENTENCE_WORDS, clean};

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

/// Reads a date as a clerk would: [`parse_date`] first; then a two-digit year is given the
/// century for which `plausible` holds ("15/03/15" is 2015 for a title: 1915 is before any
/// possible title, 2015 is not in the future), and a date written inside a sentence is found.
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

#[cfg(test)]
mod tests;
