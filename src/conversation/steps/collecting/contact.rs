//! Where the cédula goes: an e-mail address, typed; by e-mail, the sender's own address is
//! offered first.

use super::advance;
use crate::conversation::offer::{Action, yes_no};
use crate::conversation::read::email_answer;
use crate::conversation::reply::Reply;
use crate::conversation::state::{Collecting, Draft, Question};
use crate::conversation::steps::go;
use crate::conversation::{ChannelKind, Context, Outcome};

pub(super) fn ask(question: Question, ctx: &Context<'_>) -> Reply {
    if question == Question::Email {
        return Reply::new("ask_email");
    }
    let address = match &ctx.channel {
        ChannelKind::Email(address) => address.as_str().to_string(),
        _ => String::new(),
    };
    Reply::new("confirm_sender_email")
        .with("address", address)
        .choices(vec![
            Action::UseAddress.choice(ctx),
            Action::OtherAddress.choice(ctx),
        ])
}

pub(super) fn answer(
    state: &Collecting,
    mut draft: Draft,
    text: &str,
    ctx: &Context<'_>,
) -> Outcome {
    if state.question == Question::Email {
        return match email_answer(text) {
            Ok((address, said)) => {
                draft.email = Some(address);
                advance(draft, said, ctx)
            }
            Err(refusal) => state.stay(vec![*refusal], ctx),
        };
    }
    let answer = yes_no(text, Action::UseAddress, Action::OtherAddress, ctx);
    match (answer, &ctx.channel) {
        (Some(true), ChannelKind::Email(address)) => {
            draft.email = Some(address.clone());
            advance(draft, Vec::new(), ctx)
        }
        (Some(_), _) => go(
            Collecting {
                draft: Box::new(draft),
                question: Question::Email,
            },
            Vec::new(),
            ctx,
        ),
        // A typed address answers the question too.
        (None, _) => match email_answer(text) {
            Ok((address, said)) => {
                draft.email = Some(address);
                advance(draft, said, ctx)
            }
            Err(_) => state.stay(vec![Reply::new("yes_no_expected")], ctx),
        },
    }
}
