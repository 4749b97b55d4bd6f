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
use crate::domain::text::upper_keep_enye;

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

/// Words skipped at the start of a compound surname or given name ("De la Cruz" gives C).
const PARTICLES: [&str; 19] = [
    "DA", "DAS", "DD", "DE", "DEL", "DER", "DI", "DIE", "EL", "LA", "LAS", "LE", "LES", "LOS",
    "MAC", "MC", "VAN", "VON", "Y",
];

/// First given names that are skipped when a second given name follows (after removing dots,
/// so "MA." and "J." are covered).
const SKIPPED_FIRST_NAMES: [&str; 4] = ["MARIA", "MA", "JOSE", "J"];

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

/// Splits a name part into upper-case words without accents (Ñ kept, so that it becomes X
/// where it would be used). Hyphens and dots separate words ("PEREZ-TEJADA", "MA.GUADALUPE");
/// apostrophes join them ("O'HIGGINS" is one word, OHIGGINS).
fn name_words(part: &str) -> Vec<String> {
    let cleaned: String = upper_keep_enye(part)
        .chars()
        .filter(|c| !matches!(c, '\'' | '\u{2019}'))
        .map(|c| if matches!(c, '-' | '.') { ' ' } else { c })
        .collect();
    cleaned.split_whitespace().map(str::to_string).collect()
}

/// The words that count: leading and inner particles removed, unless nothing else is left (a
/// surname that is only "De" still gives its D).
fn significant_words(part: &str) -> Vec<String> {
    let words = name_words(part);
    let significant: Vec<String> = words
        .iter()
        .filter(|word| !PARTICLES.contains(&word.as_str()))
        .cloned()
        .collect();
    if significant.is_empty() {
        words
    } else {
        significant
    }
}

/// The first letter of a word as used in a CURP: A-Z as is; Ñ and any other character give X.
fn initial_of(word: &str) -> char {
    match word.chars().next() {
        Some(c) if c.is_ascii_uppercase() => c,
        _ => 'X',
    }
}

/// The first vowel after the first letter, or X when there is none.
fn first_internal_vowel(word: &str) -> char {
    word.chars()
        .skip(1)
        .find(|c| matches!(c, 'A' | 'E' | 'I' | 'O' | 'U'))
        .unwrap_or('X')
}

/// The four letters of CURP positions 1-4 that `name` gives by RENAPO's rules:
///
/// 1. first letter of the first surname;
/// 2. its first internal vowel, or X;
/// 3. first letter of the second surname, or X when there is none;
/// 4. first letter of the given name, skipping a leading MARIA, MA., JOSE or J. when a second
///    given name follows.
///
/// Accents are removed, Ñ and other non-ASCII letters give X, leading particles of compound
/// names (DE, DEL, LA, LOS, MC, VON, ...) are skipped, and when the result is an inconvenient
/// word its second letter becomes X.
pub fn expected_initials(name: &PersonName) -> String {
    let first = significant_words(name.first_surname());
    let first_word = first.first().map_or("", String::as_str);

    let third = name
        .second_surname()
        .map(significant_words)
        .and_then(|words| words.first().map(|word| initial_of(word)))
        .unwrap_or('X');

    let given = significant_words(name.given_names());
    let given_word = match given.as_slice() {
        [skipped, next, ..] if SKIPPED_FIRST_NAMES.contains(&skipped.as_str()) => next.as_str(),
        [only, ..] => only.as_str(),
        [] => "",
    };

    let mut initials: Vec<char> = vec![
        initial_of(first_word),
        first_internal_vowel(first_word),
        third,
        initial_of(given_word),
    ];
    if is_inconvenient(&initials.iter().collect::<String>()) {
        initials[1] = 'X';
    }
    initials.into_iter().collect()
}

/// A tiny xorshift64 generator: deterministic test data without a dependency.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        // A splitmix64 step spreads nearby seeds apart and never leaves the state at zero
        // (where xorshift would stay forever).
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        XorShift(if z == 0 { 0x9E37_79B9_7F4A_7C15 } else { z })
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (the modulo bias is irrelevant for test data).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn pick_char(&mut self, alphabet: &str) -> char {
        let chars: Vec<char> = alphabet.chars().collect();
        chars[self.below(chars.len())]
    }
}

