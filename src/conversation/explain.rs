//! Domain errors turned into replies: the template names what is wrong and how to fix it in
//! Spanish; here only which template and which values.

use chrono::NaiveDate;

use super::field::Field;
use super::input::DateError;
use super::reply::Reply;
use crate::domain::academic::AcademicDateError;
use crate::domain::curp::CurpError;
use crate::domain::email::EmailError;
use crate::domain::payment::PaymentKeyError;
use crate::domain::person::NameError;

pub(super) fn curp_error(error: &CurpError) -> Reply {
    let reply = Reply::new("curp_invalid").with("kind", error.key());
    match error {
        CurpError::Empty => reply,
        CurpError::Length { found } => reply.with("found", found),
        CurpError::Character {
            position,
            found,
            expected,
        } => reply
            .with("position", position)
            .with("found", found.to_string())
            .with("expected", expected.key()),
        CurpError::Sex { found } => reply.with("found", found.to_string()),
        CurpError::InvalidDate { year, month, day } => reply
            .with("year", year)
            .with("month", month)
            .with("day", day),
        CurpError::State { found } => reply.with("found", found),
        CurpError::InconvenientWord { word } => reply.with("found", word),
        CurpError::CheckDigit { expected, found } => reply
            .with("expected", expected.to_string())
            .with("found", found.to_string()),
    }
}

pub(super) fn name_error(error: &NameError) -> Reply {
    let reply = Reply::new("name_invalid").with("kind", error.key());
    match error {
        NameError::Digit { found } | NameError::Symbol { found } => {
            reply.with("found", found.to_string())
        }
        NameError::TooLong { max, .. } => reply.with("max", max),
        _ => reply,
    }
}

/// A date that could not be read at all.
pub(super) fn date_invalid(error: &DateError) -> Reply {
    let kind = match error {
        DateError::Empty => "empty",
        DateError::Unrecognised => "unrecognised",
        DateError::TwoDigitYear { .. } => "two_digit_year",
        DateError::MissingYear => "missing_year",
        DateError::NoSuchDay { .. } => "no_such_day",
        DateError::MonthOutOfRange { .. } => "month_out_of_range",
        DateError::UnknownMonth { .. } => "unknown_month",
    };
    Reply::new("date_invalid").with("kind", kind)
}

/// A date that was read but breaks a rule of the procedure.
pub(super) fn date_rule_error(error: &AcademicDateError) -> Reply {
    match error {
        AcademicDateError::InFuture { date } => Reply::new("date_rule")
            .with("kind", "in_future")
            .with("date", date),
        AcademicDateError::TooOld { date } => Reply::new("date_rule")
            .with("kind", "too_old")
            .with("date", date),
        AcademicDateError::ElectronicRoute { cutoff } => {
            Reply::new("electronic_route").with("cutoff", cutoff)
        }
        AcademicDateError::EndBeforeStart { start, end } => Reply::new("date_rule")
            .with("kind", "end_before_start")
            .with("date", end)
            .with("other", start),
        AcademicDateError::AfterTitle { date, title } => Reply::new("date_rule")
            .with("kind", "after_title")
            .with("date", date)
            .with("other", title),
    }
}

pub(super) fn payment_key_error(error: &PaymentKeyError) -> Reply {
    let (kind, length) = match error {
        PaymentKeyError::Empty => ("empty", 0),
        PaymentKeyError::Pattern { length } => ("pattern", *length),
    };
    Reply::new("payment_key_invalid")
        .with("kind", kind)
        .with("length", length)
}

pub(super) fn email_error(error: &EmailError) -> Reply {
    let kind = match error {
        EmailError::Empty => "empty",
        EmailError::MissingAt => "missing_at",
        EmailError::Spaces => "spaces",
        EmailError::BadDomain => "bad_domain",
        EmailError::BadLocal => "bad_local",
        EmailError::TooLong => "too_long",
    };
    Reply::new("email_invalid").with("kind", kind)
}

/// "Entendí: … (field)": a value read from a longer answer, said back.
pub(super) fn understood(field: Field, value: &str) -> Reply {
    Reply::new("understood")
        .with("field", field.label_key())
        .with("value", value)
}

/// A date read with judgement (a two-digit year, a date inside a sentence), said back in full.
pub(super) fn understood_date(field: Field, date: NaiveDate) -> Reply {
    Reply::new("understood")
        .with("field", field.label_key())
        .with("date", date.to_string())
}

/// The answer holds several values of the kind asked: list them and ask which (`dates` when
/// they are dates).
pub(super) fn several(field: Field, candidates: Vec<String>, dates: bool) -> Reply {
    Reply::new("value_ambiguous")
        .with("field", field.label_key())
        .with("candidates", candidates)
        .with("dates", dates)
}
