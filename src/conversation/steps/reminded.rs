//! The day-before reminder: tomorrow's appointment with what to bring, asking to confirm it,
//! change it or cancel it. Confirming keeps it; changing chooses another day (the seat is kept
//! until the new one is taken); cancelling asks yes or no first, as the command does.

use serde::Serialize;

use super::tracking::{AppointmentValues, confirm};
use super::{go, stay};
use crate::conversation::offer::{Action, Options, Picked};
use crate::conversation::reply::Reply;
use crate::conversation::state::{
    AppRef, ChoosingOffice, Confirmable, Moved, Reminded, State, Tracking,
};
use crate::conversation::{Context, Outcome};
use crate::domain::application::ApplicationView;

const CHOICES: [Action; 3] = [
    Action::ConfirmAppointment,
    Action::Reschedule,
    Action::CancelAppointment,
];

/// The values of `reminder_day_before.txt` and `reminder_question.txt`.
#[derive(Serialize)]
struct ReminderValues<'a> {
    #[serde(flatten)]
    appointment: AppointmentValues<'a>,
    /// What the counter checks, to bring.
    bring: &'a [String],
    /// Whether the reminder asks (the applicant was following the application) or only tells.
    asks: bool,
}

fn values<'a>(
    app: &AppRef,
    view: Option<&ApplicationView>,
    bring: &'a [String],
    asks: bool,
    ctx: &'a Context<'_>,
) -> ReminderValues<'a> {
    ReminderValues {
        appointment: AppointmentValues::of(app, view, ctx),
        bring,
        asks,
    }
}

/// The reminder `template` of `view`'s appointment, with the state the conversation goes to:
/// [`Reminded`] when the day-before reminder reaches a conversation following the application
/// (it then asks), the same state otherwise (what the applicant is doing goes on).
pub fn reminded(
    state: &State,
    app: &AppRef,
    view: &ApplicationView,
    template: &str,
    asking: bool,
    bring: &[String],
    ctx: &Context<'_>,
) -> (State, Reply) {
    let following = matches!(
        state.beneath(),
        State::Tracking(Tracking { app: a })
            | State::Moved(Moved { app: a })
            | State::Reminded(Reminded { app: a }) if a.id == app.id
    );
    let asks = asking && following;
    let reply = Reply::new(template).vars(values(app, Some(view), bring, asks, ctx));
    if !asks {
        return (state.clone(), reply);
    }
    let reply = reply.choices(Options::actions(&CHOICES, ctx).into_choices());
    (Reminded { app: app.clone() }.into(), reply)
}

impl Reminded {
    pub(super) fn prompt(&self, ctx: &Context<'_>) -> Reply {
        Reply::new("reminder_question")
            .vars(values(&self.app, ctx.application.as_ref(), &[], true, ctx))
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
            // Nothing left to confirm (cancelled, a no-show, decided meanwhile): the answer
            // is read as where things stand now ("Agendar mi cita" books again).
            _ if appointment.is_none() => tracking.on_text(text, ctx),
            Picked::One(Action::ConfirmAppointment) => {
                go(tracking, vec![Reply::new("appointment_confirmed")], ctx)
            }
            Picked::One(Action::CancelAppointment) => {
                confirm(&tracking.into(), Confirmable::CancelAppointment, ctx)
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
