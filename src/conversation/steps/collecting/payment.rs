//! What the applicant pays: the level of studies (which sets the fees, so the payment help
//! sheets are sent with the next question) and the bank's payment key, which the store binds
//! to this conversation (one application per key).

use serde::Serialize;

use super::advance;
use crate::conversation::explain::{payment_key_error, several, understood};
use crate::conversation::field::Field;
use crate::conversation::offer::{Names, Options, Picked};
use crate::conversation::read::{Read, read_payment_key};
use crate::conversation::reply::Reply;
use crate::conversation::state::{Collecting, Draft, Question};
use crate::conversation::steps::ask_store;
use crate::conversation::{Context, Outcome, Request, RequestOutcome};
use crate::domain::academic::Level;
use crate::domain::document::DocumentRef;
use crate::domain::fees::{Centavos, Concept};
use crate::domain::payment;

pub(super) fn ask(question: Question, ctx: &Context<'_>) -> Reply {
    match question {
        Question::Level => Reply::new("ask_level").choices(level_options(ctx).into_choices()),
        // Question::PaymentKey.
        _ => Reply::new("ask_payment_key"),
    }
}

fn level_options(ctx: &Context<'_>) -> Options<Level> {
    Options::labelled(Level::ALL, |level| level.key(), "level", ctx)
}

pub(super) fn answer(
    state: &Collecting,
    mut draft: Draft,
    text: &str,
    ctx: &Context<'_>,
) -> Outcome {
    if state.question == Question::Level {
        let options = level_options(ctx);
        return match options.pick_named(text, Names::Group("level"), ctx) {
            Picked::One(level) => {
                draft.level = Some(level);
                advance(draft, vec![payment_sheets(level, ctx)], ctx)
            }
            other => state.stay(vec![options.refusal(&other)], ctx),
        };
    }
    match read_payment_key(text, &ctx.procedure.payment_key) {
        Read::Whole(key) => ask_store(state.clone(), Vec::new(), Request::ClaimPaymentKey { key }),
        Read::Within(key) => {
            let said = understood(Field::PaymentKey, key.as_str());
            ask_store(state.clone(), vec![said], Request::ClaimPaymentKey { key })
        }
        Read::Several(keys) => state.stay(vec![several(Field::PaymentKey, keys, false)], ctx),
        Read::Nothing(error) => state.stay(vec![payment_key_error(&error)], ctx),
    }
}

pub(super) fn on_outcome(
    state: &Collecting,
    outcome: &RequestOutcome,
    ctx: &Context<'_>,
) -> Option<Outcome> {
    let RequestOutcome::PaymentKeyClaimed { key } = outcome else {
        return None;
    };
    let mut draft = (*state.draft).clone();
    draft.payment_key = Some(key.clone());
    draft.paid_on = Some(ctx.today());
    Some(advance(draft, Vec::new(), ctx))
}

/// One sheet of `payment_sheets.txt`.
#[derive(Serialize)]
struct Sheet {
    /// A label key (`concept.cedula`).
    concept: String,
    reference: String,
    amount: Option<i64>,
}

/// The values of `payment_sheets.txt`.
#[derive(Serialize)]
struct PaymentSheets<'a> {
    /// A label key (`level.licenciatura`).
    level: String,
    agency: &'a str,
    cadena_dependencia: &'a str,
    sheets: Vec<Sheet>,
    total: Option<i64>,
    business_days: u32,
}

/// The two payment help sheets, shown when the level is chosen.
fn payment_sheets(level: Level, ctx: &Context<'_>) -> Reply {
    let year = chrono::Datelike::year(&ctx.today());
    let procedure = ctx.procedure;
    let sheets = Concept::ALL
        .iter()
        .map(|concept| Sheet {
            concept: format!("concept.{}", concept.key()),
            reference: payment::sheet_reference(
                &procedure.clave_referencia,
                ctx.conversation_id,
                *concept,
                level,
            ),
            amount: procedure
                .fees
                .fee(year, level, *concept)
                .map(|f| f.payable_pesos()),
        })
        .collect();
    let total = Concept::ALL
        .iter()
        .map(|c| procedure.fees.fee(year, level, *c).map(|f| f.0))
        .sum::<Option<i64>>()
        .map(|centavos| Centavos(centavos).payable_pesos());
    let mut reply = Reply::new("payment_sheets");
    for sheet in DocumentRef::payment_sheets(ctx.conversation_id, level, year) {
        reply = reply.attach(sheet);
    }
    reply.vars(PaymentSheets {
        level: format!("level.{}", level.key()),
        agency: &procedure.agency,
        cadena_dependencia: &procedure.cadena_dependencia,
        sheets,
        total,
        business_days: procedure.booking.business_days_after_payment,
    })
}
