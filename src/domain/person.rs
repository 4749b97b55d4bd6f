//! A person's name as the applicant writes it: given names, first surname and an optional second
//! surname.
//!
//! Names are stored as people write them (accents, Ñ, apostrophes, hyphens and dots kept), only
//! tidied (surrounding and repeated spaces removed, Unicode composed). They appear on the
//! payment sheet and the application, and their initials are cross-checked against the CURP.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use unicode_normalization::UnicodeNormalization;

/// The longest name part accepted, in characters (after tidying).
pub const MAX_NAME_PART_CHARS: usize = 60;

/// Why a name part was not accepted. Each variant carries what an explanation needs.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    /// Nothing but spaces was written.
    #[error("the name is empty")]
    Empty,
    /// Longer than [`MAX_NAME_PART_CHARS`].
    #[error("the name has {length} characters, at most {max} are accepted")]
    TooLong {
        /// Characters found, after tidying.
        length: usize,
        /// The limit.
        max: usize,
    },
    /// A digit, which no name has (often a CURP or a date typed in the wrong answer).
    #[error("names have no digits, found {found:?}")]
    Digit {
        /// The first digit found.
        found: char,
    },
    /// A symbol other than the apostrophe, hyphen and dot that names use.
    #[error("names do not contain {found:?}")]
    Symbol {
        /// The first such symbol found.
        found: char,
    },
    /// Only punctuation (for example "." or "-"), no letter at all.
    #[error("the name has no letters")]
    NoLetters,
}

impl NameError {
    /// A stable ASCII key for the explanation template of this error.
    pub fn key(&self) -> &'static str {
        match self {
            NameError::Empty => "name.empty",
            NameError::TooLong { .. } => "name.too_long",
            NameError::Digit { .. } => "name.digit",
            NameError::Symbol { .. } => "name.symbol",
            NameError::NoLetters => "name.no_letters",
        }
    }
}

/// Punctuation that belongs in names: apostrophes (straight and typographic, as phones type
/// them: O'Higgins), hyphens (Perez-Tejada) and dots (Ma. Guadalupe).
fn is_name_punctuation(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '-' | '.')
}

/// Parses one part of a name (given names, or one surname): trims, collapses runs of spaces and
/// composes accents (a decomposed "a" + accent from some keyboards becomes one character), and
/// keeps everything else as written.
///
/// Rejects an empty part, digits, symbols other than apostrophe, hyphen and dot, a part with no
/// letter, and parts longer than [`MAX_NAME_PART_CHARS`] characters.
pub fn parse_name_part(input: &str) -> Result<String, NameError> {
    let composed: String = input.nfc().collect();
    let tidy = composed.split_whitespace().collect::<Vec<_>>().join(" ");
    if tidy.is_empty() {
        return Err(NameError::Empty);
    }
    // Characters are checked before the length so that a pasted paragraph with digits is
    // explained by its digits, the more useful message.
    for c in tidy.chars() {
        if c.is_numeric() {
            return Err(NameError::Digit { found: c });
        }
        if !(c.is_alphabetic() || c == ' ' || is_name_punctuation(c)) {
            return Err(NameError::Symbol { found: c });
        }
    }
    if !tidy.chars().any(char::is_alphabetic) {
        return Err(NameError::NoLetters);
    }
    let length = tidy.chars().count();
    if length > MAX_NAME_PART_CHARS {
        return Err(NameError::TooLong {
            length,
            max: MAX_NAME_PART_CHARS,
        });
    }
    Ok(tidy)
}

/// A person's full name, each part already checked by [`parse_name_part`].
///
/// Deserialising checks the parts again, so stored data cannot smuggle in an invalid name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawPersonName")]
pub struct PersonName {
    given_names: String,
    first_surname: String,
    second_surname: Option<String>,
}

