//! The CURP (Clave Unica de Registro de Poblacion), Mexico's 18-character personal identifier.
//!
//! [`Curp::parse`] normalises what a person typed and, when it is not a valid CURP, says which
//! part is wrong and why, so the conversation can explain it ([`CurpError`]). A valid CURP tells
//! the birth date, sex and place of birth, and its four initials can be compared with the name
//! the applicant gives ([`Curp::check_name`]); that comparison is only a warning, because
//! RENAPO's rules have exceptions.
//!
//! The layout (1-based positions): 1-4 initials, 5-10 birth date YYMMDD, 11 sex (H, M, X),
//! 12-13 state code, 14-16 internal consonants, 17 homonymy character (a digit for births in
//! the 1900s, a letter from 2000 on), 18 check digit.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::domain::entity::Entity;
use crate::domain::person::PersonName;

mod generate;
mod initials;

pub use generate::generate_valid;
pub use initials::expected_initials;

/// Length of every CURP, in characters.
pub const CURP_LEN: usize = 18;

/// Four-letter words a CURP may not begin with; RENAPO writes the second letter as X instead.
///
/// The 81 words of python-stdnum's `_name_blacklist` (stdnum/mx/curp.py), which follows the
/// official list of inconvenient words. Kept sorted: looked up with a binary search.
const INCONVENIENT_WORDS: [&str; 81] = [
    "BACA", "BAKA", "BUEI", "BUEY", "CACA", "CACO", "CAGA", "CAGO", "CAKA", "CAKO", "COGE", "COGI",
    "COJA", "COJE", "COJI", "COJO", "COLA", "CULO", "FALO", "FETO", "GETA", "GUEI", "GUEY", "JETA",
    "JOTO", "KACA", "KACO", "KAGA", "KAGO", "KAKA", "KAKO", "KOGE", "KOGI", "KOJA", "KOJE", "KOJI",
    "KOJO", "KOLA", "KULO", "LILO", "LOCA", "LOCO", "LOKA", "LOKO", "MAME", "MAMO", "MEAR", "MEAS",
    "MEON", "MIAR", "MION", "MOCO", "MOKO", "MULA", "MULO", "NACA", "NACO", "PEDA", "PEDO", "PENE",
    "PIPI", "PITO", "POPO", "PUTA", "PUTO", "QULO", "RATA", "ROBA", "ROBE", "ROBO", "RUIN", "SENO",
    "TETA", "VACA", "VAGA", "VAGO", "VAKA", "VUEI", "VUEY", "WUEI", "WUEY",
];

/// The check-digit alphabet: a character's value is its index. `&` stands for the Ñ of older
/// keys; it can never reach the computation because parsing rejects it first.
const CHECK_ALPHABET: &str = "0123456789ABCDEFGHIJKLMN&OPQRSTUVWXYZ";

/// Letters allowed in positions 14-16 (X included: it stands for "none").
const CONSONANTS: &str = "BCDFGHJKLMNPQRSTVWXYZ";

/// The sex recorded in position 11.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    /// Code H (hombre).
    #[serde(rename = "H")]
    Male,
    /// Code M (mujer).
    #[serde(rename = "M")]
    Female,
    /// Code X, non-binary, issued since 2023.
    #[serde(rename = "X")]
    NonBinary,
}

impl Sex {
    /// The letter used in the CURP: H, M or X.
    pub fn code(&self) -> char {
        match self {
            Sex::Male => 'H',
            Sex::Female => 'M',
            Sex::NonBinary => 'X',
        }
    }

    /// The sex with this CURP letter (upper case only).
    pub fn from_code(code: char) -> Option<Sex> {
        match code {
            'H' => Some(Sex::Male),
            'M' => Some(Sex::Female),
            'X' => Some(Sex::NonBinary),
            _ => None,
        }
    }

    /// A stable ASCII key for display labels: `male`, `female`, `non_binary`.
    pub fn key(&self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
            Sex::NonBinary => "non_binary",
        }
    }
}

/// What kind of character a position of the CURP takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    /// A letter A-Z (Ñ is written X in a CURP).
    Letter,
    /// A digit 0-9.
    Digit,
    /// A consonant letter (X included).
    Consonant,
    /// A digit 0-9 or a letter A-Z.
    DigitOrLetter,
}

impl Expected {
    /// What position `position` (1-based, 1..=18, position 11 aside) takes.
    fn at(position: usize) -> Expected {
        match position {
            1..=4 | 12..=13 => Expected::Letter,
            14..=16 => Expected::Consonant,
            17 => Expected::DigitOrLetter,
            _ => Expected::Digit,
        }
    }

