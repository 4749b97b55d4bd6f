//! The words that work in every state (`ayuda`, `estado`, `corregir`, `cancelar`,
//! `reiniciar`, `reenviar`, `inicio`): what each does depends on where the conversation is.

use super::input::Command;
use super::reply::{Reply, TOTAL_STEPS};
use super::state::{
    ChoosingCorrection, ChoosingDay, ChoosingOffice, ChoosingSlot, Collecting, Confirmable,
    JoiningWaitlist, Reviewing, STEP_CONSENT, STEP_REVIEW, State, Tracking,
};
use super::steps::collecting::advance;
use super::steps::consent::welcome;
use super::steps::correction::correctable;
use super::steps::tracking::{confirm, status_reply};
use super::steps::{go, stay};
use super::{Context, Outcome};
use crate::domain::document::DocumentRef;

pub(super) fn on_command(state: &State, command: Command, ctx: &Context<'_>) -> Outcome {
    if matches!(state, State::New) {
        // Nothing to act on yet: greet (after the help, when that is what was asked).
        let help = (command == Command::Help).then(|| Reply::new("help"));
        return welcome(help, ctx);
    }
    match (command, state) {
        (Command::Start, State::New | State::Closed(_)) => welcome(None, ctx),
        (Command::Help, State::New | State::Closed(_)) => welcome(Some(Reply::new("help")), ctx),
        (Command::Start, _) => stay(state, vec![Reply::new("welcome_back")], ctx),
        (Command::Help, _) => stay(state, vec![Reply::new("help")], ctx),
        (Command::Status, _) => stay(state, vec![status(state, ctx)], ctx),
        (Command::Resend, _) => stay(state, vec![resend(state, ctx)], ctx),
        (Command::Correct, _) => correct(state, ctx),
        (Command::Cancel, _) => cancel(state, ctx),
        (
            Command::Restart,
            State::Collecting(_) | State::Reviewing(_) | State::ChoosingCorrection(_),
        ) => confirm(state, Confirmable::Restart, ctx),
        (Command::Restart, State::New | State::AwaitingConsent | State::Closed(_)) => {
            welcome(None, ctx)
        }
        (Command::Restart, _) => stay(state, vec![Reply::new("cannot_restart_submitted")], ctx),
    }
}

/// `corregir`: the corrections menu while there is a draft with answers.
fn correct(state: &State, ctx: &Context<'_>) -> Outcome {
    match state {
        State::Collecting(Collecting { draft, .. }) | State::Reviewing(Reviewing { draft })
            if !correctable(draft, ctx).choices().is_empty() =>
        {
            let correcting = ChoosingCorrection {
                draft: draft.clone(),
            };
            go(correcting, Vec::new(), ctx)
        }
        State::ChoosingCorrection(_) => stay(state, Vec::new(), ctx),
        _ if state.app().is_some() => {
            stay(state, vec![Reply::new("cannot_correct_submitted")], ctx)
        }
        _ => stay(state, vec![Reply::new("nothing_to_correct")], ctx),
    }
}

/// `cancelar`: steps back from what is under way, asking first when something would be lost.
fn cancel(state: &State, ctx: &Context<'_>) -> Outcome {
    match state {
        State::Collecting(_) | State::Reviewing(_) => confirm(state, Confirmable::Abandon, ctx),
        State::ChoosingCorrection(ChoosingCorrection { draft }) => {
            advance((**draft).clone(), vec![Reply::new("nothing_changed")], ctx)
        }
        State::ChoosingOffice(ChoosingOffice { app, .. })
        | State::ChoosingDay(ChoosingDay { app, .. })
        | State::ChoosingSlot(ChoosingSlot { app, .. })
        | State::JoiningWaitlist(JoiningWaitlist { app, .. }) => go(
            Tracking { app: app.clone() },
            vec![Reply::new("nothing_changed")],
            ctx,
        ),
        State::Tracking(_) | State::Moved(_) | State::Reminded(_) => {
            match ctx.application.as_ref() {
                Some(v) if v.status.is_open() && v.appointment.is_some() => {
                    confirm(state, Confirmable::CancelAppointment, ctx)
                }
                Some(v) if v.status.is_open() => confirm(state, Confirmable::Withdraw, ctx),
                _ => stay(state, vec![Reply::new("nothing_to_cancel")], ctx),
            }
        }
        State::Offered(offered) => offered.let_go(ctx),
        State::Confirming(confirming) => confirming.back(ctx),
        _ => stay(state, vec![Reply::new("nothing_to_cancel")], ctx),
    }
}

/// `estado`: where things stand, before or after submission.
fn status(state: &State, ctx: &Context<'_>) -> Reply {
    if let Some(app) = state.app() {
        let mut reply = status_reply(app, ctx.application.as_ref(), ctx);
        reply.choices.clear();
        return reply;
    }
    let step = match state {
        State::Collecting(Collecting { question, .. }) => question.step(),
        State::Reviewing(_) | State::ChoosingCorrection(_) => STEP_REVIEW,
        _ => STEP_CONSENT,
    };
    Reply::new("status_draft")
        .with("step", step)
        .with("of", TOTAL_STEPS)
}

/// `reenviar`: every document issued so far, again (payment sheets while the draft has a
/// level; the request, the appointment's receipt and invitation, the cédula once there).
fn resend(state: &State, ctx: &Context<'_>) -> Reply {
    let current = state.beneath();
    let mut documents = Vec::new();
    if let Some(level) = current.draft().and_then(|draft| draft.level) {
        let year = chrono::Datelike::year(&ctx.today());
        documents.extend(DocumentRef::payment_sheets(
            ctx.conversation_id,
            level,
            year,
        ));
    }
    if let (Some(_), Some(view)) = (current.app(), ctx.application.as_ref()) {
        documents.extend(DocumentRef::of_application(view));
    }
    if documents.is_empty() {
        return Reply::new("nothing_to_resend");
    }
    let count = documents.len();
    let mut reply = Reply::new("documents_resent");
    for document in documents {
        reply = reply.attach(document);
    }
    reply.with("count", count)
}
