//! The office moved the appointment (it closed that day, or rescheduled it for the applicant):
//! the notice says the new day and time, with the receipt and the updated invitation, and asks
//! whether it suits; the applicant keeps it or chooses another day.

use serde::Serialize;

use super::tracking::AppointmentValues;
use super::{go, stay};
use crate::conversation::offer::{Action, Options, Picked};
use crate::conversation::reply::Reply;
use crate::conversation::state::{AppRef, ChoosingOffice, Moved, State, Tracking};
use crate::conversation::{Context, Outcome};
use crate::domain::application::ApplicationView;
use crate::domain::document::DocumentRef;

const CHOICES: [Action; 2] = [Action::KeepAppointment, Action::Reschedule];

/// The values of `appointment_moved.txt` and `move_question.txt`.
#[derive(Serialize)]
struct MovedValues<'a> {
    #[serde(flatten)]
    appointment: AppointmentValues<'a>,
    /// Why the office moved it (a closure's reason), when it said.
    reason: Option<&'a str>,
    /// Whether the notice asks (the applicant was following the application) or only tells
    /// (they were in the middle of something else, which goes on).
    asks: bool,
}

fn values<'a>(
    app: &AppRef,
    view: Option<&ApplicationView>,
    reason: Option<&'a str>,
    asks: bool,
    ctx: &'a Context<'_>,
) -> MovedValues<'a> {
    MovedValues {
        appointment: AppointmentValues::of(app, view, ctx),
        reason,
        asks,
    }
}

/// The office's notice that it moved the application's appointment to `view`'s, with the
/// state the conversation goes to: [`Moved`] when it was following the application (the
/// notice then asks), the same state otherwise (what the applicant is doing goes on; the
/// notice only tells).
pub fn office_moved(
    state: &State,
    app: &AppRef,
    view: &ApplicationView,
    reason: Option<&str>,
    ctx: &Context<'_>,
) -> (State, Reply) {
    let asks = matches!(
        state.beneath(),
        State::Tracking(Tracking { app: a }) | State::Moved(Moved { app: a }) if a.id == app.id
    );
    let mut reply =
        Reply::new("appointment_moved").vars(values(app, Some(view), reason, asks, ctx));
    if let Some(appointment) = &view.appointment {
        for document in DocumentRef::appointment(appointment.id) {
            reply = reply.attach(document);
        }
    }
    if !asks {
        return (state.clone(), reply);
    }
    let reply = reply.choices(Options::actions(&CHOICES, ctx).into_choices());
    (Moved { app: app.clone() }.into(), reply)
}

impl Moved {
    pub(super) fn prompt(&self, ctx: &Context<'_>) -> Reply {
        Reply::new("move_question")
            .vars(values(&self.app, ctx.application.as_ref(), None, true, ctx))
            .choices(Options::actions(&CHOICES, ctx).into_choices())
    }

    pub(in crate::conversation) fn on_text(&self, text: &str, ctx: &Context<'_>) -> Outcome {
        let tracking = Tracking {
            app: self.app.clone(),
        };
        let appointment = ctx
            .application
            .as_ref()
            .and_then(|v| v.appointment.as_ref());
        match Options::actions(&CHOICES, ctx).pick(text, ctx) {
            // Nothing left to keep (cancelled, a no-show, decided meanwhile): the answer
            // is read as where things stand now ("Agendar mi cita" books again).
            _ if appointment.is_none() => tracking.on_text(text, ctx),
            Picked::One(Action::KeepAppointment) => {
                go(tracking, vec![Reply::new("move_accepted")], ctx)
            }
            Picked::One(_) => {
                let choosing = ChoosingOffice {
                    app: self.app.clone(),
                    replacing: appointment.map(|a| a.id),
                };
                go(choosing, Vec::new(), ctx)
            }
            _ => stay(&self.clone().into(), Vec::new(), ctx),
        }
    }
}
