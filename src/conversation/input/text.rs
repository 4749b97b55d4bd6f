//! Free text as it is kept: cleaned of invisible characters and odd spacing, in NFC.

use unicode_normalization::UnicodeNormalization;

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

#[cfg(test)]
mod tests {
    use super::*;

    // Accented test inputs are written with escapes, per the house rule on string literals:
    // \u{e1} a-acute, \u{e9} e-acute, \u{ed} i-acute, \u{f3} o-acute, \u{c1} A-acute,
    // \u{cd} I-acute, \u{b0} degree sign, \u{ba} ordinal indicator.

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
}
