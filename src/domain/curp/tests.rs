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
