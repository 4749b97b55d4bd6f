//! Requests about the conversation itself ("ayuda", "/start"), valid in any state.

use crate::conversation::vocabulary::Vocabulary;
use crate::domain::text::fold;

use super::clean;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn v() -> &'static Vocabulary {
        Vocabulary::es_mx()
    }

    // Accented test inputs are written with escapes, per the house rule on string literals:
    // \u{e1} a-acute, \u{e9} e-acute, \u{ed} i-acute, \u{f3} o-acute, \u{c1} A-acute,
    // \u{cd} I-acute, \u{b0} degree sign, \u{ba} ordinal indicator.

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
}
