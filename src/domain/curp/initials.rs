//! The four letters of CURP positions 1-4 that a name gives, by RENAPO's rules.

use super::is_inconvenient;
use crate::domain::person::PersonName;
use crate::domain::text::upper_keep_enye;

/// Words skipped at the start of a compound surname or given name ("De la Cruz" gives C).
const PARTICLES: [&str; 19] = [
    "DA", "DAS", "DD", "DE", "DEL", "DER", "DI", "DIE", "EL", "LA", "LAS", "LE", "LES", "LOS",
    "MAC", "MC", "VAN", "VON", "Y",
];

/// First given names that are skipped when a second given name follows (after removing dots,
/// so "MA." and "J." are covered).
const SKIPPED_FIRST_NAMES: [&str; 4] = ["MARIA", "MA", "JOSE", "J"];

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::curp::{Curp, InitialsMismatch};

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
}