/// Builds a random but valid CURP from `seed`, the same one for the same seed: dates in both
/// centuries (the homonymy character matching), all three sex codes, every state code
/// including NE, no inconvenient word, a correct check digit.
///
/// Test support for unit tests, integration tests and benchmarks; not for production use.
#[doc(hidden)]
pub fn generate_valid(seed: u64) -> Curp {
    const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const DIGITS: &str = "0123456789";
    let mut rng = XorShift::new(seed);

    let mut initials: Vec<char> = (0..4).map(|_| rng.pick_char(LETTERS)).collect();
    if is_inconvenient(&initials.iter().collect::<String>()) {
        // What RENAPO does; no listed word has X in second place, so this is never listed.
        initials[1] = 'X';
    }

    let in_2000s = rng.below(2) == 1;
    let year = if in_2000s { 2000 } else { 1900 } + rng.below(100) as i32;
    let month = rng.below(12) as u32 + 1;
    let days_in_month = (28..=31)
        .rev()
        .find(|day| NaiveDate::from_ymd_opt(year, month, *day).is_some())
        .unwrap_or(28);
    let day = rng.below(days_in_month as usize) as u32 + 1;

    let sex = [Sex::Male, Sex::Female, Sex::NonBinary][rng.below(3)];
    let entity = if rng.below(Entity::ALL.len() + 1) == Entity::ALL.len() {
        Entity::BornAbroad
    } else {
        Entity::ALL[rng.below(Entity::ALL.len())]
    };
    let consonants: String = (0..3).map(|_| rng.pick_char(CONSONANTS)).collect();
    let homonymy = rng.pick_char(if in_2000s { LETTERS } else { DIGITS });

    let initials: String = initials.into_iter().collect();
    let first_17 = format!(
        "{initials}{:02}{month:02}{day:02}{}{}{consonants}{homonymy}",
        year % 100,
        sex.code(),
        entity.code(),
    );
    let text = format!("{first_17}{}", compute_check_digit(&first_17));
    Curp::parse(&text).expect("the generator only builds valid CURPs")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The valid examples of DOMAIN.md (public test suites).
    const VALID: [&str; 6] = [
        "HEGG560427MVZRRL04",
        "BEML920313HMCLNS09",
        "PEGL890909MJCRMS08",
        "MARR890512HMNRMN09",
        "BOXW310820HNERXN09",
        "SABC560626MDFLRN01",
    ];

    /// Replaces the character at 0-based `index`.
    fn substitute(curp: &str, index: usize, c: char) -> String {
        curp.chars()
            .enumerate()
            .map(|(i, original)| if i == index { c } else { original })
            .collect()
    }

    /// Builds the 17 first characters plus their correct check digit.
    fn with_check_digit(first_17: &str) -> String {
        format!("{first_17}{}", compute_check_digit(first_17))
    }

    #[test]
    fn domain_valid_examples_parse() {
        for text in VALID {
            let curp = Curp::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(curp.as_str(), text);
        }
    }

    #[test]
    fn domain_invalid_examples_fail_with_the_right_error() {
        let cases = [
            (
                "wrong check digit",
                "PEGL890909MJCRMS09",
                CurpError::CheckDigit {
                    expected: '8',
                    found: '9',
                },
            ),
            (
                "inconvenient word",
                "BACA890909MJCRMS05",
                CurpError::InconvenientWord {
                    word: "BACA".into(),
                },
            ),
            (
                "month 13",
                "PEGL891313MJCRMS06",
                CurpError::InvalidDate {
                    year: 1989,
                    month: 13,
                    day: 13,
                },
            ),
            ("sex Q", "PEGL890909QJCRMS08", CurpError::Sex { found: 'Q' }),
            (
                "state QQ",
                "PEGL890909MQQRMS02",
                CurpError::State { found: "QQ".into() },
            ),
        ];
        for (description, input, expected) in cases {
            assert_eq!(Curp::parse(input), Err(expected), "{description}: {input}");
        }
    }

    #[test]
    fn each_check_reports_its_own_error() {
        let cases = [
            ("empty", "", CurpError::Empty),
            ("only separators", "  - . -  ", CurpError::Empty),
            (
                "17 characters",
                "PEGL890909MJCRMS0",
                CurpError::Length { found: 17 },
            ),
            (
                "19 characters",
                "PEGL890909MJCRMS080",
                CurpError::Length { found: 19 },
            ),
            (
                "length counts characters, not bytes",
                "PEGL890909MJCRMS0\u{d1}",
                CurpError::Character {
                    position: 18,
                    found: '\u{d1}',
                    expected: Expected::Digit,
                },
            ),
            (
                "digit among the initials",
                "P3GL890909MJCRMS08",
                CurpError::Character {
                    position: 2,
                    found: '3',
                    expected: Expected::Letter,
                },
            ),
            (
                "enye among the initials (written X in a CURP)",
                "PE\u{d1}L890909MJCRMS08",
                CurpError::Character {
                    position: 3,
                    found: '\u{d1}',
                    expected: Expected::Letter,
                },
            ),
            (
                "letter O typed for a zero in the date",
                "PEGL89O909MJCRMS08",
                CurpError::Character {
                    position: 7,
                    found: 'O',
                    expected: Expected::Digit,
                },
            ),
            (
                "sex position holding a digit",
                "PEGL8909091JCRMS08",
                CurpError::Sex { found: '1' },
            ),
            (
                "digit in the state",
                "PEGL890909MJ1RMS08",
                CurpError::Character {
                    position: 13,
                    found: '1',
                    expected: Expected::Letter,
                },
            ),
            (
                "vowel among the consonants",
                "PEGL890909MJCAMS08",
                CurpError::Character {
                    position: 14,
                    found: 'A',
                    expected: Expected::Consonant,
                },
            ),
            (
                "symbol in the homonymy position",
                "PEGL890909MJCRMS*8",
                CurpError::Character {
                    position: 17,
                    found: '*',
                    expected: Expected::DigitOrLetter,
                },
            ),
            (
                "letter O typed for a zero as check digit",
                "PEGL890909MJCRMS0O",
                CurpError::Character {
                    position: 18,
                    found: 'O',
                    expected: Expected::Digit,
                },
            ),
            (
                "the first wrong position is reported",
                "1EGL89090AMJCRMS08",
                CurpError::Character {
                    position: 1,
                    found: '1',
                    expected: Expected::Letter,
                },
            ),
            (
                "day zero",
                "PEGL890900MJCRMS08",
                CurpError::InvalidDate {
                    year: 1989,
                    month: 9,
                    day: 0,
                },
            ),
            (
                "29 February 1900 (digit: 1900s, not a leap year)",
                "PEGL000229MJCRMS08",
                CurpError::InvalidDate {
                    year: 1900,
                    month: 2,
                    day: 29,
                },
            ),
            (
                "31 April",
                "PEGL890431MJCRMS08",
                CurpError::InvalidDate {
                    year: 1989,
                    month: 4,
                    day: 31,
                },
            ),
            (
                "date is checked before the state",
                "PEGL891313MQQRMS08",
                CurpError::InvalidDate {
                    year: 1989,
                    month: 13,
                    day: 13,
                },
            ),
            (
                "state is checked before the word",
                "BACA890909MQQRMS08",
                CurpError::State { found: "QQ".into() },
            ),
            (
                "word is checked before the check digit",
                "PEDO890909MJCRMS00",
                CurpError::InconvenientWord {
                    word: "PEDO".into(),
                },
            ),
        ];
        for (description, input, expected) in cases {
            assert_eq!(Curp::parse(input), Err(expected), "{description}: {input}");
        }
    }

    #[test]
    fn leap_day_follows_the_century_of_position_17() {
        // 29 February 2000 exists: a letter in position 17 means the 2000s.
        let text = with_check_digit("PEGL000229MJCRMSA");
        let curp = Curp::parse(&text).unwrap();
        assert_eq!(
            curp.birth_date(),
            NaiveDate::from_ymd_opt(2000, 2, 29).unwrap()
        );
    }

    #[test]
    fn normalises_case_and_separators_only() {
        let cases = [
            ("lower case", "pegl890909mjcrms08"),
            ("spaces", "PEGL 890909 MJCRMS 08"),
            ("dashes", "PEGL-890909-MJCRMS-08"),
            ("dots", "PEGL.890909.MJCRMS.08"),
            (
                "lower case with spaces and dashes",
                "  pegl-890909 mjcrms-08 ",
            ),
            ("tabs and newline", "\tPEGL890909MJCRMS08\n"),
            ("unicode dash from a phone", "PEGL\u{2013}890909MJCRMS08"),
            ("mixed case", "PeGl890909mJcRmS08"),
        ];
        for (description, input) in cases {
            let curp = Curp::parse(input).unwrap_or_else(|e| panic!("{description}: {e:?}"));
            assert_eq!(curp.as_str(), "PEGL890909MJCRMS08", "{description}");
        }
        // Other punctuation is not silently removed.
        assert_eq!(
            Curp::parse("PEGL/890909MJCRMS08"),
            Err(CurpError::Length { found: 19 })
        );
    }

    #[test]
    fn accessors_derive_date_sex_and_state() {
        let cases = [
            (
                "woman born in Jalisco in 1989",
                "PEGL890909MJCRMS08",
                (1989, 9, 9),
                Sex::Female,
                Entity::Jalisco,
            ),
            (
                "man born abroad in 1931",
                "BOXW310820HNERXN09",
                (1931, 8, 20),
                Sex::Male,
                Entity::BornAbroad,
            ),
            (
                "woman born in Mexico City (DF)",
                "SABC560626MDFLRN01",
                (1956, 6, 26),
                Sex::Female,
                Entity::CiudadDeMexico,
            ),
        ];
        for (description, text, (y, m, d), sex, entity) in cases {
            let curp = Curp::parse(text).unwrap();
            assert_eq!(
                curp.birth_date(),
                NaiveDate::from_ymd_opt(y, m, d).unwrap(),
                "{description}"
            );
            assert_eq!(curp.sex(), sex, "{description}");
            assert_eq!(curp.birth_entity(), entity, "{description}");
        }
    }

    #[test]
    fn non_binary_and_2000s_are_accepted() {
        let text = with_check_digit("PEGL050101XJCRMSA");
        let curp = Curp::parse(&text).unwrap();
        assert_eq!(curp.sex(), Sex::NonBinary);
        assert_eq!(curp.sex().code(), 'X');
        assert_eq!(curp.sex().key(), "non_binary");
        assert_eq!(
            curp.birth_date(),
            NaiveDate::from_ymd_opt(2005, 1, 1).unwrap()
        );
    }

    #[test]
    fn display_masked_debug_and_conversions() {
        let curp = Curp::parse("pegl890909mjcrms08").unwrap();
        assert_eq!(curp.to_string(), "PEGL890909MJCRMS08");
        assert_eq!(curp.masked(), "PEGL\u{2026}MS08");
        assert_eq!(format!("{curp:?}"), "Curp(\"PEGL\u{2026}MS08\")");
        assert_eq!(AsRef::<str>::as_ref(&curp), "PEGL890909MJCRMS08");
        assert_eq!("PEGL890909MJCRMS08".parse::<Curp>(), Ok(curp.clone()));
        assert_eq!(Curp::try_from("PEGL890909MJCRMS08"), Ok(curp.clone()));
        assert_eq!(String::from(curp), "PEGL890909MJCRMS08");
    }

    #[test]
    fn serde_is_a_string_and_deserialising_revalidates() {
        let curp = Curp::parse("PEGL890909MJCRMS08").unwrap();
        let json = serde_json::to_string(&curp).unwrap();
        assert_eq!(json, "\"PEGL890909MJCRMS08\"");
        assert_eq!(serde_json::from_str::<Curp>(&json).unwrap(), curp);
        // Normalised on the way in, like any other input.
        assert_eq!(
            serde_json::from_str::<Curp>("\"pegl-890909-mjcrms-08\"").unwrap(),
            curp
        );
        assert!(serde_json::from_str::<Curp>("\"PEGL890909MJCRMS09\"").is_err());
    }

    #[test]
    fn check_digit_of_the_examples() {
        for text in VALID {
            let expected = text.chars().last().unwrap();
            assert_eq!(compute_check_digit(&text[..17]), expected, "{text}");
        }
    }

    #[test]
    fn inconvenient_word_list_is_complete_and_sorted() {
        assert_eq!(INCONVENIENT_WORDS.len(), 81);
        assert!(INCONVENIENT_WORDS.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(
            INCONVENIENT_WORDS
                .iter()
                .all(|word| word.len() == 4 && word.bytes().all(|b| b.is_ascii_uppercase()))
        );
        // The replacement never lands on another listed word.
        assert!(
            INCONVENIENT_WORDS
                .iter()
                .all(|word| word.as_bytes()[1] != b'X')
        );
    }

    #[test]
    fn every_inconvenient_word_is_rejected_even_with_a_correct_check_digit() {
        for word in INCONVENIENT_WORDS {
            let text = with_check_digit(&format!("{word}890909MJCRMS0"));
            assert_eq!(
                Curp::parse(&text),
                Err(CurpError::InconvenientWord {
                    word: word.to_string()
                }),
                "{text}"
            );
        }
    }

    #[test]
    fn two_thousand_generated_curps_parse_and_cover_every_code() {
        let mut sexes = HashSet::new();
        let mut entities = HashSet::new();
        let mut centuries = HashSet::new();
        for seed in 0..2_000 {
            let curp = generate_valid(seed);
            assert_eq!(
                Curp::parse(curp.as_str()).as_ref(),
                Ok(&curp),
                "seed {seed}"
            );
            sexes.insert(curp.sex());
            entities.insert(curp.birth_entity());
            centuries.insert(curp.birth_date().format("%C").to_string());
        }
        assert_eq!(sexes.len(), 3, "all three sex codes");
        assert_eq!(entities.len(), 33, "all 32 states and NE");
        assert_eq!(centuries.len(), 2, "both centuries");
    }

    #[test]
    fn generator_is_deterministic() {
        for seed in [0, 1, 42, u64::MAX] {
            assert_eq!(generate_valid(seed), generate_valid(seed), "seed {seed}");
        }
        assert_ne!(generate_valid(1), generate_valid(2));
    }

    /// Every single-character substitution (by 0-9, A-Z or Ñ) of a valid CURP fails to parse,
    /// except those the check digit is blind to by construction: a weighted sum mod 10 cannot
    /// see a change whose value difference times the position's weight is a multiple of 10
    /// (for example any other digit in position 9, weight 10). Those are asserted to be the only
    /// survivors, so no substitution the scheme can detect goes unnoticed.
    #[test]
    fn single_character_substitutions_fail_unless_the_check_digit_is_blind_to_them() {
        let alphabet: Vec<char> = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\u{d1}"
            .chars()
            .collect();
        let originals = [
            "PEGL890909MJCRMS08",
            "BOXW310820HNERXN09",
            "SABC560626MDFLRN01",
        ];
        let mut survivors = 0;
        let mut tried = 0;
        for original in originals {
            for (index, before) in original.chars().enumerate() {
                for &after in alphabet.iter().filter(|c| **c != before) {
                    tried += 1;
                    let mutated = substitute(original, index, after);
                    if Curp::parse(&mutated).is_err() {
                        continue;
                    }
                    survivors += 1;
                    let weight = (CURP_LEN - index) as i64;
                    let delta = i64::from(check_value(after)) - i64::from(check_value(before));
                    assert!(
                        index < CURP_LEN - 1 && after != '\u{d1}' && (weight * delta) % 10 == 0,
                        "{mutated} (position {}, {before} -> {after}) should not parse",
                        index + 1
                    );
                }
            }
        }
        // 36 replacements (37 characters less the original) at 18 positions of 3 CURPs.
        assert_eq!(tried, 3 * 18 * 36);
        // The blind spot is small: 142 of the 1,944 substitutions here (about 7%), all of them
        // changes the weighted sum cannot see.
        assert!(survivors * 10 < tried, "{survivors} of {tried} survived");
    }

    #[test]
    fn expected_initials_follow_renapo_rules() {
        let cases = [
            (
                "plain two surnames",
                ("Luz María", "Pérez", Some("Gómez")),
                "PEGL",
            ),
            (
                "MARIA skipped before a second given name",
                ("María José", "Hernández", Some("López")),
                "HELJ",
            ),
            (
                "MA. skipped",
                ("Ma. Guadalupe", "Sánchez", Some("Bravo")),
                "SABG",
            ),
            ("J. skipped", ("J. Refugio", "García", Some("Luna")), "GALR"),
            (
                "JOSE skipped",
                ("José Antonio", "Martínez", Some("Ruiz")),
                "MARA",
            ),
            (
                "a lone JOSE is kept",
                ("José", "Martínez", Some("Ruiz")),
                "MARJ",
            ),
            (
                "a lone MARIA is kept",
                ("María", "Ramos", Some("Díaz")),
                "RADM",
            ),
            (
                "particles in given names skipped too",
                ("María de los Ángeles", "Torres", Some("Ugalde")),
                "TOUA",
            ),
            (
                "compound surname De la Cruz gives C and U",
                ("Juan", "de la Cruz", Some("Ramírez")),
                "CURJ",
            ),
            (
                "particle in second surname",
                ("Ana", "López", Some("del Valle")),
                "LOVA",
            ),
            (
                "Mc as a separate particle",
                ("Mario", "Mc Gregor", Some("Soto")),
                "GESM",
            ),
            ("no second surname gives X", ("Wendy", "Box", None), "BOXW"),
            (
                "internal vowel after N of Nunez",
                ("Alberto", "Núñez", Some("Ortiz")),
                "NUOA",
            ),
            (
                "leading enye gives X",
                ("Eduardo", "Ñeco", Some("Ruiz")),
                "XERE",
            ),
            (
                "enye starting the second surname gives X",
                ("Luis", "Torres", Some("Ñúñez")),
                "TOXL",
            ),
            (
                "no internal vowel gives X",
                ("Ana", "Wynn", Some("Ruiz")),
                "WXRA",
            ),
            (
                "apostrophe ignored",
                ("Juan Pablo", "O'Higgins", Some("Riquelme")),
                "OIRJ",
            ),
            (
                "hyphenated surname uses its first part",
                ("Luis", "Pérez-Tejada", Some("Ruiz")),
                "PERL",
            ),
            (
                "inconvenient word PEDO becomes PXDO",
                ("Olga", "Pérez", Some("Domínguez")),
                "PXDO",
            ),
            (
                "inconvenient word BACA becomes BXCA",
                ("Ana", "Barrios", Some("Castro")),
                "BXCA",
            ),
            (
                "DOMAIN example SABC",
                ("Concepción", "Salgado", Some("Briseño")),
                "SABC",
            ),
        ];
        for (description, (given, first, second), expected) in cases {
            let name = PersonName::new(given, first, second).expect(description);
            assert_eq!(expected_initials(&name), expected, "{description}");
        }
    }

    #[test]
    fn check_name_warns_only_on_mismatch() {
        let cases = [
            (
                "matching name",
                "PEGL890909MJCRMS08",
                ("Luz María", "Pérez", Some("Gómez")),
                None,
            ),
            (
                "matching name without second surname",
                "BOXW310820HNERXN09",
                ("Wendy", "Box", None),
                None,
            ),
            (
                "surnames swapped",
                "PEGL890909MJCRMS08",
                ("Luz", "Gómez", Some("Pérez")),
                Some(("GOPL", "PEGL")),
            ),
            (
                "different given name",
                "HEGG560427MVZRRL04",
                ("Rosa", "Hernández", Some("García")),
                Some(("HEGR", "HEGG")),
            ),
        ];
        for (description, curp, (given, first, second), expected) in cases {
            let curp = Curp::parse(curp).unwrap();
            let name = PersonName::new(given, first, second).unwrap();
            let expected = expected.map(|(expected, found): (&str, &str)| InitialsMismatch {
                expected: expected.to_string(),
                found: found.to_string(),
            });
            assert_eq!(curp.check_name(&name), expected, "{description}");
        }
    }

    #[test]
    fn error_messages_name_the_position_and_the_kind() {
        let error = Curp::parse("PEGL890909MJCRMS*8").unwrap_err();
        assert_eq!(
            error.to_string(),
            "position 17 should be a digit or letter, found '*'"
        );
    }

    #[test]
    fn error_keys_are_distinct() {
        let errors = [
            CurpError::Empty,
            CurpError::Length { found: 3 },
            CurpError::Character {
                position: 1,
                found: '1',
                expected: Expected::Letter,
            },
            CurpError::Sex { found: 'Q' },
            CurpError::InvalidDate {
                year: 1989,
                month: 13,
                day: 1,
            },
            CurpError::State { found: "QQ".into() },
            CurpError::InconvenientWord {
                word: "BACA".into(),
            },
            CurpError::CheckDigit {
                expected: '1',
                found: '2',
            },
        ];
        let keys: HashSet<_> = errors.iter().map(CurpError::key).collect();
        assert_eq!(keys.len(), errors.len());
    }
}