/// The unchecked shape of [`PersonName`] in serialised data.
#[derive(Deserialize)]
struct RawPersonName {
    given_names: String,
    first_surname: String,
    #[serde(default)]
    second_surname: Option<String>,
}

impl TryFrom<RawPersonName> for PersonName {
    type Error = NameError;

    fn try_from(raw: RawPersonName) -> Result<Self, Self::Error> {
        PersonName::new(
            &raw.given_names,
            &raw.first_surname,
            raw.second_surname.as_deref(),
        )
    }
}

impl PersonName {
    /// Builds a name from its parts, each parsed with [`parse_name_part`].
    ///
    /// A second surname that is blank counts as absent (many people have only one surname and
    /// answer with an empty line). The error is that of the first invalid part, in the order
    /// given names, first surname, second surname: callers that need to say which part was
    /// wrong parse each answer with [`parse_name_part`] as it comes in.
    pub fn new(given: &str, first: &str, second: Option<&str>) -> Result<PersonName, NameError> {
        let given_names = parse_name_part(given)?;
        let first_surname = parse_name_part(first)?;
        let second_surname = match second {
            Some(part) if !part.trim().is_empty() => Some(parse_name_part(part)?),
            _ => None,
        };
        Ok(PersonName {
            given_names,
            first_surname,
            second_surname,
        })
    }

    /// The given name or names ("Luz María").
    pub fn given_names(&self) -> &str {
        &self.given_names
    }

    /// The first (usually paternal) surname.
    pub fn first_surname(&self) -> &str {
        &self.first_surname
    }

    /// The second (usually maternal) surname, if the person has one.
    pub fn second_surname(&self) -> Option<&str> {
        self.second_surname.as_deref()
    }

