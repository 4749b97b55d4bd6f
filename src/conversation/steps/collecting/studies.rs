//! What the applicant studied: the institution and the program as typed, the state where they
//! studied, and the dates of the title, the professional exam and the studies (each checked
//! against the others and against today).

use chrono::NaiveDate;

use super::{advance, with_date};
use crate::conversation::field::Field;
use crate::conversation::offer::{Action, Names, Options, Picked, chose};
use crate::conversation::read::free_text;
use crate::conversation::reply::Reply;
use crate::conversation::state::{Collecting, Draft, Question};
use crate::conversation::{Context, Outcome};
use crate::domain::academic::{self, ProfessionalExam};
use crate::domain::entity::Entity;

pub(super) fn ask(question: Question, ctx: &Context<'_>) -> Reply {
    match question {
        Question::Institution => Reply::new("ask_institution"),
        Question::Program => Reply::new("ask_program"),
        Question::Entity => Reply::new("ask_entity").choices(entity_options(ctx).into_choices()),
        Question::TitleDate => {
            Reply::new("ask_title_date").with("cutoff", ctx.procedure.eligibility_cutoff)
        }
        Question::ExamDate => Reply::new("ask_exam_date").choices(vec![Action::Exempt.choice(ctx)]),
        Question::StudyStart => Reply::new("ask_study_start"),
        // Question::StudyEnd (the collecting state sends only this file's questions here).
        _ => Reply::new("ask_study_end"),
    }
}

fn entity_options(ctx: &Context<'_>) -> Options<Entity> {
    Options::labelled(Entity::ALL, |entity| entity.code(), "entity", ctx)
}

pub(super) fn answer(
    state: &Collecting,
    mut draft: Draft,
    text: &str,
    ctx: &Context<'_>,
) -> Outcome {
    let today = ctx.today();
    let title = draft.title_date.unwrap_or(today);
    match state.question {
        Question::Institution | Question::Program => match free_text(text) {
            Ok(value) => {
                if state.question == Question::Institution {
                    draft.institution = Some(value);
                } else {
                    draft.program = Some(value);
                }
                advance(draft, Vec::new(), ctx)
            }
            Err(reason) => state.stay(vec![Reply::new("text_invalid").with("reason", reason)], ctx),
        },
        Question::Entity => {
            let options = entity_options(ctx);
            match options.pick_named(text, Names::Group("entity"), ctx) {
                Picked::One(entity) => {
                    draft.entity = Some(entity);
                    advance(draft, Vec::new(), ctx)
                }
                other => state.stay(vec![options.refusal(&other)], ctx),
            }
        }
        Question::TitleDate => with_date(state, text, Field::TitleDate, ctx, |date| {
            academic::check_title_date(date, today, ctx.procedure.eligibility_cutoff)?;
            draft.title_date = Some(date);
            drop_inconsistent_dates(&mut draft, today);
            Ok(draft)
        }),
        Question::ExamDate => {
            if chose(text, Action::Exempt, ctx) || ctx.vocabulary().says_exam_exempt(text) {
                draft.exam = Some(ProfessionalExam::Exempt);
                return advance(draft, Vec::new(), ctx);
            }
            with_date(state, text, Field::Exam, ctx, |date| {
                academic::check_exam_date(date, title, today)?;
                draft.exam = Some(ProfessionalExam::Taken(date));
                Ok(draft)
            })
        }
        Question::StudyStart => with_date(state, text, Field::StudyPeriod, ctx, |date| {
            academic::check_study_start(date, title, today)?;
            draft.study_start = Some(date);
            if draft.study_end.is_some_and(|end| end <= date) {
                draft.study_end = None;
            }
            Ok(draft)
        }),
        // Question::StudyEnd (the collecting state sends only this file's questions here).
        _ => {
            let start = draft.study_start.unwrap_or(NaiveDate::MIN);
            with_date(state, text, Field::StudyPeriod, ctx, |date| {
                academic::check_study_end(date, start, title, today)?;
                draft.study_end = Some(date);
                Ok(draft)
            })
        }
    }
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