    /// Whether `c` is of this kind.
    fn matches(self, c: char) -> bool {
        match self {
            Expected::Letter => c.is_ascii_uppercase(),
            Expected::Digit => c.is_ascii_digit(),
            Expected::Consonant => CONSONANTS.contains(c),
            Expected::DigitOrLetter => c.is_ascii_uppercase() || c.is_ascii_digit(),
        }
    }

    /// A stable ASCII key for the explanation template.
    pub fn key(&self) -> &'static str {
        match self {
            Expected::Letter => "letter",
            Expected::Digit => "digit",
            Expected::Consonant => "consonant",
            Expected::DigitOrLetter => "digit_or_letter",
        }
    }
}

/// Why a text is not a valid CURP, in the order the checks run. Each variant carries what is
/// needed to explain the problem to a person. Positions are 1-based, as people count.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CurpError {
    /// Nothing was written (or only spaces and separators).
    #[error("the CURP is empty")]
    Empty,
    /// Not 18 characters once spaces, dashes and dots are removed.
    #[error("a CURP has 18 characters, found {found}")]
    Length {
        /// Characters found after normalising.
        found: usize,
    },
    /// A character of the wrong kind at a position.
    #[error("position {position} should be a {expected}, found {found:?}")]
    Character {
        /// 1-based position.
        position: usize,
        /// The character found there.
        found: char,
        /// What that position takes.
        expected: Expected,
    },
    /// Position 11 is not H, M or X.
    #[error("position 11 (sex) should be H, M or X, found {found:?}")]
    Sex {
        /// The character found at position 11.
        found: char,
    },
    /// Positions 5-10 are digits but not a date of the calendar (century from position 17).
    #[error("the birth date {year:04}-{month:02}-{day:02} does not exist")]
    InvalidDate {
        /// Full year: 19YY when position 17 is a digit, 20YY when it is a letter.
        year: i32,
        /// Month as written (may be 0 or over 12).
        month: u32,
        /// Day as written.
        day: u32,
    },
    /// Positions 12-13 are not a state code (nor NE).
    #[error("{found:?} is not a state code")]
    State {
        /// The two letters found.
        found: String,
    },
    /// The first four letters are an inconvenient word, which RENAPO never issues.
    #[error("a CURP never begins with {word:?}")]
    InconvenientWord {
        /// The four letters.
        word: String,
    },
    /// The last digit does not match the other 17 characters: usually a typing mistake.
    #[error("the check digit should be {expected}, found {found}")]
    CheckDigit {
        /// The check digit the first 17 characters give.
        expected: char,
        /// The check digit written.
        found: char,
    },
}

impl CurpError {
    /// A stable ASCII key for the explanation template of this error.
    pub fn key(&self) -> &'static str {
        match self {
            CurpError::Empty => "curp.empty",
            CurpError::Length { .. } => "curp.length",
            CurpError::Character { .. } => "curp.character",
            CurpError::Sex { .. } => "curp.sex",
            CurpError::InvalidDate { .. } => "curp.invalid_date",
            CurpError::State { .. } => "curp.state",
            CurpError::InconvenientWord { .. } => "curp.inconvenient_word",
            CurpError::CheckDigit { .. } => "curp.check_digit",
        }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::Letter => "letter",
            Expected::Digit => "digit",
            Expected::Consonant => "consonant",
            Expected::DigitOrLetter => "digit or letter",
        })
    }
}

/// The initials in a CURP differ from those the name gives: worth a question to the applicant,
/// not a rejection (RENAPO's rules have exceptions, and names get written differently).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InitialsMismatch {
    /// The four letters the name gives by RENAPO's rules.
    pub expected: String,
    /// The first four letters of the CURP.
    pub found: String,
}

/// A valid CURP: upper case, 18 ASCII characters, every check passed.
///
/// `Debug` prints the masked form so a CURP that slips into a log line does not expose the
/// whole identifier; `Display` and [`Curp::as_str`] give the full CURP.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Curp(String);

/// Separators people type inside a CURP: spaces, dots and dashes (ASCII and the Unicode dashes
/// phones substitute).
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '.' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// Value of a character for the check digit (its index in [`CHECK_ALPHABET`]).
fn check_value(c: char) -> u32 {
    CHECK_ALPHABET
        .chars()
        .position(|a| a == c)
        .map_or(0, |index| index as u32)
}

/// The check digit of the first 17 characters: weights 18 down to 2, sum mod 10, complement.
fn compute_check_digit(first_17: &str) -> char {
    let sum: u32 = first_17
        .chars()
        .zip((2..=18u32).rev())
        .map(|(c, weight)| check_value(c) * weight)
        .sum();
    let digit = (10 - sum % 10) % 10;
    char::from_digit(digit, 10).unwrap_or('0')
}

fn is_inconvenient(word: &str) -> bool {
    INCONVENIENT_WORDS.binary_search(&word).is_ok()
}

