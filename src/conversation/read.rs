//! Reading a value of one kind from an answer: the whole answer when it is one, else the one
//! written inside a sentence (said back), else the several found (asked about), else why the
//! whole answer is not one.

use chrono::NaiveTime;

use super::explain::{email_error, several, understood};
use super::field::Field;
use super::input::{self, Found};
use super::reply::Reply;
use super::vocabulary::Vocabulary;
use crate::domain::curp::{Curp, CurpError};
use crate::domain::email::{EmailAddress, EmailError};
use crate::domain::payment::{PaymentKey, PaymentKeyError, PaymentKeyRule};
use crate::domain::text::fold;

/// A value of the kind asked, read from an answer.
pub(super) enum Read<T, E> {
    /// The whole answer is the value.
    Whole(T),
    /// The one value of the kind written inside a sentence: said back.
    Within(T),
    /// Several values of the kind, as shown: the person is asked which one.
    Several(Vec<String>),
    /// None: why the whole answer is not one.
    Nothing(E),
}

/// A value of one kind: the whole answer when it is one, else what `found` finds inside it
/// (see [`input::find_values`]).
fn read_value<T: PartialEq, E>(
    whole: Result<T, E>,
    found: impl FnOnce() -> Found<T>,
    shown: impl Fn(&T) -> String,
) -> Read<T, E> {
    let error = match whole {
        Ok(value) => return Read::Whole(value),
        Err(error) => error,
    };
    match found() {
        Found::One(value) => Read::Within(value),
        Found::Several(values) => Read::Several(values.iter().map(shown).collect()),
        Found::Nothing => Read::Nothing(error),
    }
}

/// The CURP the answer is, or the one written inside it (in up to four groups).
pub(super) fn read_curp(text: &str) -> Read<Curp, CurpError> {
    read_value(
        Curp::parse(text),
        || input::find_values(text, 4, |_| true, |piece| Curp::parse(piece).ok()),
        |curp| curp.as_str().to_string(),
    )
}

/// Why the answer holds no CURP: the error of the one word shaped like a CURP (eighteen
/// letters and digits) when the answer is a sentence holding one, else `whole`, the error of
/// the whole answer.
pub(super) fn curp_error_of(text: &str, whole: CurpError) -> CurpError {
    let shaped = |piece: &str| {
        piece.chars().count() == 18
            && piece.chars().all(char::is_alphanumeric)
            && piece.chars().any(|c| c.is_ascii_digit())
    };
    match input::find_values(text, 1, |_| false, |p| shaped(p).then(|| p.to_string())) {
        Found::One(piece) => Curp::parse(&piece).err().unwrap_or(whole),
        _ => whole,
    }
}

/// The payment key the answer is, or the one written inside it (in up to three groups). In a
/// sentence a key must hold a digit: a ten-letter word is a word.
pub(super) fn read_payment_key(
    text: &str,
    rule: &PaymentKeyRule,
) -> Read<PaymentKey, PaymentKeyError> {
    let has_digit = |piece: &str| piece.chars().any(|c| c.is_ascii_digit());
    read_value(
        PaymentKey::parse(text, rule),
        || {
            input::find_values(text, 3, has_digit, |piece| {
                PaymentKey::parse(piece, rule)
                    .ok()
                    .filter(|_| has_digit(piece))
            })
        },
        |key| key.as_str().to_string(),
    )
}

/// The address the answer is, or the one written inside it.
fn read_email(text: &str) -> Read<EmailAddress, EmailError> {
    read_value(
        EmailAddress::parse(text),
        || {
            let address = |piece: &str| {
                piece
                    .contains('@')
                    .then(|| EmailAddress::parse(piece).ok())
                    .flatten()
            };
            input::find_values(text, 1, |_| false, address)
        },
        |address| address.as_str().to_string(),
    )
}

/// The e-mail question's answer: the address and what to say back, or the explanation.
pub(super) fn email_answer(text: &str) -> Result<(EmailAddress, Vec<Reply>), Box<Reply>> {
    match read_email(text) {
        Read::Whole(address) => Ok((address, Vec::new())),
        Read::Within(address) => {
            let said = understood(Field::Email, address.as_str());
            Ok((address, vec![said]))
        }
        Read::Several(addresses) => Err(Box::new(several(Field::Email, addresses, false))),
        Read::Nothing(error) => Err(Box::new(email_error(&error))),
    }
}

/// Institution and program names as typed: kept, within reason.
pub(super) fn free_text(text: &str) -> Result<String, &'static str> {
    let value = input::clean(text);
    let letters = value.chars().filter(|c| c.is_alphabetic()).count();
    if letters < 2 {
        Err("too_short")
    } else if value.chars().count() > 200 {
        Err("too_long")
    } else {
        Ok(value)
    }
}

/// "9", "9:00", "09.30", "9:30 am", "10 hrs" → a time (the endings are the vocabulary's).
pub(super) fn parse_time(vocabulary: &Vocabulary, text: &str) -> Option<NaiveTime> {
    let folded = fold(text);
    let cleaned = vocabulary
        .time_suffixes
        .iter()
        .fold(folded.as_str(), |rest, suffix| {
            rest.trim_end_matches(suffix.as_str())
        })
        .trim();
    let (hours, minutes) = match cleaned.split_once([':', '.']) {
        Some((h, m)) => (h.trim().parse::<u32>().ok()?, m.trim().parse::<u32>().ok()?),
        None => (cleaned.parse::<u32>().ok()?, 0),
    };
    NaiveTime::from_hms_opt(hours, minutes, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_with_the_endings_people_write() {
        let vocabulary = Vocabulary::es_mx();
        let time = |h, m| NaiveTime::from_hms_opt(h, m, 0);
        for (typed, expected) in [
            ("9", time(9, 0)),
            ("9:00", time(9, 0)),
            ("09.30", time(9, 30)),
            ("9:30 am", time(9, 30)),
            ("9:30 a.m.", time(9, 30)),
            ("10 hrs", time(10, 0)),
            ("10:30 Hrs", time(10, 30)),
            ("11h", time(11, 0)),
            ("las diez", None),
            ("25:00", None),
        ] {
            assert_eq!(parse_time(vocabulary, typed), expected, "{typed:?}");
        }
    }
}
