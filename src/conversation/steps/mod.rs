//! The states of the procedure, one file each: what the state asks (its prompt), how it reads
//! an answer, and what it does with the outcome of the request it made. Each receives only its
//! own fields (the state's struct) and the turn's [`Context`].
//!
//! | state | file |
//! |---|---|
//! | `New`, `AwaitingConsent` | `consent.rs` |
//! | `Collecting` | `collecting/` (one file per group of questions) |
//! | `Reviewing` | `review.rs` |
//! | `ChoosingCorrection` | `correction.rs` |
//! | `ChoosingOffice` | `office.rs` |
//! | `ChoosingDay` | `day.rs` |
//! | `ChoosingSlot` | `slot.rs` |
//! | `Tracking` | `tracking.rs` |
//! | `Moved` | `moved.rs` |
//! | `Reminded` | `reminded.rs` |
//! | `JoiningWaitlist`, `Offered` | `waitlist.rs` |
//! | `Confirming` | `confirming.rs` |
//! | (notices of a draft or an application left waiting) | `stalled.rs` |
//! | `Closed` | `closed.rs` |

pub(super) mod closed;
pub(super) mod collecting;
pub(super) mod confirming;
pub(super) mod consent;
pub(super) mod correction;
pub(super) mod day;
pub(super) mod moved;
pub(super) mod office;
pub(super) mod reminded;
pub(super) mod review;
pub(super) mod slot;
pub(super) mod stalled;
pub(super) mod tracking;
pub(super) mod waitlist;

use super::reply::Reply;
use super::state::State;
use super::{Context, Effect, Outcome, Request};

/// The question (or summary) a state asks, with its choices.
pub(super) fn prompt(state: &State, ctx: &Context<'_>) -> Reply {
    match state {
        State::New | State::AwaitingConsent => consent::prompt(ctx),
        State::Collecting(s) => s.prompt(ctx),
        State::Reviewing(s) => s.prompt(ctx),
        State::ChoosingCorrection(s) => s.prompt(ctx),
        State::ChoosingOffice(s) => s.prompt(ctx),
        State::ChoosingDay(s) => s.prompt(ctx),
        State::ChoosingSlot(s) => s.prompt(ctx),
        State::Tracking(s) => s.prompt(ctx),
        State::Moved(s) => s.prompt(ctx),
        State::Reminded(s) => s.prompt(ctx),
        State::JoiningWaitlist(s) => s.prompt(ctx),
        State::Offered(s) => s.prompt(ctx),
        State::Confirming(s) => s.prompt(ctx),
        State::Closed(s) => s.prompt(ctx),
    }
}

/// Moves to `state`, saying `before` and then the question of the new state.
pub(super) fn go(state: impl Into<State>, before: Vec<Reply>, ctx: &Context<'_>) -> Outcome {
    let state = state.into();
    let mut replies = before;
    replies.push(prompt(&state, ctx));
    Outcome {
        state,
        replies,
        effects: Vec::new(),
        request: None,
    }
}

/// Keeps `state`, explaining with `explanation` and asking the same question again.
pub(super) fn stay(state: &State, explanation: Vec<Reply>, ctx: &Context<'_>) -> Outcome {
    go(state.clone(), explanation, ctx)
}

/// Keeps `state`, says `replies` (and no question), and asks the store something; the answer
/// comes back as `Input::Outcome`.
pub(super) fn ask_store(state: impl Into<State>, replies: Vec<Reply>, request: Request) -> Outcome {
    Outcome {
        state: state.into(),
        replies,
        effects: Vec::new(),
        request: Some(request),
    }
}

/// Moves to `state` saying exactly `replies` (they already include what the state asks).
pub(super) fn say(state: impl Into<State>, replies: Vec<Reply>, effects: Vec<Effect>) -> Outcome {
    Outcome {
        state: state.into(),
        replies,
        effects,
        request: None,
    }
}

pub(super) fn with_effects(mut outcome: Outcome, effects: Vec<Effect>) -> Outcome {
    outcome.effects.extend(effects);
    outcome
}
