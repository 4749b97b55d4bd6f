//! Yes or no before something that cannot be undone: abandoning or restarting the draft,
//! cancelling the appointment, withdrawing the application.

use super::collecting::advance;
use super::tracking::status_reply;
use super::{go, say, stay, with_effects};
use crate::conversation::offer::{Action, yes_no};
use crate::conversation::reply::Reply;
use crate::conversation::state::{Closed, Confirmable, Confirming, Draft, State, Tracking};
use crate::conversation::{Context, Effect, Outcome};
use crate::domain::application::Status;
use crate::domain::calendar::clock_time;
use crate::domain::document::DocumentRef;

impl Confirming {
    pub(super) fn prompt(&self, ctx: &Context<'_>) -> Reply {
        Reply::new("confirm")
            .with("action", self.action)
            .choices(vec![Action::Yes.choice(ctx), Action::No.choice(ctx)])
    }

    pub(in crate::conversation) fn on_text(&self, text: &str, ctx: &Context<'_>) -> Outcome {
        match yes_no(text, Action::Yes, Action::No, ctx) {
            Some(true) => self.perform(ctx),
            Some(false) => self.back(ctx),
            None => stay(
                &self.clone().into(),
                vec![Reply::new("yes_no_expected")],
                ctx,
            ),
        }
    }

    /// Back where the confirmation was asked, nothing changed.
    pub(in crate::conversation) fn back(&self, ctx: &Context<'_>) -> Outcome {
        go(
            (*self.resume).clone(),
            vec![Reply::new("nothing_changed")],
            ctx,
        )
    }

    fn perform(&self, ctx: &Context<'_>) -> Outcome {
        let resume = &*self.resume;
        match self.action {
            Confirmable::Abandon => with_effects(
                go(Closed { app: None }, vec![Reply::new("abandoned")], ctx),
                release_key(resume),
            ),
            Confirmable::Restart => with_effects(
                advance(Draft::default(), vec![Reply::new("restarted")], ctx),
                release_key(resume),
            ),
            Confirmable::CancelAppointment => cancel_appointment(resume, ctx),
            Confirmable::Withdraw => {
                let Some(app) = resume.app().cloned() else {
                    return go(resume.clone(), vec![Reply::new("nothing_to_cancel")], ctx);
                };
                let reply = Reply::new("withdrawn").with("folio", app.folio.to_string());
                let effects = vec![Effect::Withdraw {
                    application_id: app.id,
                }];
                with_effects(go(Closed { app: Some(app) }, vec![reply], ctx), effects)
            }
        }
    }
}

fn cancel_appointment(resume: &State, ctx: &Context<'_>) -> Outcome {
    let Some(app) = resume.app().cloned() else {
        return go(resume.clone(), vec![Reply::new("nothing_to_cancel")], ctx);
    };
    let mut view = ctx.application.clone();
    let appointment = view.as_mut().and_then(|v| v.appointment.take());
    let Some(appointment) = appointment else {
        return go(Tracking { app }, vec![Reply::new("nothing_to_cancel")], ctx);
    };
    if let Some(v) = view.as_mut() {
        v.status = Status::Submitted;
    }
    let replies = vec![
        Reply::new("appointment_cancelled")
            .attach(DocumentRef::Invite {
                appointment_id: appointment.id,
                cancelled: true,
            })
            .with("day", appointment.day)
            .with("slot", clock_time(appointment.slot)),
        status_reply(&app, view.as_ref(), ctx),
    ];
    let effects = vec![Effect::CancelAppointment {
        application_id: app.id,
        appointment_id: appointment.id,
    }];
    say(Tracking { app }, replies, effects)
}

/// The payment key of an abandoned draft, released for another application.
fn release_key(state: &State) -> Vec<Effect> {
    state
        .draft()
        .and_then(|d| d.payment_key.clone())
        .map(|key| vec![Effect::ReleasePaymentKey { key }])
        .unwrap_or_default()
}
