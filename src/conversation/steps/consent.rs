//! The start: a greeting and the privacy notice, whose consent opens the collection.

use super::collecting;
use super::{go, stay};
use crate::conversation::offer::{Action, yes_no};
use crate::conversation::reply::Reply;
use crate::conversation::state::{Closed, Draft, STEP_CONSENT, State};
use crate::conversation::{Context, Outcome};

/// Greets (after `before`, if any) and asks for consent to the privacy notice.
pub(in crate::conversation) fn welcome(before: Option<Reply>, ctx: &Context<'_>) -> Outcome {
    let replies = before.into_iter().chain([Reply::new("welcome")]).collect();
    go(State::AwaitingConsent, replies, ctx)
}

pub(super) fn prompt(ctx: &Context<'_>) -> Reply {
    Reply::new("privacy_notice")
        .progress(STEP_CONSENT)
        .choices(vec![
            Action::Accept.choice(ctx),
            Action::Decline.choice(ctx),
        ])
}

pub(in crate::conversation) fn on_text(text: &str, ctx: &Context<'_>) -> Outcome {
    match yes_no(text, Action::Accept, Action::Decline, ctx) {
        Some(true) => {
            collecting::advance(Draft::default(), vec![Reply::new("consent_thanks")], ctx)
        }
        Some(false) => go(
            Closed { app: None },
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
