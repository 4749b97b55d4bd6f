//! The transitions of the dialogue. Every path ends in an [`Outcome`]; bad input returns the
//! same state with an explanation and the question again, so nothing is lost.

use chrono::{Datelike, NaiveDate, NaiveTime};

use super::input::{self, ChoiceMatch, ChoiceRef, Command, DateReading, Found};
use super::reply::{CalendarDay, CalendarView, Choice, Reply};
use super::state::{
    AppRef, Confirmable, Draft, Question, STEP_CONSENT, STEP_DAY, STEP_OFFICE, STEP_REVIEW,
    STEP_SLOT, State,
};
use super::{
    ApplicationView, ChannelKind, Context, Effect, Input, Outcome, Request, RequestOutcome,
};
use crate::conversation::vocabulary::squash;
use crate::domain::academic::{self, AcademicDateError, Level, ProfessionalExam};
use crate::domain::calendar::{self, DayStatus, Office};
use crate::domain::curp::{Curp, CurpError};
use crate::domain::document::DocumentRef;
use crate::domain::email::{EmailAddress, EmailError};
use crate::domain::entity::Entity;
use crate::domain::fees::Concept;
use crate::domain::payment::{self, PaymentKey, PaymentKeyError, PaymentKeyRule};
use crate::domain::person::{NameError, parse_name_part};
use crate::domain::text::fold;
use crate::templates::clock_time;

/// One step of the dialogue.
pub fn step(state: &State, input: &Input, ctx: &Context<'_>) -> Outcome {
    let text = match input {
        Input::Outcome(outcome) => return on_outcome(state, outcome, ctx),
        Input::Unsupported(kind) => return unsupported(state, kind, ctx),
        Input::Text(text) | Input::Choice(text) => input::clean(text),
    };
    if text.is_empty() {
        return unsupported(state, "empty", ctx);
    }
    if let Some(command) = input::parse_command(ctx.vocabulary(), &text) {
        return on_command(state, command, ctx);
    }
    match state {
        State::New | State::Closed { .. } => welcome(None, ctx),
        State::AwaitingConsent => on_consent(&text, ctx),
        State::Collecting { draft, question } => on_answer(state, draft, *question, &text, ctx),
        State::Reviewing { draft } => on_review(state, draft, &text, ctx),
        State::ChoosingCorrection { draft } => on_correction(state, draft, &text, ctx),
        State::ChoosingOffice { app, replacing } => on_office(state, app, *replacing, &text, ctx),
        State::ChoosingDay {
            app,
            office,
            month,
            offered,
            replacing,
        } => on_day(state, app, office, *month, offered, *replacing, &text, ctx),
        State::ChoosingSlot {
            app,
            office,
            day,
            offered,
            replacing,
        } => on_slot(state, app, office, *day, offered, *replacing, &text, ctx),
        State::Tracking { app } => on_tracking(state, app, &text, ctx),
        State::Confirming { action, resume } => on_confirm(state, *action, resume, &text, ctx),
    }
}

// ---------------------------------------------------------------------------------------------
// Building outcomes

/// Moves to `state`, saying `before` and then the question of the new state.
fn go(state: State, before: Vec<Reply>, ctx: &Context<'_>) -> Outcome {
    let mut replies = before;
    replies.extend(prompt(&state, ctx));
    Outcome {
        state,
        replies,
        effects: Vec::new(),
        request: None,
    }
}

/// Keeps `state`, explaining with `explanation` and asking the same question again.
fn stay(state: &State, explanation: Vec<Reply>, ctx: &Context<'_>) -> Outcome {
    go(state.clone(), explanation, ctx)
}

/// Keeps `state` and asks the store something; the answer comes back as `Input::Outcome`.
fn ask_store(state: &State, request: Request) -> Outcome {
    Outcome {
        state: state.clone(),
        replies: Vec::new(),
        effects: Vec::new(),
        request: Some(request),
    }
}

fn with_effects(mut outcome: Outcome, effects: Vec<Effect>) -> Outcome {
    outcome.effects.extend(effects);
    outcome
}

/// Greets (after `before`, if any) and asks for consent to the privacy notice.
fn welcome(before: Option<Reply>, ctx: &Context<'_>) -> Outcome {
    let replies = before.into_iter().chain([Reply::new("welcome")]).collect();
    go(State::AwaitingConsent, replies, ctx)
}

fn consent_prompt() -> Reply {
    Reply::new("privacy_notice")
        .progress(STEP_CONSENT)
        .choices(vec![choice_label("accept"), choice_label("decline")])
}

fn choice_label(key: &str) -> Choice {
    // Labels are resolved when the reply is built, see `labelled`.
    Choice::new(key, format!("choice.{key}"))
}

/// Replaces label keys (`choice.accept`) with their text; ids stay.
fn labelled(mut choices: Vec<Choice>, ctx: &Context<'_>) -> Vec<Choice> {
    for choice in &mut choices {
        if choice.label.starts_with("choice.") {
            choice.label = ctx.labels.get(&choice.label).to_string();
        }
    }
    choices
}

// ---------------------------------------------------------------------------------------------
// Questions

/// The question (or summary) a state asks, with its choices.
fn prompt(state: &State, ctx: &Context<'_>) -> Vec<Reply> {
    let replies = match state {
        State::New | State::AwaitingConsent => vec![consent_prompt()],
        State::Collecting { draft, question } => vec![ask(draft, *question, ctx)],
        State::Reviewing { draft } => vec![review(draft, ctx)],
        State::ChoosingCorrection { draft } => vec![
            Reply::new("choose_correction")
                .progress(STEP_REVIEW)
                .choices(correctable_fields(draft, ctx)),
        ],
        State::ChoosingOffice { .. } => vec![
            Reply::new("choose_office").progress(STEP_OFFICE).choices(
                ctx.procedure
                    .offices
                    .iter()
                    .map(|o| Choice::new(o.id.clone(), o.name.clone()))
                    .collect(),
            ),
        ],
        State::ChoosingDay {
            office,
            month,
            offered,
            ..
        } => {
            vec![day_prompt(office, *month, offered, ctx)]
        }
        State::ChoosingSlot {
            office,
            day,
            offered,
            ..
        } => {
            vec![slot_prompt(office, *day, offered, ctx)]
        }
        State::Tracking { app } => vec![tracking(app, ctx.application.as_ref(), ctx)],
        State::Confirming { action, .. } => vec![
            Reply::new("confirm")
                .with("action", action)
                .choices(vec![choice_label("yes"), choice_label("no")]),
        ],
        State::Closed { .. } => vec![Reply::new("closed").choices(vec![choice_label("start")])],
    };
    replies
        .into_iter()
        .map(|mut reply| {
            reply.choices = labelled(std::mem::take(&mut reply.choices), ctx);
            reply
        })
        .collect()
}

