//! Text folding shared by every parser of free text: what a person types is compared after
//! removing case, accents and surrounding noise, so "Sí", "si" and "SI" are the same word.

use unicode_normalization::UnicodeNormalization;

/// Lower-cases, strips diacritics (á→a, ü→u, ñ→n) and collapses runs of whitespace.
///
/// Used for matching input against vocabulary and labels, never for storing names: names keep
/// their accents and Ñ.
pub fn fold(input: &str) -> String {
    let stripped: String = input
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect();
    stripped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Upper-case ASCII form used by identifiers (CURP, payment keys): accents stripped, Ñ kept as Ñ.
pub fn upper_keep_enye(input: &str) -> String {
    input
        .chars()
        .flat_map(char::to_uppercase)
        .map(|c| match c {
            'Ñ' => 'Ñ',
            other => other.nfd().next().unwrap_or(other),
        })
        .collect()
}

fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}')
}

/// Lower-case hexadecimal of `bytes` (digests, tokens).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_removes_case_accents_and_extra_spaces() {
        let cases = [
            ("S\u{ed}", "si"),
            ("  MAR\u{cd}A   Jos\u{e9} ", "maria jose"),
            ("Pe\u{f1}a", "pena"),
            ("G\u{fc}ero", "guero"),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(fold(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn upper_keeps_enye_and_strips_other_accents() {
        assert_eq!(upper_keep_enye("N\u{fa}\u{f1}ez"), "NU\u{d1}EZ");
        assert_eq!(upper_keep_enye("jos\u{e9}"), "JOSE");
    }
}
