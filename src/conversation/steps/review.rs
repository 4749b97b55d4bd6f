//! The summary of the complete draft: submit it (the store gives it a folio) or correct an
//! answer.

use chrono::NaiveDate;
use serde::Serialize;

use super::collecting::advance;
use super::{ask_store, go, stay};
use crate::conversation::input;
use crate::conversation::offer::{Action, Options, Picked};
use crate::conversation::reply::Reply;
use crate::conversation::state::{
    AppRef, ChoosingCorrection, ChoosingOffice, Draft, Reviewing, STEP_REVIEW,
};
use crate::conversation::{Context, Outcome, Request, RequestOutcome};
use crate::domain::academic::ProfessionalExam;
use crate::domain::document::DocumentRef;

const ACTIONS: [Action; 2] = [Action::Submit, Action::Correct];

/// The values of `review.txt`: every answer, `None` where it is missing.
#[derive(Serialize)]
struct Summary<'a> {
    curp: Option<&'a str>,
    name: Option<String>,
    /// A label key (`level.licenciatura`).
    level: Option<String>,
    payment_key: Option<&'a str>,
    institution: &'a Option<String>,
    program: &'a Option<String>,
    /// A label key (`entity.DF`).
    entity: Option<String>,
    title_date: Option<NaiveDate>,
    exam: Option<ProfessionalExam>,
    study_start: Option<NaiveDate>,
    study_end: Option<NaiveDate>,
    email: Option<&'a str>,
}

impl Summary<'_> {
    fn of(draft: &Draft) -> Summary<'_> {
        Summary {
            curp: draft.curp.as_ref().map(|c| c.as_str()),
            name: draft.name().map(|n| n.full_name()),
            level: draft.level.map(|l| format!("level.{}", l.key())),
            payment_key: draft.payment_key.as_ref().map(|k| k.as_str()),
            institution: &draft.institution,
            program: &draft.program,
            entity: draft.entity.map(|e| format!("entity.{}", e.code())),
            title_date: draft.title_date,
            exam: draft.exam,
            study_start: draft.study_start,
            study_end: draft.study_end,
            email: draft.email.as_ref().map(|e| e.as_str()),
        }
    }
}

impl Reviewing {
    pub(super) fn prompt(&self, ctx: &Context<'_>) -> Reply {
        Reply::new("review")
            .progress(STEP_REVIEW)
            .vars(Summary::of(&self.draft))
            .choices(Options::actions(&ACTIONS, ctx).into_choices())
    }

    pub(in crate::conversation) fn on_text(&self, text: &str, ctx: &Context<'_>) -> Outcome {
        let options = Options::actions(&ACTIONS, ctx);
        let picked = match input::parse_yes_no(ctx.vocabulary(), text) {
            Some(true) => Picked::One(Action::Submit),
            Some(false) => Picked::One(Action::Correct),
            None => options.pick(text, ctx),
        };
        match picked {
            Picked::One(Action::Submit) => match self.draft.complete() {
                Some(data) => ask_store(
                    self.clone(),
                    Vec::new(),
                    Request::Submit {
                        data: Box::new(data),
                    },
                ),
                // Cannot happen through the dialogue; recover by asking what is missing.
                None => advance((*self.draft).clone(), Vec::new(), ctx),
            },
            Picked::One(_) => go(
                ChoosingCorrection {
                    draft: self.draft.clone(),
                },
                Vec::new(),
                ctx,
            ),
            _ => stay(
                &self.clone().into(),
                vec![options.not_understood(text, ctx)],
                ctx,
            ),
        }
    }

    /// Submitted: the folio, the request as a document, and the choice of office.
    pub(in crate::conversation) fn on_outcome(
        &self,
        outcome: &RequestOutcome,
        ctx: &Context<'_>,
    ) -> Option<Outcome> {
        let RequestOutcome::Submitted {
            application_id,
            folio,
        } = outcome
        else {
            return None;
        };
        let app = AppRef {
            id: *application_id,
            folio: folio.clone(),
        };
        let reply = Reply::new("submitted")
            .with("folio", folio.to_string())
            .attach(DocumentRef::Request {
                application_id: *application_id,
            });
        Some(go(
            ChoosingOffice {
                app,
                replacing: None,
            },
            vec![reply],
            ctx,
        ))
    }
}
