//! Normalising the free text a person types into the values the dialogue works with: dates,
//! yes/no answers, commands, a pick among numbered choices, values written inside a sentence,
//! and cleaned free text.
//!
//! Every parser here is total: whatever arrives (empty, emoji, control characters, a whole
//! paragraph) gives a value or a precise "no", never a panic, and reads a bounded number of
//! words. The words themselves come from the [`Vocabulary`] (`templates/es-MX/vocabulary.toml`),
//! compared after [`fold`]; the sentences that answer a failure live in the templates, keyed by
//! the error variant.

mod choices;
mod commands;
mod dates;
mod text;
mod values;
mod yes_no;

pub use choices::{ChoiceMatch, ChoiceRef, find_choice, match_choice};
pub use commands::{Command, parse_command};
pub use dates::{DateError, DateReading, parse_date, read_date};
pub use text::clean;
pub use values::{Found, find_values};
pub use yes_no::parse_yes_no;

/// How many words of a message are searched for a value inside a sentence (a date, a CURP, a
/// choice's name): the work per message stays bounded whatever its length.
const SENTENCE_WORDS: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::vocabulary::Vocabulary;

    fn v() -> &'static Vocabulary {
        Vocabulary::es_mx()
    }

    const LEVELS: [ChoiceRef<'static>; 2] = [
        ChoiceRef {
            id: "licenciatura",
            label: "Licenciatura",
            aliases: &[],
        },
        ChoiceRef {
            id: "maestria",
            label: "Maestr\u{ed}a",
            aliases: &[],
        },
    ];

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