/// Century from the homonymy character: a digit for births before 2000, a letter from 2000.
fn century(homonymy: u8) -> i32 {
    if homonymy.is_ascii_digit() {
        1900
    } else {
        2000
    }
}

/// Two ASCII digits as a number (only called on positions already checked to be digits).
fn two_digits(pair: &[u8]) -> u32 {
    pair.iter().fold(0, |acc, b| acc * 10 + u32::from(b - b'0'))
}

impl Curp {
    /// Parses what a person typed.
    ///
    /// Normalises only what is safe to normalise: case, and spaces, dashes and dots anywhere.
    /// Anything else (an O typed for a 0, an Ñ) is reported, not guessed. Checks run in the
    /// order of [`CurpError`]'s variants and the first failure is returned.
    pub fn parse(input: &str) -> Result<Curp, CurpError> {
        let normalised: String = input
            .chars()
            .filter(|c| !is_separator(*c))
            .flat_map(char::to_uppercase)
            .collect();
        if normalised.is_empty() {
            return Err(CurpError::Empty);
        }
        let length = normalised.chars().count();
        if length != CURP_LEN {
            return Err(CurpError::Length { found: length });
        }
        for (index, found) in normalised.chars().enumerate() {
            let position = index + 1;
            if position == 11 {
                if Sex::from_code(found).is_none() {
                    return Err(CurpError::Sex { found });
                }
                continue;
            }
            let expected = Expected::at(position);
            if !expected.matches(found) {
                return Err(CurpError::Character {
                    position,
                    found,
                    expected,
                });
            }
        }

        // From here on every character is ASCII, so byte offsets are character offsets.
        let bytes = normalised.as_bytes();
        let year = century(bytes[16]) + two_digits(&bytes[4..6]) as i32;
        let month = two_digits(&bytes[6..8]);
        let day = two_digits(&bytes[8..10]);
        if NaiveDate::from_ymd_opt(year, month, day).is_none() {
            return Err(CurpError::InvalidDate { year, month, day });
        }

        let state = &normalised[11..13];
        if Entity::from_code(state).is_none() {
            return Err(CurpError::State {
                found: state.to_string(),
            });
        }

        let word = &normalised[..4];
        if is_inconvenient(word) {
            return Err(CurpError::InconvenientWord {
                word: word.to_string(),
            });
        }

        let expected = compute_check_digit(&normalised[..17]);
        let found = char::from(bytes[17]);
        if expected != found {
            return Err(CurpError::CheckDigit { expected, found });
        }

        Ok(Curp(normalised))
    }

    /// The CURP as 18 upper-case ASCII characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date (positions 5-10, century from position 17).
    pub fn birth_date(&self) -> NaiveDate {
        let bytes = self.0.as_bytes();
        let year = century(bytes[16]) + two_digits(&bytes[4..6]) as i32;
        NaiveDate::from_ymd_opt(year, two_digits(&bytes[6..8]), two_digits(&bytes[8..10]))
            .expect("the date was checked when the CURP was parsed")
    }

    /// The sex (position 11).
    pub fn sex(&self) -> Sex {
        Sex::from_code(char::from(self.0.as_bytes()[10]))
            .expect("the sex was checked when the CURP was parsed")
    }

    /// The place of birth (positions 12-13); [`Entity::BornAbroad`] for NE.
    pub fn birth_entity(&self) -> Entity {
        Entity::from_code(&self.0[11..13]).expect("the state was checked when the CURP was parsed")
    }

    /// The first four and last four characters around an ellipsis (`PEGL…MS08`): enough for a
    /// person to recognise their CURP in a message without showing all of it.
    pub fn masked(&self) -> String {
        format!("{}\u{2026}{}", &self.0[..4], &self.0[CURP_LEN - 4..])
    }

    /// Compares the CURP's initials with those `name` gives by RENAPO's rules
    /// ([`expected_initials`]). `None` when they agree; a mismatch is a warning to show, never a
    /// reason to reject the CURP.
    pub fn check_name(&self, name: &PersonName) -> Option<InitialsMismatch> {
        let expected = expected_initials(name);
        let found = &self.0[..4];
        (expected != found).then(|| InitialsMismatch {
            expected,
            found: found.to_string(),
        })
    }
}

impl fmt::Display for Curp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Curp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Curp").field(&self.masked()).finish()
    }
}

impl AsRef<str> for Curp {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Curp {
    type Err = CurpError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Curp::parse(s)
    }
}

impl TryFrom<String> for Curp {
    type Error = CurpError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Curp::parse(&value)
    }
}

impl TryFrom<&str> for Curp {
    type Error = CurpError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Curp::parse(value)
    }
}

impl From<Curp> for String {
    fn from(curp: Curp) -> Self {
        curp.0
    }
}

#[cfg(test)]
mod tests;
