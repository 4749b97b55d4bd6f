//! Following a submitted application: where it stands and what can be done next (book,
//! reschedule, cancel the appointment, withdraw).

use chrono::NaiveDate;
use serde::Serialize;

use super::waitlist::{join, leave};
use super::{go, stay};
use crate::conversation::offer::{Action, Options, Picked};
use crate::conversation::reply::Reply;
use crate::conversation::state::{
    AppRef, ChoosingOffice, Confirmable, Confirming, State, Tracking,
};
use crate::conversation::{Context, Outcome};
use crate::domain::application::ApplicationView;
use crate::domain::calendar::clock_time;

/// The application and its appointment as the templates name them (`folio`, `day`, `slot`,
/// `office`, `address`), shared by the status, the office's notices and the reminders.
#[derive(Serialize)]
pub(super) struct AppointmentValues<'a> {
    folio: String,
    day: Option<NaiveDate>,
    slot: Option<String>,
    office: Option<&'a str>,
    address: Option<&'a str>,
}

impl<'a> AppointmentValues<'a> {
    pub(super) fn of(
        app: &AppRef,
        view: Option<&ApplicationView>,
        ctx: &'a Context<'_>,
    ) -> AppointmentValues<'a> {
        let appointment = view.and_then(|v| v.appointment.as_ref());
        let office = appointment.and_then(|a| ctx.procedure.office(&a.office_id));
        AppointmentValues {
            folio: app.folio.to_string(),
            day: appointment.map(|a| a.day),
            slot: appointment.map(|a| clock_time(a.slot)),
            office: office.map(|o| o.name.as_str()),
            address: office.map(|o| o.address.as_str()),
        }
    }
}

/// The values of `status.txt`.
#[derive(Serialize)]
struct Standing<'a> {
    #[serde(flatten)]
    appointment: AppointmentValues<'a>,
    /// A label key (`status.scheduled`).
    status: Option<String>,
    status_key: Option<&'static str>,
    /// The latest day the applicant waits for a seat, while on the waitlist.
    waiting_until: Option<NaiveDate>,
}

/// What can be done with the application as the store has it: book (or change and cancel the
/// appointment), wait for an earlier seat (or stop waiting), withdraw.
fn actions(view: Option<&ApplicationView>) -> Vec<Action> {
    let Some(view) = view.filter(|v| v.status.is_open()) else {
        return Vec::new();
    };
    let mut actions = match view.appointment {
        Some(_) => vec![Action::Reschedule, Action::CancelAppointment],
        None => vec![Action::Book],
    };
    match (&view.waiting, &view.appointment) {
        (Some(_), _) => actions.push(Action::LeaveWaitlist),
        // Waiting for an earlier seat than the one booked (without one, the calendar offers it).
        (None, Some(_)) => actions.push(Action::JoinWaitlist),
        (None, None) => {}
    }
    actions.push(Action::Withdraw);
    actions
}

/// Where the application stands, with what the applicant can do next.
pub(in crate::conversation) fn status_reply(
    app: &AppRef,
    view: Option<&ApplicationView>,
    ctx: &Context<'_>,
) -> Reply {
    let status = view.map(|v| v.status);
    Reply::new("status")
        .vars(Standing {
            appointment: AppointmentValues::of(app, view, ctx),
            status: status.map(|s| format!("status.{}", s.as_str())),
            status_key: status.map(|s| s.as_str()),
            waiting_until: view
                .filter(|v| v.status.is_open())
                .and_then(|v| v.waiting.as_ref())
                .map(|w| w.latest_day),
        })
        .choices(Options::actions(&actions(view), ctx).into_choices())
}

/// The office reopened the rejected application `app`: the conversation follows it again and
/// the notice offers to book. `None` when the applicant has gone on with a new draft (the
/// office does not take it from them).
pub fn office_reopened(
    state: &State,
    app: &AppRef,
    view: &ApplicationView,
    ctx: &Context<'_>,
) -> Option<(State, Reply)> {
    follow_again(state, app, view, "application_reopened", ctx)
}

/// The office let the applicant book again past their no-shows: the conversation follows the
/// application and the notice offers to book. `None` as for [`office_reopened`].
pub fn booking_approved(
    state: &State,
    app: &AppRef,
    view: &ApplicationView,
    ctx: &Context<'_>,
) -> Option<(State, Reply)> {
    follow_again(state, app, view, "booking_approved", ctx)
}

/// The notice `template` of an office decision that lets the applicant book: the conversation
/// follows `app` again, unless it has gone on with a new draft.
fn follow_again(
    state: &State,
    app: &AppRef,
    view: &ApplicationView,
    template: &str,
    ctx: &Context<'_>,
) -> Option<(State, Reply)> {
    match state.beneath() {
        State::New | State::Closed(_) => {}
        other if other.app().is_some_and(|a| a.id == app.id) => {}
        _ => return None,
    }
    let reply = Reply::new(template)
        .with("folio", app.folio.to_string())
        .choices(Options::actions(&actions(Some(view)), ctx).into_choices());
    Some((Tracking { app: app.clone() }.into(), reply))
}

/// Asks yes or no before `action`, coming back to `state` on no.
pub(in crate::conversation) fn confirm(
    state: &State,
    action: Confirmable,
    ctx: &Context<'_>,
) -> Outcome {
    let confirming = Confirming {
        action,
        resume: Box::new(state.clone()),
    };
    go(confirming, Vec::new(), ctx)
}

impl Tracking {
    pub(super) fn prompt(&self, ctx: &Context<'_>) -> Reply {
        status_reply(&self.app, ctx.application.as_ref(), ctx)
    }

    pub(in crate::conversation) fn on_text(&self, text: &str, ctx: &Context<'_>) -> Outcome {
        let state: State = self.clone().into();
        let view = ctx.application.as_ref();
        let needs_approval =
            view.is_some_and(|v| v.needs_approval(ctx.procedure.booking.no_show_limit));
        let choose_office = |replacing| {
            if needs_approval {
                return stay(&state, vec![Reply::new("booking_needs_approval")], ctx);
            }
            let state = ChoosingOffice {
                app: self.app.clone(),
                replacing,
            };
            go(state, Vec::new(), ctx)
        };
        let appointment = view.and_then(|a| a.appointment.as_ref());
        match Options::actions(&actions(view), ctx).pick(text, ctx) {
            Picked::One(Action::Reschedule) => choose_office(appointment.map(|a| a.id)),
            Picked::One(Action::JoinWaitlist) => match appointment {
                Some(a) if !needs_approval => join(&self.app, &a.office_id, Vec::new(), ctx),
                _ => choose_office(None),
            },
            Picked::One(Action::LeaveWaitlist) => leave(&self.app, ctx),
            Picked::One(Action::Book) => choose_office(None),
            Picked::One(Action::CancelAppointment) => {
                confirm(&state, Confirmable::CancelAppointment, ctx)
            }
            Picked::One(_) => confirm(&state, Confirmable::Withdraw, ctx),
            // Anything else: where the application stands and what can be done.
            _ => stay(&state, Vec::new(), ctx),
        }
    }
}