fn ask(draft: &Draft, question: Question, ctx: &Context<'_>) -> Reply {
    let reply = match question {
        Question::Curp => Reply::new("ask_curp"),
        Question::CurpConfirm => {
            let curp = draft.curp.as_ref().expect("CurpConfirm follows a CURP");
            Reply::new("confirm_curp")
                .with("curp", curp.as_str())
                .with("birth_date", curp.birth_date())
                .with("sex", format!("sex.{}", curp.sex().code()))
                .with("entity", format!("entity.{}", curp.birth_entity().code()))
                .choices(vec![
                    choice_label("correct_data"),
                    choice_label("wrong_data"),
                ])
        }
        Question::GivenNames => Reply::new("ask_given_names"),
        Question::FirstSurname => Reply::new("ask_first_surname"),
        Question::SecondSurname => {
            Reply::new("ask_second_surname").choices(vec![choice_label("no_second_surname")])
        }
        Question::InitialsMismatch => {
            let (expected, found) = initials_mismatch(draft).unwrap_or_default();
            Reply::new("initials_mismatch")
                .with("expected", expected)
                .with("found", found)
                .choices(vec![
                    choice_label("keep_name"),
                    choice_label("fix_name"),
                    choice_label("fix_curp"),
                ])
        }
        Question::Level => Reply::new("ask_level").choices(level_choices(ctx)),
        Question::PaymentKey => Reply::new("ask_payment_key"),
        Question::Institution => Reply::new("ask_institution"),
        Question::Program => Reply::new("ask_program"),
        Question::Entity => Reply::new("ask_entity").choices(entity_choices(ctx)),
        Question::TitleDate => {
            Reply::new("ask_title_date").with("cutoff", ctx.procedure.eligibility_cutoff)
        }
        Question::ExamDate => Reply::new("ask_exam_date").choices(vec![choice_label("exempt")]),
        Question::StudyStart => Reply::new("ask_study_start"),
        Question::StudyEnd => Reply::new("ask_study_end"),
        Question::Email => Reply::new("ask_email"),
        Question::EmailConfirm => {
            let address = match &ctx.channel {
                ChannelKind::Email(address) => address.as_str().to_string(),
                _ => String::new(),
            };
            Reply::new("confirm_sender_email")
                .with("address", address)
                .choices(vec![
                    choice_label("use_address"),
                    choice_label("other_address"),
                ])
        }
    };
    reply.progress(question.step())
}

fn level_choices(ctx: &Context<'_>) -> Vec<Choice> {
    Level::ALL
        .iter()
        .map(|l| Choice::new(l.key(), ctx.labels.get(&format!("level.{}", l.key()))))
        .collect()
}