    /// The name in the usual Mexican order: given names, first surname, second surname.
    pub fn full_name(&self) -> String {
        let mut full = format!("{} {}", self.given_names, self.first_surname);
        if let Some(second) = &self.second_surname {
            full.push(' ');
            full.push_str(second);
        }
        full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_name_part_accepts_names_as_people_write_them() {
        let cases = [
            ("plain", "Luz", "Luz"),
            (
                "accents and spaces kept",
                "María de los Ángeles",
                "María de los Ángeles",
            ),
            ("apostrophe", "O'Higgins", "O'Higgins"),
            (
                "typographic apostrophe",
                "O\u{2019}Higgins",
                "O\u{2019}Higgins",
            ),
            ("hyphen", "Pérez-Tejada", "Pérez-Tejada"),
            ("dot of an abbreviation", "Ma. Guadalupe", "Ma. Guadalupe"),
            ("enye", "Núñez", "Núñez"),
            ("diaeresis", "Agüero", "Agüero"),
            ("trimmed", "  Juan  ", "Juan"),
            ("inner runs collapsed", "Juan   \t Carlos", "Juan Carlos"),
            ("decomposed accent composed", "Jose\u{301}", "José"),
            ("exactly 60 characters", &"a".repeat(60), &"a".repeat(60)),
            ("case kept", "McDONALD", "McDONALD"),
        ];
        for (description, input, expected) in cases {
            assert_eq!(
                parse_name_part(input).as_deref(),
                Ok(expected),
                "{description}"
            );
        }
    }

    #[test]
    fn parse_name_part_rejects_with_the_right_reason() {
        let cases = [
            ("empty", "", NameError::Empty),
            ("only spaces", "   \t ", NameError::Empty),
            ("digit", "Juan2", NameError::Digit { found: '2' }),
            (
                "a CURP typed in the wrong answer",
                "PEGL890909MJCRMS08",
                NameError::Digit { found: '8' },
            ),
            (
                "at sign",
                "juan@example.com",
                NameError::Symbol { found: '@' },
            ),
            ("comma", "Pérez, Juan", NameError::Symbol { found: ',' }),
            ("slash", "Luz/María", NameError::Symbol { found: '/' }),
            (
                "emoji",
                "Ana \u{1F600}",
                NameError::Symbol { found: '\u{1F600}' },
            ),
            ("only punctuation", "-", NameError::NoLetters),
            ("only dots", ". .", NameError::NoLetters),
            (
                "61 characters",
                &"a".repeat(61),
                NameError::TooLong {
                    length: 61,
                    max: 60,
                },
            ),
        ];
        for (description, input, expected) in cases {
            assert_eq!(parse_name_part(input), Err(expected), "{description}");
        }
    }

    #[test]
    fn length_is_counted_after_tidying_and_in_characters() {
        // 60 accented letters are 120 bytes but 60 characters.
        assert!(parse_name_part(&"á".repeat(60)).is_ok());
        // 60 letters with surrounding spaces are still 60 characters.
        assert!(parse_name_part(&format!("   {}   ", "b".repeat(60))).is_ok());
    }

    #[test]
    fn person_name_builds_and_formats() {
        let cases = [
            (
                "two surnames",
                ("Luz María", "Pérez", Some("Gómez")),
                "Luz María Pérez Gómez",
                Some("Gómez"),
            ),
            (
                "no second surname",
                ("Wendy", "Box", None),
                "Wendy Box",
                None,
            ),
            (
                "blank second surname counts as none",
                ("Wendy", "Box", Some("  ")),
                "Wendy Box",
                None,
            ),
            (
                "parts are tidied",
                ("  Juan ", " de la  Cruz ", Some(" Ramírez")),
                "Juan de la Cruz Ramírez",
                Some("Ramírez"),
            ),
        ];
        for (description, (given, first, second), full, expected_second) in cases {
            let name = PersonName::new(given, first, second).expect(description);
            assert_eq!(name.full_name(), full, "{description}");
            assert_eq!(name.second_surname(), expected_second, "{description}");
        }
    }

    #[test]
    fn person_name_getters() {
        let name = PersonName::new("Luz María", "Pérez", Some("Gómez")).unwrap();
        assert_eq!(name.given_names(), "Luz María");
        assert_eq!(name.first_surname(), "Pérez");
        assert_eq!(name.second_surname(), Some("Gómez"));
    }

    #[test]
    fn person_name_reports_the_first_invalid_part() {
        let cases = [
            ("empty given names", ("", "Pérez", None), NameError::Empty),
            (
                "digit in first surname",
                ("Luz", "P3rez", None),
                NameError::Digit { found: '3' },
            ),
            (
                "symbol in second surname",
                ("Luz", "Pérez", Some("G#mez")),
                NameError::Symbol { found: '#' },
            ),
        ];
        for (description, (given, first, second), expected) in cases {
            assert_eq!(
                PersonName::new(given, first, second),
                Err(expected),
                "{description}"
            );
        }
    }

    #[test]
    fn serde_round_trip_and_revalidation() {
        let name = PersonName::new("María José", "Hernández", Some("López")).unwrap();
        let json = serde_json::to_string(&name).unwrap();
        let back: PersonName = serde_json::from_str(&json).unwrap();
        assert_eq!(back, name);

        let no_second: PersonName =
            serde_json::from_str(r#"{"given_names":"Wendy","first_surname":"Box"}"#).unwrap();
        assert_eq!(no_second.second_surname(), None);

        let invalid = serde_json::from_str::<PersonName>(
            r#"{"given_names":"W3ndy","first_surname":"Box","second_surname":null}"#,
        );
        assert!(invalid.is_err());
    }

    #[test]
    fn error_keys_are_distinct() {
        let errors = [
            NameError::Empty,
            NameError::TooLong {
                length: 61,
                max: 60,
            },
            NameError::Digit { found: '1' },
            NameError::Symbol { found: '#' },
            NameError::NoLetters,
        ];
        let keys: std::collections::HashSet<_> = errors.iter().map(NameError::key).collect();
        assert_eq!(keys.len(), errors.len());
    }
}
