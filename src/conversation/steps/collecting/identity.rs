//! Who the applicant is: the CURP (read back in its parts to confirm), the given names and
//! surnames, and what to do when the name's initials differ from the CURP's.

use chrono::NaiveDate;
use serde::Serialize;

use super::advance;
use crate::conversation::explain::{curp_error, name_error, several};
use crate::conversation::field::Field;
use crate::conversation::input;
use crate::conversation::offer::{Action, Options, Picked, chose, yes_no};
use crate::conversation::read::{Read, curp_error_of, read_curp};
use crate::conversation::reply::Reply;
use crate::conversation::state::{Collecting, Draft, Question};
use crate::conversation::{Context, Outcome};
use crate::domain::curp::Curp;
use crate::domain::person::parse_name_part;

/// The values of `confirm_curp.txt`.
#[derive(Serialize)]
struct CurpRead<'a> {
    curp: &'a str,
    birth_date: NaiveDate,
    /// A label key (`sex.H`).
    sex: String,
    /// A label key (`entity.DF`).
    entity: String,
}

/// The values of `initials_mismatch.txt`.
#[derive(Serialize)]
struct InitialsMismatch {
    expected: String,
    found: String,
}

const MISMATCH_ACTIONS: [Action; 3] = [Action::KeepName, Action::FixName, Action::FixCurp];

pub(super) fn ask(draft: &Draft, question: Question, ctx: &Context<'_>) -> Reply {
    match question {
        Question::CurpConfirm => {
            let curp = draft.curp.as_ref().expect("CurpConfirm follows a CURP");
            Reply::new("confirm_curp")
                .vars(CurpRead {
                    curp: curp.as_str(),
                    birth_date: curp.birth_date(),
                    sex: format!("sex.{}", curp.sex().code()),
                    entity: format!("entity.{}", curp.birth_entity().code()),
                })
                .choices(vec![
                    Action::CorrectData.choice(ctx),
                    Action::WrongData.choice(ctx),
                ])
        }
        Question::GivenNames => Reply::new("ask_given_names"),
        Question::FirstSurname => Reply::new("ask_first_surname"),
        Question::SecondSurname => {
            Reply::new("ask_second_surname").choices(vec![Action::NoSecondSurname.choice(ctx)])
        }
        Question::InitialsMismatch => {
            let (expected, found) = initials_mismatch(draft).unwrap_or_default();
            Reply::new("initials_mismatch")
                .vars(InitialsMismatch { expected, found })
                .choices(Options::actions(&MISMATCH_ACTIONS, ctx).into_choices())
        }
        // Question::Curp (the collecting state sends only this file's questions here).
        _ => Reply::new("ask_curp"),
    }
}