fn entity_choices(ctx: &Context<'_>) -> Vec<Choice> {
    Entity::ALL
        .iter()
        .map(|e| Choice::new(e.code(), ctx.labels.get(&format!("entity.{}", e.code()))))
        .collect()
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
    } else if !draft.initials_accepted && initials_mismatch(draft).is_some() {
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

fn initials_mismatch(draft: &Draft) -> Option<(String, String)> {
    let curp = draft.curp.as_ref()?;
    let name = draft.name()?;
    curp.check_name(&name).map(|m| (m.expected, m.found))
}

/// After an answer: the next question, or the review when everything is there.
fn advance(draft: Draft, before: Vec<Reply>, ctx: &Context<'_>) -> Outcome {
    let state = match next_question(&draft, ctx) {
        Some(question) => State::Collecting {
            draft: Box::new(draft),
            question,
        },
        None => State::Reviewing {
            draft: Box::new(draft),
        },
    };
    go(state, before, ctx)
}

// ---------------------------------------------------------------------------------------------
// Consent and collection

fn on_consent(text: &str, ctx: &Context<'_>) -> Outcome {
    match yes_no(text, &[("accept", true), ("decline", false)], ctx) {
        Some(true) => advance(Draft::default(), vec![Reply::new("consent_thanks")], ctx),
        Some(false) => go(
            State::Closed { app: None },
            vec![Reply::new("consent_declined")],
            ctx,
        ),
        None => stay(
            &State::AwaitingConsent,
            vec![Reply::new("yes_no_expected")],
            ctx,
        ),
    }
}

/// Reads a yes/no answer: the words people use, or one of the offered choices.
fn yes_no(text: &str, choices: &[(&str, bool)], ctx: &Context<'_>) -> Option<bool> {
    if let Some(answer) = input::parse_yes_no(ctx.vocabulary(), text) {
        return Some(answer);
    }
    let offered: Vec<Choice> = labelled(
        choices.iter().map(|(key, _)| choice_label(key)).collect(),
        ctx,
    );
    match pick(text, &offered, ctx) {
        Picked::One(index) => Some(choices[index].1),
        _ => None,
    }
}

enum Picked {
    One(usize),
    Ambiguous(Vec<usize>),
    None,
}

/// The option the whole answer names (a number, an id, a label).
fn pick(text: &str, choices: &[Choice], ctx: &Context<'_>) -> Picked {
    picked(input::match_choice(
        ctx.vocabulary(),
        text,
        &refs(choices, &[]),
    ))
}

/// Where the other names of a question's options come from.
enum Names<'n> {
    /// The vocabulary's aliases of this group (`level`, `entity`).
    Group(&'n str),
    /// Given with the choices, in their order (squashed).
    Given(&'n [Vec<String>]),
}

/// The option the answer names, by any of its names, also inside a sentence (a city and an
/// abbreviated state); for questions whose options are names.
fn pick_named(text: &str, choices: &[Choice], names: Names<'_>, ctx: &Context<'_>) -> Picked {
    let vocabulary = ctx.vocabulary();
    let aliases: Vec<&[String]> = choices
        .iter()
        .enumerate()
        .map(|(index, choice)| match &names {
            Names::Group(group) => vocabulary.aliases(group, &choice.id),
            Names::Given(given) => given.get(index).map_or(&[][..], Vec::as_slice),
        })
        .collect();
    picked(input::find_choice(
        vocabulary,
        text,
        &refs(choices, &aliases),
    ))
}

fn refs<'c>(choices: &'c [Choice], aliases: &[&'c [String]]) -> Vec<ChoiceRef<'c>> {
    choices
        .iter()
        .enumerate()
        .map(|(index, c)| ChoiceRef {
            id: &c.id,
            label: &c.label,
            aliases: aliases.get(index).copied().unwrap_or(&[]),
        })
        .collect()
}

fn picked(found: ChoiceMatch) -> Picked {
    match found {
        ChoiceMatch::One(index) => Picked::One(index),
        ChoiceMatch::Ambiguous(indices) => Picked::Ambiguous(indices),
        ChoiceMatch::NoMatch => Picked::None,
    }
}

/// The explanation when a choice was not understood.
fn choice_not_understood(text: &str, choices: &[Choice], ctx: &Context<'_>) -> Reply {
    refusal(&pick(text, choices, ctx), choices)
}

/// The explanation for what `picked` found: the candidates when several fit, else how to
/// answer.
fn refusal(picked: &Picked, choices: &[Choice]) -> Reply {
    match picked {
        Picked::Ambiguous(indices) => Reply::new("choice_ambiguous").with(
            "candidates",
            indices
                .iter()
                .map(|i| choices[*i].label.clone())
                .collect::<Vec<_>>(),
        ),
        _ => Reply::new("choice_not_understood").with("count", choices.len()),
    }
}

fn on_answer(
    state: &State,
    draft: &Draft,
    question: Question,
    text: &str,
    ctx: &Context<'_>,
) -> Outcome {
    let mut draft = draft.clone();
    let today = today(ctx);
    match question {
        Question::Curp => match read_curp(text) {
            Read::Several(curps) => stay(state, vec![several("curp", curps)], ctx),
            Read::Nothing(error) => stay(state, vec![curp_error(&curp_error_of(text, error))], ctx),
            Read::Whole(curp) | Read::Within(curp)
                if let Some(refusal) = implausible_birth(&curp, today, ctx) =>
            {
                stay(state, vec![refusal], ctx)
            }
            // The CURP is shown back, read into its parts, by the next question.
            Read::Whole(curp) | Read::Within(curp) => {
                draft.curp = Some(curp);
                draft.curp_confirmed = false;
                draft.initials_accepted = false;
                advance(draft, Vec::new(), ctx)
            }
        },
        Question::CurpConfirm => {
            match yes_no(text, &[("correct_data", true), ("wrong_data", false)], ctx) {
                Some(true) => {
                    draft.curp_confirmed = true;
                    advance(draft, Vec::new(), ctx)
                }
                Some(false) => {
                    draft.curp = None;
                    advance(draft, vec![Reply::new("curp_retype")], ctx)
                }
                None => stay(state, vec![Reply::new("yes_no_expected")], ctx),
            }
        }
        Question::GivenNames | Question::FirstSurname => match parse_name_part(text) {
            Ok(part) => {
                if question == Question::GivenNames {
                    draft.given_names = Some(part);
                } else {
                    draft.first_surname = Some(part);
                }
                advance(draft, Vec::new(), ctx)
            }
            Err(error) => stay(state, vec![name_error(&error)], ctx),
        },
        Question::SecondSurname => {
            let chose_none = matches!(
                pick(
                    text,
                    &labelled(vec![choice_label("no_second_surname")], ctx),
                    ctx
                ),
                Picked::One(_)
            );
            if chose_none || ctx.vocabulary().says_no_second_surname(text) {
                draft.second_surname = Some(None);
                return advance(draft, Vec::new(), ctx);
            }
            match parse_name_part(text) {
                Ok(part) => {
                    draft.second_surname = Some(Some(part));
                    advance(draft, Vec::new(), ctx)
                }
                Err(error) => stay(state, vec![name_error(&error)], ctx),
            }
        }
        Question::InitialsMismatch => {
            let choices = labelled(
                vec![
                    choice_label("keep_name"),
                    choice_label("fix_name"),
                    choice_label("fix_curp"),
                ],
                ctx,
            );
            let picked = match input::parse_yes_no(ctx.vocabulary(), text) {
                Some(true) => Picked::One(0),
                _ => pick(text, &choices, ctx),
            };
            match picked {
                Picked::One(0) => {
                    draft.initials_accepted = true;
                    advance(draft, Vec::new(), ctx)
                }
                Picked::One(1) => {
                    clear_field(&mut draft, "name");
                    advance(draft, Vec::new(), ctx)
                }
                Picked::One(_) => {
                    clear_field(&mut draft, "curp");
                    advance(draft, Vec::new(), ctx)
                }
                _ => stay(state, vec![choice_not_understood(text, &choices, ctx)], ctx),
            }
        }
        Question::Level => {
            let choices = level_choices(ctx);
            match pick_named(text, &choices, Names::Group("level"), ctx) {
                Picked::One(index) => {
                    let level = Level::ALL[index];
                    draft.level = Some(level);
                    let sheets = payment_sheets(level, ctx);
                    advance(draft, vec![sheets], ctx)
                }
                other => stay(state, vec![refusal(&other, &choices)], ctx),
            }
        }
        Question::PaymentKey => match read_payment_key(text, &ctx.procedure.payment_key) {
            Read::Whole(key) => ask_store(state, Request::ClaimPaymentKey { key }),
            Read::Within(key) => {
                let said = understood("payment_key", key.as_str());
                let mut outcome = ask_store(state, Request::ClaimPaymentKey { key });
                outcome.replies = vec![said];
                outcome
            }
            Read::Several(keys) => stay(state, vec![several("payment_key", keys)], ctx),
            Read::Nothing(error) => stay(state, vec![payment_key_error(&error)], ctx),
        },
        Question::Institution | Question::Program => match free_text(text) {
            Ok(value) => {
                if question == Question::Institution {
                    draft.institution = Some(value);
                } else {
                    draft.program = Some(value);
                }
                advance(draft, Vec::new(), ctx)
            }
            Err(reason) => stay(
                state,
                vec![Reply::new("text_invalid").with("reason", reason)],
                ctx,
            ),
        },
        Question::Entity => {
            let choices = entity_choices(ctx);
            match pick_named(text, &choices, Names::Group("entity"), ctx) {
                Picked::One(index) => {
                    draft.entity = Some(Entity::ALL[index]);
                    advance(draft, Vec::new(), ctx)
                }
                other => stay(state, vec![refusal(&other, &choices)], ctx),
            }
        }
        Question::TitleDate => with_date(state, text, "title_date", ctx, |date| {
            academic::check_title_date(date, today, ctx.procedure.eligibility_cutoff)?;
            draft.title_date = Some(date);
            drop_inconsistent_dates(&mut draft, today);
            Ok(draft.clone())
        }),
        Question::ExamDate => {
            let exempt = matches!(
                pick(text, &labelled(vec![choice_label("exempt")], ctx), ctx),
                Picked::One(_)
            ) || ctx.vocabulary().says_exam_exempt(text);
            if exempt {
                draft.exam = Some(ProfessionalExam::Exempt);
                return advance(draft, Vec::new(), ctx);
            }
            let title = draft.title_date.unwrap_or(today);
            with_date(state, text, "exam", ctx, |date| {
                academic::check_exam_date(date, title, today)?;
                draft.exam = Some(ProfessionalExam::Taken(date));
                Ok(draft.clone())
            })
        }
        Question::StudyStart => {
            let title = draft.title_date.unwrap_or(today);
            with_date(state, text, "study_period", ctx, |date| {
                academic::check_study_start(date, title, today)?;
                draft.study_start = Some(date);
                if draft.study_end.is_some_and(|end| end <= date) {
                    draft.study_end = None;
                }
                Ok(draft.clone())
            })
        }
        Question::StudyEnd => {
            let title = draft.title_date.unwrap_or(today);
            let start = draft.study_start.unwrap_or(NaiveDate::MIN);
            with_date(state, text, "study_period", ctx, |date| {
                academic::check_study_end(date, start, title, today)?;
                draft.study_end = Some(date);
                Ok(draft.clone())
            })
        }
        Question::Email => match email_answer(text) {
            Ok((address, said)) => {
                draft.email = Some(address);
                advance(draft, said, ctx)
            }
            Err(refusal) => stay(state, vec![*refusal], ctx),
        },
        Question::EmailConfirm => {
            let answer = yes_no(
                text,
                &[("use_address", true), ("other_address", false)],
                ctx,
            );
            match (answer, &ctx.channel) {
                (Some(true), ChannelKind::Email(address)) => {
                    draft.email = Some(address.clone());
                    advance(draft, Vec::new(), ctx)
                }
                (Some(_), _) => go(
                    State::Collecting {
                        draft: Box::new(draft),
                        question: Question::Email,
                    },
                    Vec::new(),
                    ctx,
                ),
                // A typed address answers the question too.
                (None, _) => match email_answer(text) {
                    Ok((address, said)) => {
                        draft.email = Some(address);
                        advance(draft, said, ctx)
                    }
                    Err(_) => stay(state, vec![Reply::new("yes_no_expected")], ctx),
                },
            }
        }
    }
}

/// Parses a date and applies `accept`; any failure keeps the state and explains.
///
/// A date read with judgement (a two-digit year, a date inside a sentence) is said back in full
/// with the next question; several possible dates are listed and asked about.
fn with_date(
    state: &State,
    text: &str,
    field: &str,
    ctx: &Context<'_>,
    accept: impl FnOnce(NaiveDate) -> Result<Draft, AcademicDateError>,
) -> Outcome {
    let today = today(ctx);
    let earliest = ctx.procedure.earliest_year;
    let plausible = |date: NaiveDate| date.year() >= earliest && date <= today;
    let (date, said) = match input::read_date(ctx.vocabulary(), text, plausible) {
        Ok(DateReading::Exact(date)) => (date, Vec::new()),
        Ok(DateReading::Inferred(date)) => (
            date,
            vec![
                Reply::new("understood")
                    .with("field", format!("field.{field}"))
                    .with("date", date.to_string()),
            ],
        ),
        Ok(DateReading::Ambiguous(dates)) => {
            let dates = dates.iter().map(ToString::to_string).collect();
            let reply = several(field, dates).with("dates", true);
            return stay(state, vec![reply], ctx);
        }
        Err(error) => {
            return stay(
                state,
                vec![Reply::new("date_invalid").with("kind", date_error_kind(&error))],
                ctx,
            );
        }
    };
    match accept(date) {
        Ok(draft) => advance(draft, said, ctx),
        Err(error) => stay(state, vec![date_rule_error(&error)], ctx),
    }
}

/// A value of the kind asked, read from an answer.
enum Read<T, E> {
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
fn read_curp(text: &str) -> Read<Curp, CurpError> {
    read_value(
        Curp::parse(text),
        || input::find_values(text, 4, |_| true, |piece| Curp::parse(piece).ok()),
        |curp| curp.as_str().to_string(),
    )
}

/// The payment key the answer is, or the one written inside it (in up to three groups). In a
/// sentence a key must hold a digit: a ten-letter word is a word.
fn read_payment_key(text: &str, rule: &PaymentKeyRule) -> Read<PaymentKey, PaymentKeyError> {
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

/// Why the answer holds no CURP: the error of the one word shaped like a CURP (eighteen
/// letters and digits) when the answer is a sentence holding one, else `whole`, the error of
/// the whole answer.
fn curp_error_of(text: &str, whole: CurpError) -> CurpError {
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
fn email_answer(text: &str) -> Result<(EmailAddress, Vec<Reply>), Box<Reply>> {
    match read_email(text) {
        Read::Whole(address) => Ok((address, Vec::new())),
        Read::Within(address) => {
            let said = understood("email", address.as_str());
            Ok((address, vec![said]))
        }
        Read::Several(addresses) => Err(Box::new(several("email", addresses))),
        Read::Nothing(error) => Err(Box::new(email_error(&error))),
    }
}

/// "Entendí: … (field)": a value read from a longer answer, said back.
fn understood(field: &str, value: &str) -> Reply {
    Reply::new("understood")
        .with("field", format!("field.{field}"))
        .with("value", value)
}

/// The answer holds several values of the kind asked: list them and ask which.
fn several(field: &str, candidates: Vec<String>) -> Reply {
    Reply::new("value_ambiguous")
        .with("field", format!("field.{field}"))
        .with("candidates", candidates)
        .with("dates", false)
}

/// After a new title date, answers that no longer fit are asked again.
fn drop_inconsistent_dates(draft: &mut Draft, today: NaiveDate) {
    let Some(title) = draft.title_date else {
        return;
    };
    if let Some(ProfessionalExam::Taken(exam)) = draft.exam
        && academic::check_exam_date(exam, title, today).is_err()
    {
        draft.exam = None;
    }
    if draft.study_start.is_some_and(|d| d > title) {
        draft.study_start = None;
        draft.study_end = None;
    }
    if draft.study_end.is_some_and(|d| d > title) {
        draft.study_end = None;
    }
}

/// Institution and program names as typed: kept, within reason.
fn free_text(text: &str) -> Result<String, &'static str> {
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

fn today(ctx: &Context<'_>) -> NaiveDate {
    let zone = ctx
        .procedure
        .offices
        .first()
        .map(|o| o.time_zone)
        .unwrap_or(chrono_tz::UTC);
    ctx.now.with_timezone(&zone).date_naive()
}

/// The two payment help sheets, shown when the level is chosen.
fn payment_sheets(level: Level, ctx: &Context<'_>) -> Reply {
    let year = chrono::Datelike::year(&today(ctx));
    let procedure = ctx.procedure;
    let sheets: Vec<serde_json::Value> = Concept::ALL
        .iter()
        .map(|concept| {
            let fee = procedure.fees.fee(year, level, *concept);
            serde_json::json!({
                "concept": format!("concept.{}", concept.key()),
                "reference": payment::sheet_reference(
                    &procedure.clave_referencia, ctx.conversation_id, *concept, level),
                "amount": fee.map(|f| f.payable_pesos()),
            })
        })
        .collect();
    let total: Option<i64> = Concept::ALL
        .iter()
        .map(|c| procedure.fees.fee(year, level, *c).map(|f| f.0))
        .sum::<Option<i64>>()
        .map(|centavos| crate::domain::fees::Centavos(centavos).payable_pesos());
    let mut reply = Reply::new("payment_sheets");
    for concept in Concept::ALL {
        reply = reply.attach(DocumentRef::PaymentSheet {
            conversation_id: ctx.conversation_id,
            level: level.key().to_string(),
            concept: concept.key().to_string(),
            year,
        });
    }
    reply
        .with("level", format!("level.{}", level.key()))
        .with("agency", &procedure.agency)
        .with("cadena_dependencia", &procedure.cadena_dependencia)
        .with("sheets", sheets)
        .with("total", total)
        .with(
            "business_days",
            procedure.booking.business_days_after_payment,
        )
}

// ---------------------------------------------------------------------------------------------
// Review and corrections

fn review(draft: &Draft, ctx: &Context<'_>) -> Reply {
    let name = draft.name().map(|n| n.full_name());
    Reply::new("review")
        .progress(STEP_REVIEW)
        .with("curp", draft.curp.as_ref().map(|c| c.as_str().to_string()))
        .with("name", name)
        .with("level", draft.level.map(|l| format!("level.{}", l.key())))
        .with(
            "payment_key",
            draft.payment_key.as_ref().map(|k| k.as_str().to_string()),
        )
        .with("institution", &draft.institution)
        .with("program", &draft.program)
        .with(
            "entity",
            draft.entity.map(|e| format!("entity.{}", e.code())),
        )
        .with("title_date", draft.title_date)
        .with("exam", draft.exam)
        .with("study_start", draft.study_start)
        .with("study_end", draft.study_end)
        .with(
            "email",
            draft.email.as_ref().map(|e| e.as_str().to_string()),
        )
        .choices(labelled(
            vec![choice_label("submit"), choice_label("correct")],
            ctx,
        ))
}

fn on_review(state: &State, draft: &Draft, text: &str, ctx: &Context<'_>) -> Outcome {
    let choices = labelled(vec![choice_label("submit"), choice_label("correct")], ctx);
    let picked = match input::parse_yes_no(ctx.vocabulary(), text) {
        Some(true) => Picked::One(0),
        Some(false) => Picked::One(1),
        None => pick(text, &choices, ctx),
    };
    match picked {
        Picked::One(0) => match draft.complete() {
            Some(data) => ask_store(
                state,
                Request::Submit {
                    data: Box::new(data),
                },
            ),
            // Cannot happen through the dialogue; recover by asking what is missing.
            None => advance(draft.clone(), Vec::new(), ctx),
        },
        Picked::One(_) => go(
            State::ChoosingCorrection {
                draft: Box::new(draft.clone()),
            },
            vec![],
            ctx,
        ),
        _ => stay(state, vec![choice_not_understood(text, &choices, ctx)], ctx),
    }
}

/// The fields that can be corrected: those already answered.
fn correctable_fields(draft: &Draft, ctx: &Context<'_>) -> Vec<Choice> {
    let answered = [
        ("curp", draft.curp.is_some()),
        ("name", draft.given_names.is_some()),
        ("level", draft.level.is_some()),
        ("payment_key", draft.payment_key.is_some()),
        ("institution", draft.institution.is_some()),
        ("program", draft.program.is_some()),
        ("entity", draft.entity.is_some()),
        ("title_date", draft.title_date.is_some()),
        ("exam", draft.exam.is_some()),
        ("study_period", draft.study_start.is_some()),
        ("email", draft.email.is_some()),
    ];
    answered
        .iter()
        .filter(|(_, done)| *done)
        .map(|(key, _)| Choice::new(*key, ctx.labels.get(&format!("field.{key}"))))
        .collect()
}

/// Clears a field so that it is asked again; returns what must happen in the store.
fn clear_field(draft: &mut Draft, field: &str) -> Vec<Effect> {
    match field {
        "curp" => {
            draft.curp = None;
            draft.curp_confirmed = false;
            draft.initials_accepted = false;
        }
        "name" => {
            draft.given_names = None;
            draft.first_surname = None;
            draft.second_surname = None;
            draft.initials_accepted = false;
        }
        "level" => draft.level = None,
        "payment_key" => {
            draft.paid_on = None;
            if let Some(key) = draft.payment_key.take() {
                return vec![Effect::ReleasePaymentKey { key }];
            }
        }
        "institution" => draft.institution = None,
        "program" => draft.program = None,
        "entity" => draft.entity = None,
        "title_date" => draft.title_date = None,
        "exam" => draft.exam = None,
        "study_period" => {
            draft.study_start = None;
            draft.study_end = None;
        }
        "email" => draft.email = None,
        _ => {}
    }
    Vec::new()
}

fn on_correction(state: &State, draft: &Draft, text: &str, ctx: &Context<'_>) -> Outcome {
    let choices = correctable_fields(draft, ctx);
    match pick(text, &choices, ctx) {
        Picked::One(index) => {
            let mut draft = draft.clone();
            let effects = clear_field(&mut draft, &choices[index].id);
            with_effects(advance(draft, Vec::new(), ctx), effects)
        }
        _ => stay(state, vec![choice_not_understood(text, &choices, ctx)], ctx),
    }
}

// ---------------------------------------------------------------------------------------------
// Booking

fn office<'c>(ctx: &'c Context<'_>, id: &str) -> Option<&'c Office> {
    ctx.procedure.office(id)
}

fn on_office(
    state: &State,
    app: &AppRef,
    replacing: Option<i64>,
    text: &str,
    ctx: &Context<'_>,
) -> Outcome {
    let offices = &ctx.procedure.offices;
    let choices: Vec<Choice> = offices
        .iter()
        .map(|o| Choice::new(o.id.clone(), o.name.clone()))
        .collect();
    let aliases: Vec<Vec<String>> = offices
        .iter()
        .map(|o| o.aliases.iter().map(|a| squash(a)).collect())
        .collect();
    match pick_named(text, &choices, Names::Given(&aliases), ctx) {
        Picked::One(index) => {
            enter_month(app, &choices[index].id, None, replacing, Vec::new(), ctx)
        }
        other => stay(state, vec![refusal(&other, &choices)], ctx),
    }
}

/// The bookable window for this application.
fn window(ctx: &Context<'_>) -> (NaiveDate, NaiveDate) {
    let today = today(ctx);
    let paid_on = ctx.application.as_ref().map(|a| a.paid_on).unwrap_or(today);
    ctx.procedure.booking.window(today, paid_on)
}

fn day_statuses(
    office: &Office,
    month: NaiveDate,
    ctx: &Context<'_>,
) -> Vec<(NaiveDate, DayStatus)> {
    let window = window(ctx);
    calendar::month_days(month)
        .into_iter()
        .map(|day| {
            let taken = ctx.availability.day_taken(&office.id, day);
            (
                day,
                ctx.procedure.booking.day_status(office, day, window, taken),
            )
        })
        .collect()
}

/// Shows the calendar of `month` (or of the first month with a free day).
fn enter_month(
    app: &AppRef,
    office_id: &str,
    month: Option<NaiveDate>,
    replacing: Option<i64>,
    before: Vec<Reply>,
    ctx: &Context<'_>,
) -> Outcome {
    let Some(office) = office(ctx, office_id) else {
        return go(
            State::ChoosingOffice {
                app: app.clone(),
                replacing,
            },
            before,
            ctx,
        );
    };
    let (first, last) = window(ctx);
    let month = match month {
        Some(month) => month,
        None => {
            // The first month of the window that has a free day.
            let mut candidate = calendar::month_start(first);
            let mut found = None;
            while candidate <= last {
                if day_statuses(office, candidate, ctx)
                    .iter()
                    .any(|(_, s)| *s == DayStatus::Available)
                {
                    found = Some(candidate);
                    break;
                }
                candidate = calendar::next_month(candidate);
            }
            match found {
                Some(month) => month,
                None => {
                    let mut replies = before;
                    replies.push(Reply::new("no_days_available"));
                    return go(State::Tracking { app: app.clone() }, replies, ctx);
                }
            }
        }
    };
    let offered = day_statuses(office, month, ctx)
        .into_iter()
        .filter(|(_, s)| *s == DayStatus::Available)
        .map(|(d, _)| d)
        .collect();
    let state = State::ChoosingDay {
        app: app.clone(),
        office: office.id.clone(),
        month,
        offered,
        replacing,
    };
    go(state, before, ctx)
}

fn day_choices(month: NaiveDate, offered: &[NaiveDate], ctx: &Context<'_>) -> Vec<Choice> {
    let (first, last) = window(ctx);
    let mut choices: Vec<Choice> = offered
        .iter()
        .map(|d| Choice::new(d.to_string(), ctx.labels.short_date(*d)))
        .collect();
    if calendar::month_start(first) < month {
        choices.push(Choice::new("prev", ctx.labels.get("choice.previous_month")));
    }
    if calendar::next_month(month) <= last {
        choices.push(Choice::new("next", ctx.labels.get("choice.next_month")));
    }
    choices
}

fn day_prompt(
    office_id: &str,
    month: NaiveDate,
    offered: &[NaiveDate],
    ctx: &Context<'_>,
) -> Reply {
    let (first, last) = window(ctx);
    let statuses = office(ctx, office_id)
        .map(|o| day_statuses(o, month, ctx))
        .unwrap_or_default();
    let full: Vec<u32> = statuses
        .iter()
        .filter(|(_, s)| *s == DayStatus::Full)
        .map(|(d, _)| chrono::Datelike::day(d))
        .collect();
    let view = CalendarView {
        month,
        days: statuses
            .iter()
            .map(|(date, status)| CalendarDay {
                date: *date,
                status: (*status).into(),
            })
            .collect(),
        has_previous: calendar::month_start(first) < month,
        has_next: calendar::next_month(month) <= last,
    };
    Reply::new("choose_day")
        .progress(STEP_DAY)
        .with("month", month)
        .with("full_days", full)
        .with("available", offered.len())
        .with("first_day", first)
        .choices(day_choices(month, offered, ctx))
        .calendar(view)
}

#[allow(clippy::too_many_arguments)]
fn on_day(
    state: &State,
    app: &AppRef,
    office_id: &str,
    month: NaiveDate,
    offered: &[NaiveDate],
    replacing: Option<i64>,
    text: &str,
    ctx: &Context<'_>,
) -> Outcome {
    let choices = day_choices(month, offered, ctx);
    let chosen = match pick(text, &choices, ctx) {
        Picked::One(index) => match choices[index].id.as_str() {
            "prev" => {
                return enter_month(
                    app,
                    office_id,
                    Some(calendar::previous_month(month)),
                    replacing,
                    vec![],
                    ctx,
                );
            }
            "next" => {
                return enter_month(
                    app,
                    office_id,
                    Some(calendar::next_month(month)),
                    replacing,
                    vec![],
                    ctx,
                );
            }
            id => id.parse::<NaiveDate>().ok(),
        },
        Picked::Ambiguous(_) => None,
        Picked::None => input::parse_date(ctx.vocabulary(), text).ok(),
    };
    let Some(day) = chosen else {
        return stay(state, vec![choice_not_understood(text, &choices, ctx)], ctx);
    };
    let Some(office) = office(ctx, office_id) else {
        return go(
            State::ChoosingOffice {
                app: app.clone(),
                replacing,
            },
            vec![],
            ctx,
        );
    };
    let taken = ctx.availability.day_taken(office_id, day);
    match ctx
        .procedure
        .booking
        .day_status(office, day, window(ctx), taken)
    {
        DayStatus::Available => enter_day(app, office, day, replacing, Vec::new(), ctx),
        status => {
            let explanation = Reply::new("day_not_bookable")
                .with("day", day)
                .with("status", day_status_key(status));
            // Show the month of the day they asked for when it is within the window.
            let month_of_day = calendar::month_start(day);
            let (first, last) = window(ctx);
            if month_of_day != month && day >= calendar::month_start(first) && day <= last {
                enter_month(
                    app,
                    office_id,
                    Some(month_of_day),
                    replacing,
                    vec![explanation],
                    ctx,
                )
            } else {
                stay(state, vec![explanation], ctx)
            }
        }
    }
}

fn day_status_key(status: DayStatus) -> &'static str {
    match status {
        DayStatus::Available => "available",
        DayStatus::Full => "full",
        DayStatus::Closed => "closed",
        DayStatus::OutOfWindow => "out_of_window",
    }
}

fn enter_day(
    app: &AppRef,
    office: &Office,
    day: NaiveDate,
    replacing: Option<i64>,
    before: Vec<Reply>,
    ctx: &Context<'_>,
) -> Outcome {
    let capacity = office.slot_capacity();
    let offered: Vec<NaiveTime> = office
        .slots()
        .into_iter()
        .filter(|slot| ctx.availability.slot_taken(&office.id, day, *slot) < capacity)
        .collect();
    if offered.is_empty() {
        let mut replies = before;
        replies.push(
            Reply::new("day_not_bookable")
                .with("day", day)
                .with("status", "full"),
        );
        return enter_month(
            app,
            &office.id,
            Some(calendar::month_start(day)),
            replacing,
            replies,
            ctx,
        );
    }
    let state = State::ChoosingSlot {
        app: app.clone(),
        office: office.id.clone(),
        day,
        offered,
        replacing,
    };
    go(state, before, ctx)
}

fn slot_choices(offered: &[NaiveTime], ctx: &Context<'_>) -> Vec<Choice> {
    let mut choices: Vec<Choice> = offered
        .iter()
        .map(|t| Choice::new(clock_time(*t), clock_time(*t)))
        .collect();
    choices.push(Choice::new("other_day", ctx.labels.get("choice.other_day")));
    choices
}

fn slot_prompt(office_id: &str, day: NaiveDate, offered: &[NaiveTime], ctx: &Context<'_>) -> Reply {
    let office_name = office(ctx, office_id)
        .map(|o| o.name.clone())
        .unwrap_or_default();
    Reply::new("choose_slot")
        .progress(STEP_SLOT)
        .with("day", day)
        .with("office", office_name)
        .choices(slot_choices(offered, ctx))
}

/// "9", "9:00", "09.30", "9:30 am", "10 hrs" → a time.
fn parse_time(text: &str) -> Option<NaiveTime> {
    let folded = fold(text);
    let cleaned = folded
        .trim_end_matches("hrs")
        .trim_end_matches("hr")
        .trim_end_matches("h")
        .trim_end_matches("am")
        .trim_end_matches("a.m.")
        .trim();
    let (hours, minutes) = match cleaned.split_once([':', '.']) {
        Some((h, m)) => (h.trim().parse::<u32>().ok()?, m.trim().parse::<u32>().ok()?),
        None => (cleaned.parse::<u32>().ok()?, 0),
    };
    NaiveTime::from_hms_opt(hours, minutes, 0)
}

#[allow(clippy::too_many_arguments)]
fn on_slot(
    state: &State,
    app: &AppRef,
    office_id: &str,
    day: NaiveDate,
    offered: &[NaiveTime],
    replacing: Option<i64>,
    text: &str,
    ctx: &Context<'_>,
) -> Outcome {
    let choices = slot_choices(offered, ctx);
    let slot = match pick(text, &choices, ctx) {
        Picked::One(index) if choices[index].id == "other_day" => {
            return enter_month(
                app,
                office_id,
                Some(calendar::month_start(day)),
                replacing,
                vec![],
                ctx,
            );
        }
        Picked::One(index) => offered.get(index).copied(),
        _ => parse_time(text).filter(|t| offered.contains(t)),
    };
    match slot {
        Some(slot) => ask_store(
            state,
            Request::Book {
                application_id: app.id,
                office_id: office_id.to_string(),
                day,
                slot,
                replacing,
            },
        ),
        None => stay(state, vec![choice_not_understood(text, &choices, ctx)], ctx),
    }
}

// ---------------------------------------------------------------------------------------------
// After submission

/// Where the application stands, with what the applicant can do next.
fn tracking(app: &AppRef, view: Option<&ApplicationView>, ctx: &Context<'_>) -> Reply {
    let status = view.map(|v| v.status);
    let appointment = view.and_then(|v| v.appointment.as_ref());
    let office = appointment.and_then(|a| office(ctx, &a.office_id));
    let open = status.is_some_and(|s| s.is_open());
    let choices = match (open, appointment) {
        (true, Some(_)) => vec![
            choice_label("reschedule"),
            choice_label("cancel_appointment"),
            choice_label("withdraw"),
        ],
        (true, None) => vec![choice_label("book"), choice_label("withdraw")],
        (false, _) => Vec::new(),
    };
    Reply::new("status")
        .with("folio", app.folio.to_string())
        .with("status", status.map(|s| format!("status.{}", s.as_str())))
        .with("status_key", status.map(|s| s.as_str()))
        .with("day", appointment.map(|a| a.day))
        .with("slot", appointment.map(|a| clock_time(a.slot)))
        .with("office", office.map(|o| o.name.clone()))
        .with("address", office.map(|o| o.address.clone()))
        .choices(labelled(choices, ctx))
}

fn on_tracking(state: &State, app: &AppRef, text: &str, ctx: &Context<'_>) -> Outcome {
    let reply = tracking(app, ctx.application.as_ref(), ctx);
    let choices = reply.choices.clone();
    match pick(text, &choices, ctx) {
        Picked::One(index) => match choices[index].id.as_str() {
            "reschedule" => {
                let replacing = ctx
                    .application
                    .as_ref()
                    .and_then(|a| a.appointment.as_ref())
                    .map(|a| a.id);
                go(
                    State::ChoosingOffice {
                        app: app.clone(),
                        replacing,
                    },
                    vec![],
                    ctx,
                )
            }
            "book" => go(
                State::ChoosingOffice {
                    app: app.clone(),
                    replacing: None,
                },
                vec![],
                ctx,
            ),
            "cancel_appointment" => confirm(state, Confirmable::CancelAppointment, ctx),
            _ => confirm(state, Confirmable::Withdraw, ctx),
        },
        // Anything else: where the application stands and what can be done.
        _ => stay(state, Vec::new(), ctx),
    }
}

fn confirm(state: &State, action: Confirmable, ctx: &Context<'_>) -> Outcome {
    go(
        State::Confirming {
            action,
            resume: Box::new(state.clone()),
        },
        vec![],
        ctx,
    )
}

fn on_confirm(
    state: &State,
    action: Confirmable,
    resume: &State,
    text: &str,
    ctx: &Context<'_>,
) -> Outcome {
    match yes_no(text, &[("yes", true), ("no", false)], ctx) {
        Some(true) => perform(action, resume, ctx),
        Some(false) => go(resume.clone(), vec![Reply::new("nothing_changed")], ctx),
        None => stay(state, vec![Reply::new("yes_no_expected")], ctx),
    }
}

fn draft_of(state: &State) -> Option<&Draft> {
    match state {
        State::Collecting { draft, .. }
        | State::Reviewing { draft }
        | State::ChoosingCorrection { draft } => Some(draft),
        _ => None,
    }
}

fn release_key(state: &State) -> Vec<Effect> {
    draft_of(state)
        .and_then(|d| d.payment_key.clone())
        .map(|key| vec![Effect::ReleasePaymentKey { key }])
        .unwrap_or_default()
}

fn perform(action: Confirmable, resume: &State, ctx: &Context<'_>) -> Outcome {
    match action {
        Confirmable::Abandon => with_effects(
            go(
                State::Closed { app: None },
                vec![Reply::new("abandoned")],
                ctx,
            ),
            release_key(resume),
        ),
        Confirmable::Restart => with_effects(
            advance(Draft::default(), vec![Reply::new("restarted")], ctx),
            release_key(resume),
        ),
        Confirmable::CancelAppointment => {
            let Some(app) = resume.app().cloned() else {
                return go(resume.clone(), vec![Reply::new("nothing_to_cancel")], ctx);
            };
            let mut view = ctx.application.clone();
            let appointment = view.as_mut().and_then(|v| v.appointment.take());
            let Some(appointment) = appointment else {
                return go(
                    State::Tracking { app },
                    vec![Reply::new("nothing_to_cancel")],
                    ctx,
                );
            };
            if let Some(v) = view.as_mut() {
                v.status = crate::domain::application::Status::Submitted;
            }
            let replies = vec![
                Reply::new("appointment_cancelled")
                    .attach(DocumentRef::Invite {
                        appointment_id: appointment.id,
                        cancelled: true,
                    })
                    .with("day", appointment.day)
                    .with("slot", clock_time(appointment.slot)),
                tracking(&app, view.as_ref(), ctx),
            ];
            Outcome {
                state: State::Tracking { app: app.clone() },
                replies,
                effects: vec![Effect::CancelAppointment {
                    application_id: app.id,
                    appointment_id: appointment.id,
                }],
                request: None,
            }
        }
        Confirmable::Withdraw => {
            let Some(app) = resume.app().cloned() else {
                return go(resume.clone(), vec![Reply::new("nothing_to_cancel")], ctx);
            };
            let reply = Reply::new("withdrawn").with("folio", app.folio.to_string());
            with_effects(
                go(
                    State::Closed {
                        app: Some(app.clone()),
                    },
                    vec![reply],
                    ctx,
                ),
                vec![Effect::Withdraw {
                    application_id: app.id,
                }],
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Outcomes of requests

fn on_outcome(state: &State, outcome: &RequestOutcome, ctx: &Context<'_>) -> Outcome {
    match (state, outcome) {
        (State::Collecting { draft, .. }, RequestOutcome::PaymentKeyClaimed { key }) => {
            let mut draft = (**draft).clone();
            draft.payment_key = Some(key.clone());
            draft.paid_on = Some(today(ctx));
            advance(draft, Vec::new(), ctx)
        }
        (_, RequestOutcome::PaymentKeyTaken { .. }) => {
            stay(state, vec![Reply::new("payment_key_taken")], ctx)
        }
        (
            State::Reviewing { .. },
            RequestOutcome::Submitted {
                application_id,
                folio,
            },
        ) => {
            let app = AppRef {
                id: *application_id,
                folio: folio.clone(),
            };
            let reply = Reply::new("submitted")
                .with("folio", folio.to_string())
                .attach(DocumentRef::Request {
                    application_id: *application_id,
                });
            go(
                State::ChoosingOffice {
                    app,
                    replacing: None,
                },
                vec![reply],
                ctx,
            )
        }
        (State::ChoosingSlot { app, .. }, RequestOutcome::Booked { appointment }) => {
            let office = office(ctx, &appointment.office_id);
            let reply = Reply::new("booked")
                .attach(DocumentRef::AppointmentReceipt {
                    appointment_id: appointment.id,
                })
                .attach(DocumentRef::Invite {
                    appointment_id: appointment.id,
                    cancelled: false,
                })
                .with("folio", app.folio.to_string())
                .with("day", appointment.day)
                .with("slot", clock_time(appointment.slot))
                .with("office", office.map(|o| o.name.clone()))
                .with("address", office.map(|o| o.address.clone()));
            let mut view = ctx.application.clone();
            if let Some(v) = view.as_mut() {
                v.appointment = Some(appointment.clone());
                v.status = crate::domain::application::Status::Scheduled;
            }
            let status = tracking(app, view.as_ref(), ctx);
            Outcome {
                state: State::Tracking { app: app.clone() },
                replies: vec![reply, status],
                effects: Vec::new(),
                request: None,
            }
        }
        (
            State::ChoosingSlot {
                app,
                office: office_id,
                replacing,
                ..
            },
            RequestOutcome::DayFull { day },
        ) => {
            let explanation = Reply::new("day_not_bookable")
                .with("day", day)
                .with("status", "just_filled");
            enter_month(
                app,
                office_id,
                Some(calendar::month_start(*day)),
                *replacing,
                vec![explanation],
                ctx,
            )
        }
        (
            State::ChoosingSlot {
                app,
                office: office_id,
                replacing,
                ..
            },
            RequestOutcome::SlotFull { day, slot },
        ) => {
            let explanation = Reply::new("slot_just_filled").with("slot", clock_time(*slot));
            match office(ctx, office_id) {
                Some(office) => enter_day(app, office, *day, *replacing, vec![explanation], ctx),
                None => stay(state, vec![explanation], ctx),
            }
        }
        (_, RequestOutcome::NotOpen) => match state.app() {
            Some(app) => go(State::Tracking { app: app.clone() }, vec![], ctx),
            None => stay(state, vec![], ctx),
        },
        // An outcome that does not fit the state cannot come from this dialogue; keep the state.
        _ => stay(state, Vec::new(), ctx),
    }
}

// ---------------------------------------------------------------------------------------------
// Commands and unsupported input

fn on_command(state: &State, command: Command, ctx: &Context<'_>) -> Outcome {
    if matches!(state, State::New) {
        // Nothing to act on yet: greet (after the help, when that is what was asked).
        let help = (command == Command::Help).then(|| Reply::new("help"));
        return welcome(help, ctx);
    }
    match (command, state) {
        (Command::Start, State::New | State::Closed { .. }) => welcome(None, ctx),
        (Command::Help, State::New | State::Closed { .. }) => {
            welcome(Some(Reply::new("help")), ctx)
        }
        (Command::Start, _) => stay(state, vec![Reply::new("welcome_back")], ctx),
        (Command::Help, _) => stay(state, vec![Reply::new("help")], ctx),
        (Command::Status, _) => stay(state, vec![status(state, ctx)], ctx),
        (Command::Resend, _) => stay(state, vec![resend(state, ctx)], ctx),
        (Command::Correct, State::Collecting { draft, .. } | State::Reviewing { draft })
            if !correctable_fields(draft, ctx).is_empty() =>
        {
            go(
                State::ChoosingCorrection {
                    draft: draft.clone(),
                },
                vec![],
                ctx,
            )
        }
        (Command::Correct, State::ChoosingCorrection { .. }) => stay(state, vec![], ctx),
        (Command::Correct, _) if state.app().is_some() => {
            stay(state, vec![Reply::new("cannot_correct_submitted")], ctx)
        }
        (Command::Correct, _) => stay(state, vec![Reply::new("nothing_to_correct")], ctx),
        (Command::Cancel, State::Collecting { .. } | State::Reviewing { .. }) => {
            confirm(state, Confirmable::Abandon, ctx)
        }
        (Command::Cancel, State::ChoosingCorrection { draft }) => {
            advance((**draft).clone(), vec![Reply::new("nothing_changed")], ctx)
        }
        (
            Command::Cancel,
            State::ChoosingOffice { app, .. }
            | State::ChoosingDay { app, .. }
            | State::ChoosingSlot { app, .. },
        ) => go(
            State::Tracking { app: app.clone() },
            vec![Reply::new("nothing_changed")],
            ctx,
        ),
        (Command::Cancel, State::Tracking { .. }) => {
            let view = ctx.application.as_ref();
            match view {
                Some(v) if v.status.is_open() && v.appointment.is_some() => {
                    confirm(state, Confirmable::CancelAppointment, ctx)
                }
                Some(v) if v.status.is_open() => confirm(state, Confirmable::Withdraw, ctx),
                _ => stay(state, vec![Reply::new("nothing_to_cancel")], ctx),
            }
        }
        (Command::Cancel, State::Confirming { resume, .. }) => {
            go((**resume).clone(), vec![Reply::new("nothing_changed")], ctx)
        }
        (Command::Cancel, _) => stay(state, vec![Reply::new("nothing_to_cancel")], ctx),
        (
            Command::Restart,
            State::Collecting { .. } | State::Reviewing { .. } | State::ChoosingCorrection { .. },
        ) => confirm(state, Confirmable::Restart, ctx),
        (Command::Restart, State::New | State::AwaitingConsent | State::Closed { .. }) => {
            welcome(None, ctx)
        }
        (Command::Restart, _) => stay(state, vec![Reply::new("cannot_restart_submitted")], ctx),
    }
}

/// `estado`: where things stand, before or after submission.
fn status(state: &State, ctx: &Context<'_>) -> Reply {
    if let Some(app) = state.app() {
        let mut reply = tracking(app, ctx.application.as_ref(), ctx);
        reply.choices.clear();
        return reply;
    }
    let step = match state {
        State::Collecting { question, .. } => question.step(),
        State::Reviewing { .. } | State::ChoosingCorrection { .. } => STEP_REVIEW,
        _ => STEP_CONSENT,
    };
    Reply::new("status_draft")
        .with("step", step)
        .with("of", super::reply::TOTAL_STEPS)
}

/// `reenviar`: every document issued so far, again (payment sheets while the draft has a
/// level; the request, the appointment's receipt and invitation, the cédula once there).
fn resend(state: &State, ctx: &Context<'_>) -> Reply {
    let mut reply = Reply::new("documents_resent");
    let mut current = state;
    while let State::Confirming { resume, .. } = current {
        current = resume;
    }
    if let State::Collecting { draft, .. }
    | State::Reviewing { draft }
    | State::ChoosingCorrection { draft } = current
        && let Some(level) = draft.level
    {
        let year = chrono::Datelike::year(&today(ctx));
        for concept in Concept::ALL {
            reply = reply.attach(DocumentRef::PaymentSheet {
                conversation_id: ctx.conversation_id,
                level: level.key().to_string(),
                concept: concept.key().to_string(),
                year,
            });
        }
    }
    if let (Some(_), Some(view)) = (current.app(), ctx.application.as_ref()) {
        reply = reply.attach(DocumentRef::Request {
            application_id: view.id,
        });
        if let Some(appointment) = &view.appointment {
            reply = reply
                .attach(DocumentRef::AppointmentReceipt {
                    appointment_id: appointment.id,
                })
                .attach(DocumentRef::Invite {
                    appointment_id: appointment.id,
                    cancelled: false,
                });
        }
        if let Some(number) = view.cedula {
            reply = reply.attach(DocumentRef::Cedula { number });
        }
    }
    if reply.attachments.is_empty() {
        return Reply::new("nothing_to_resend");
    }
    let count = reply.attachments.len();
    reply.with("count", count)
}

fn unsupported(state: &State, kind: &str, ctx: &Context<'_>) -> Outcome {
    if kind == "group_chat" {
        // Ventanilla serves people one to one: a group gets told so, and nothing starts.
        return Outcome {
            state: state.clone(),
            replies: vec![Reply::new("group_chat")],
            effects: Vec::new(),
            request: None,
        };
    }
    let explanation = Reply::new("unsupported_input").with("kind", kind);
    match state {
        State::New => welcome(Some(explanation), ctx),
        _ => stay(state, vec![explanation], ctx),
    }
}

// ---------------------------------------------------------------------------------------------
// Explanations of errors (the template says it in Spanish)

fn curp_error(error: &CurpError) -> Reply {
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

/// A CURP is a valid shape but its birth date cannot be the applicant's: in the future, or
/// younger than anyone holding a title. The century comes from character 17 (a digit before
/// 2000, a letter from 2000), so the explanation names characters 5-10 and 17.
fn implausible_birth(curp: &Curp, today: NaiveDate, ctx: &Context<'_>) -> Option<Reply> {
    let born = curp.birth_date();
    let homonymy = curp.as_str().chars().nth(16).unwrap_or_default();
    let reply = |kind: &str| {
        Reply::new("curp_invalid")
            .with("kind", kind)
            .with("date_digits", &curp.as_str()[4..10])
            .with("homonymy", homonymy.to_string())
            .with("letter", homonymy.is_ascii_alphabetic())
            .with("born", born)
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

fn name_error(error: &NameError) -> Reply {
    let reply = Reply::new("name_invalid").with("kind", error.key());
    match error {
        NameError::Digit { found } | NameError::Symbol { found } => {
            reply.with("found", found.to_string())
        }
        NameError::TooLong { max, .. } => reply.with("max", max),
        _ => reply,
    }
}

fn date_error_kind(error: &input::DateError) -> &'static str {
    use input::DateError;
    match error {
        DateError::Empty => "empty",
        DateError::Unrecognised => "unrecognised",
        DateError::TwoDigitYear { .. } => "two_digit_year",
        DateError::MissingYear => "missing_year",
        DateError::NoSuchDay { .. } => "no_such_day",
        DateError::MonthOutOfRange { .. } => "month_out_of_range",
        DateError::UnknownMonth { .. } => "unknown_month",
    }
}

fn payment_key_error(error: &PaymentKeyError) -> Reply {
    match error {
        PaymentKeyError::Empty => Reply::new("payment_key_invalid")
            .with("kind", "empty")
            .with("length", 0),
        PaymentKeyError::Pattern { length } => Reply::new("payment_key_invalid")
            .with("kind", "pattern")
            .with("length", length),
    }
}

fn email_error(error: &EmailError) -> Reply {
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

fn date_rule_error(error: &AcademicDateError) -> Reply {
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
