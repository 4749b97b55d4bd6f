//! One step of the dialogue: it only dispatches, to the commands that work everywhere or to
//! the state's own file under `steps/`. Every path ends in an [`Outcome`]; bad input returns
//! the same state with an explanation and the question again, so nothing is lost.

use super::commands::on_command;
use super::input;
use super::reply::Reply;
use super::state::State;
use super::steps::{consent, go, stay};
use super::{Context, Input, Outcome, RequestOutcome};

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
        State::New | State::Closed(_) => consent::welcome(None, ctx),
        State::AwaitingConsent => consent::on_text(&text, ctx),
        State::Collecting(s) => s.on_text(&text, ctx),
        State::Reviewing(s) => s.on_text(&text, ctx),
        State::ChoosingCorrection(s) => s.on_text(&text, ctx),
        State::ChoosingOffice(s) => s.on_text(&text, ctx),
        State::ChoosingDay(s) => s.on_text(&text, ctx),
        State::ChoosingSlot(s) => s.on_text(&text, ctx),
        State::Tracking(s) => s.on_text(&text, ctx),
        State::Moved(s) => s.on_text(&text, ctx),
        State::Reminded(s) => s.on_text(&text, ctx),
        State::JoiningWaitlist(s) => s.on_text(&text, ctx),
        State::Offered(s) => s.on_text(&text, ctx),
        State::Confirming(s) => s.on_text(&text, ctx),
    }
}

/// The store's answer to the request the state made, back within the same turn.
fn on_outcome(state: &State, outcome: &RequestOutcome, ctx: &Context<'_>) -> Outcome {
    match outcome {
        RequestOutcome::PaymentKeyTaken { .. } => {
            return stay(state, vec![Reply::new("payment_key_taken")], ctx);
        }
        RequestOutcome::NeedsApproval => {
            return match state.app() {
                Some(app) => go(
                    super::state::Tracking { app: app.clone() },
                    vec![Reply::new("booking_needs_approval")],
                    ctx,
                ),
                None => stay(state, Vec::new(), ctx),
            };
        }
        RequestOutcome::NotOpen => {
            return match state.app() {
                Some(app) => go(super::state::Tracking { app: app.clone() }, Vec::new(), ctx),
                None => stay(state, Vec::new(), ctx),
            };
        }
        _ => {}
    }
    let handled = match state {
        State::Collecting(s) => s.on_outcome(outcome, ctx),
        State::Reviewing(s) => s.on_outcome(outcome, ctx),
        State::ChoosingSlot(s) => s.on_outcome(outcome, ctx),
        State::Offered(s) => s.on_outcome(outcome, ctx),
        _ => None,
    };
    // An outcome that does not fit the state cannot come from this dialogue; keep the state.
    handled.unwrap_or_else(|| stay(state, Vec::new(), ctx))
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
        State::New => consent::welcome(Some(explanation), ctx),
        _ => stay(state, vec![explanation], ctx),
    }
}
