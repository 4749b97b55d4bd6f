//! Notices to an applicant who left things waiting, sent by the scheduler: a draft nobody
//! answered (a reminder, then its expiry) and a submitted application without an appointment.

use chrono::NaiveDate;

use super::tracking::status_reply;
use crate::conversation::Context;
use crate::conversation::reply::{Reply, TOTAL_STEPS};
use crate::conversation::state::{AppRef, Closed, Collecting, STEP_REVIEW, State, Tracking};
use crate::domain::application::ApplicationView;

/// The step a draft is at ("paso N de M").
fn draft_step(state: &State) -> u8 {
    match state {
        State::Collecting(Collecting { question, .. }) => question.step(),
        _ => STEP_REVIEW,
    }
}

/// A draft left unanswered: where it stopped and until when it is kept. The state is kept
/// (the answer goes on where it stopped); `None` when the conversation holds no draft.
pub fn draft_reminded(
    state: &State,
    expires_on: NaiveDate,
    _ctx: &Context<'_>,
) -> Option<(State, Reply)> {
    state.beneath().draft()?;
    let reply = Reply::new("draft_reminder")
        .with("step", draft_step(state.beneath()))
        .with("of", TOTAL_STEPS)
        .with("expires_on", expires_on);
    Some((state.clone(), reply))
}

/// A draft that stayed unanswered expired: the conversation closes (its payment key is released
/// by the caller); `None` when the conversation holds no draft.
pub fn draft_expired(state: &State, days: u32, _ctx: &Context<'_>) -> Option<(State, Reply)> {
    state.beneath().draft()?;
    let reply = Reply::new("draft_expired").with("days", days);
    Some((Closed { app: None }.into(), reply))
}

/// A submitted application still without an appointment: a reminder with what can be done
/// (the choices when the conversation is following it; the state is kept either way).
/// `None` when the conversation has gone on with another draft.
pub fn unbooked_reminded(
    state: &State,
    app: &AppRef,
    view: &ApplicationView,
    ctx: &Context<'_>,
) -> Option<(State, Reply)> {
    if state.beneath().app().map(|a| a.id) != Some(app.id) {
        return None;
    }
    let mut reply = Reply::new("unbooked_reminder").with("folio", app.folio.to_string());
    if matches!(state, State::Tracking(Tracking { app: a }) if a.id == app.id) {
        reply = reply.choices(status_reply(app, Some(view), ctx).choices);
    }
    Some((state.clone(), reply))
}
