//! Collecting the request, one question at a time, in the order of the real procedure. The
//! questions are grouped by what they ask about, one file per group:
//!
//! - `identity`: the CURP, its confirmation, the name, initials that differ from the CURP's;
//! - `payment`: the level of studies (with the payment sheets) and the bank's payment key;
//! - `studies`: the institution, the program, the state, and the dates of title, exam and
//!   studies;
//! - `contact`: the e-mail address the cédula goes to.

mod contact;
mod identity;
mod payment;
mod studies;

use chrono::{Datelike, NaiveDate};

use super::go;
use crate::conversation::explain::{date_invalid, date_rule_error, several, understood_date};
use crate::conversation::field::Field;
use crate::conversation::input::{self, DateReading};
use crate::conversation::reply::Reply;
use crate::conversation::state::{Collecting, Draft, Question, Reviewing, State};
use crate::conversation::{ChannelKind, Context, Outcome, RequestOutcome};
use crate::domain::academic::AcademicDateError;

impl Collecting {
    pub(in crate::conversation) fn prompt(&self, ctx: &Context<'_>) -> Reply {
        let draft = &self.draft;
        let reply = match self.question {
            Question::Curp
            | Question::CurpConfirm
            | Question::GivenNames
            | Question::FirstSurname
            | Question::SecondSurname
            | Question::InitialsMismatch => identity::ask(draft, self.question, ctx),
            Question::Level | Question::PaymentKey => payment::ask(self.question, ctx),
            Question::Institution
            | Question::Program
            | Question::Entity
            | Question::TitleDate
            | Question::ExamDate
            | Question::StudyStart
            | Question::StudyEnd => studies::ask(self.question, ctx),
            Question::Email | Question::EmailConfirm => contact::ask(self.question, ctx),
        };
        reply.progress(self.question.step())
    }

    pub(in crate::conversation) fn on_text(&self, text: &str, ctx: &Context<'_>) -> Outcome {
        let draft = (*self.draft).clone();
        match self.question {
            Question::Curp
            | Question::CurpConfirm
            | Question::GivenNames
            | Question::FirstSurname
            | Question::SecondSurname
            | Question::InitialsMismatch => identity::answer(self, draft, text, ctx),
            Question::Level | Question::PaymentKey => payment::answer(self, draft, text, ctx),
            Question::Institution
            | Question::Program
            | Question::Entity
            | Question::TitleDate
            | Question::ExamDate
            | Question::StudyStart
            | Question::StudyEnd => studies::answer(self, draft, text, ctx),
            Question::Email | Question::EmailConfirm => contact::answer(self, draft, text, ctx),
        }
    }

    /// The outcome of this state's request (the payment key), or `None` when it is not one.
    pub(in crate::conversation) fn on_outcome(
        &self,
        outcome: &RequestOutcome,
        ctx: &Context<'_>,
    ) -> Option<Outcome> {
        payment::on_outcome(self, outcome, ctx)
    }

    /// Keeps this question, explaining with `explanation` and asking it again.
    fn stay(&self, explanation: Vec<Reply>, ctx: &Context<'_>) -> Outcome {
        go(self.clone(), explanation, ctx)
    }
}

/// After an answer: the next question, or the review when everything is there.
pub(in crate::conversation) fn advance(
    draft: Draft,
    before: Vec<Reply>,
    ctx: &Context<'_>,
) -> Outcome {
    let state = match next_question(&draft, ctx) {
        Some(question) => State::Collecting(Collecting {
            draft: Box::new(draft),
            question,
        }),
        None => State::Reviewing(Reviewing {
            draft: Box::new(draft),
        }),
    };
    go(state, before, ctx)
}

/// The first question whose answer is missing, in the order of the procedure.
fn next_question(draft: &Draft, ctx: &Context<'_>) -> Option<Question> {
    let q = if draft.curp.is_none() {
        Question::Curp
    } else if !draft.curp_confirmed {
        Question::CurpConfirm
    } else if draft.given_names.is_none() {
        Question::GivenNames
    } else if draft.first_surname.is_none() {
        Question::FirstSurname
    } else if draft.second_surname.is_none() {
        Question::SecondSurname
    } else if !draft.initials_accepted && identity::initials_mismatch(draft).is_some() {
        Question::InitialsMismatch
    } else if draft.level.is_none() {
        Question::Level
    } else if draft.payment_key.is_none() {
        Question::PaymentKey
    } else if draft.institution.is_none() {
        Question::Institution
    } else if draft.program.is_none() {
        Question::Program
    } else if draft.entity.is_none() {
        Question::Entity
    } else if draft.title_date.is_none() {
        Question::TitleDate
    } else if draft.exam.is_none() {
        Question::ExamDate
    } else if draft.study_start.is_none() {
        Question::StudyStart
    } else if draft.study_end.is_none() {
        Question::StudyEnd
    } else if draft.email.is_none() {
        match ctx.channel {
            ChannelKind::Email(_) => Question::EmailConfirm,
            _ => Question::Email,
        }
    } else {
        return None;
    };
    Some(q)
}

/// Parses a date and applies `accept`; any failure keeps the question and explains.
///
/// A date read with judgement (a two-digit year, a date inside a sentence) is said back in full
/// with the next question; several possible dates are listed and asked about.
fn with_date(
    state: &Collecting,
    text: &str,
    field: Field,
    ctx: &Context<'_>,
    accept: impl FnOnce(NaiveDate) -> Result<Draft, AcademicDateError>,
) -> Outcome {
    let today = ctx.today();
    let earliest = ctx.procedure.earliest_year;
    let plausible = |date: NaiveDate| date.year() >= earliest && date <= today;
    let (date, said) = match input::read_date(ctx.vocabulary(), text, plausible) {
        Ok(DateReading::Exact(date)) => (date, Vec::new()),
        Ok(DateReading::Inferred(date)) => (date, vec![understood_date(field, date)]),
        Ok(DateReading::Ambiguous(dates)) => {
            let dates = dates.iter().map(ToString::to_string).collect();
            return state.stay(vec![several(field, dates, true)], ctx);
        }
        Err(error) => return state.stay(vec![date_invalid(&error)], ctx),
    };
    match accept(date) {
        Ok(draft) => advance(draft, said, ctx),
        Err(error) => state.stay(vec![date_rule_error(&error)], ctx),
    }
}