pub(super) fn answer(
    state: &Collecting,
    mut draft: Draft,
    text: &str,
    ctx: &Context<'_>,
) -> Outcome {
    match state.question {
        Question::CurpConfirm => match yes_no(text, Action::CorrectData, Action::WrongData, ctx) {
            Some(true) => {
                draft.curp_confirmed = true;
                advance(draft, Vec::new(), ctx)
            }
            Some(false) => {
                draft.curp = None;
                advance(draft, vec![Reply::new("curp_retype")], ctx)
            }
            None => state.stay(vec![Reply::new("yes_no_expected")], ctx),
        },
        Question::GivenNames | Question::FirstSurname => match parse_name_part(text) {
            Ok(part) => {
                if state.question == Question::GivenNames {
                    draft.given_names = Some(part);
                } else {
                    draft.first_surname = Some(part);
                }
                advance(draft, Vec::new(), ctx)
            }
            Err(error) => state.stay(vec![name_error(&error)], ctx),
        },
        Question::SecondSurname => {
            if chose(text, Action::NoSecondSurname, ctx)
                || ctx.vocabulary().says_no_second_surname(text)
            {
                draft.second_surname = Some(None);
                return advance(draft, Vec::new(), ctx);
            }
            match parse_name_part(text) {
                Ok(part) => {
                    draft.second_surname = Some(Some(part));
                    advance(draft, Vec::new(), ctx)
                }
                Err(error) => state.stay(vec![name_error(&error)], ctx),
            }
        }
        Question::InitialsMismatch => {
            let options = Options::actions(&MISMATCH_ACTIONS, ctx);
            let picked = match input::parse_yes_no(ctx.vocabulary(), text) {
                Some(true) => Picked::One(Action::KeepName),
                _ => options.pick(text, ctx),
            };
            match picked {
                Picked::One(Action::KeepName) => {
                    draft.initials_accepted = true;
                    advance(draft, Vec::new(), ctx)
                }
                Picked::One(Action::FixName) => {
                    Field::Name.clear(&mut draft);
                    advance(draft, Vec::new(), ctx)
                }
                Picked::One(_) => {
                    Field::Curp.clear(&mut draft);
                    advance(draft, Vec::new(), ctx)
                }
                _ => state.stay(vec![options.not_understood(text, ctx)], ctx),
            }
        }
        // Question::Curp (the collecting state sends only this file's questions here).
        _ => answer_curp(state, draft, text, ctx),
    }
}

fn answer_curp(state: &Collecting, mut draft: Draft, text: &str, ctx: &Context<'_>) -> Outcome {
    match read_curp(text) {
        Read::Several(curps) => state.stay(vec![several(Field::Curp, curps, false)], ctx),
        Read::Nothing(error) => state.stay(vec![curp_error(&curp_error_of(text, error))], ctx),
        Read::Whole(curp) | Read::Within(curp)
            if let Some(refusal) = implausible_birth(&curp, ctx) =>
        {
            state.stay(vec![refusal], ctx)
        }
        // The CURP is shown back, read into its parts, by the next question.
        Read::Whole(curp) | Read::Within(curp) => {
            draft.curp = Some(curp);
            draft.curp_confirmed = false;
            draft.initials_accepted = false;
            advance(draft, Vec::new(), ctx)
        }
    }
}

/// The CURP's initials and the name's, when they differ.
pub(super) fn initials_mismatch(draft: &Draft) -> Option<(String, String)> {
    let curp = draft.curp.as_ref()?;
    let name = draft.name()?;
    curp.check_name(&name).map(|m| (m.expected, m.found))
}

/// The values of `curp_invalid.txt` for a birth date that cannot be the applicant's.
#[derive(Serialize)]
struct ImplausibleBirth<'a> {
    kind: &'a str,
    /// Characters 5-10 of the CURP.
    date_digits: &'a str,
    /// Character 17: a digit before 2000, a letter from 2000.
    homonymy: String,
    letter: bool,
    born: NaiveDate,
}

/// A CURP is a valid shape but its birth date cannot be the applicant's: in the future, or
/// younger than anyone holding a title. The century comes from character 17 (a digit before
/// 2000, a letter from 2000), so the explanation names characters 5-10 and 17.
fn implausible_birth(curp: &Curp, ctx: &Context<'_>) -> Option<Reply> {
    let today = ctx.today();
    let born = curp.birth_date();
    let homonymy = curp.as_str().chars().nth(16).unwrap_or_default();
    let reply = |kind: &str| {
        Reply::new("curp_invalid").vars(ImplausibleBirth {
            kind,
            date_digits: &curp.as_str()[4..10],
            homonymy: homonymy.to_string(),
            letter: homonymy.is_ascii_alphabetic(),
            born,
        })
    };
    if born > today {
        return Some(reply("curp.future_birth"));
    }
    let age = today.years_since(born).unwrap_or(0);
    let min_age = ctx.procedure.min_age_years;
    (age < min_age).then(|| {
        reply("curp.too_young")
            .with("age", age)
            .with("min_age", min_age)
    })
}
