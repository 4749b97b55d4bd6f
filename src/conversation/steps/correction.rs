//! Which answer to give again: the field is cleared (a payment key is released) and its
//! question asked.

use super::collecting::advance;
use super::{stay, with_effects};
use crate::conversation::field::Field;
use crate::conversation::offer::{Options, Picked};
use crate::conversation::reply::Reply;
use crate::conversation::state::{ChoosingCorrection, Draft, STEP_REVIEW};
use crate::conversation::{Context, Outcome};

/// The fields that can be corrected: those already answered.
pub(in crate::conversation) fn correctable(draft: &Draft, ctx: &Context<'_>) -> Options<Field> {
    Options::new(
        Field::ALL
            .into_iter()
            .filter(|field| field.answered(draft))
            .map(|field| (field, field.choice(ctx))),
    )
}

impl ChoosingCorrection {
    pub(super) fn prompt(&self, ctx: &Context<'_>) -> Reply {
        Reply::new("choose_correction")
            .progress(STEP_REVIEW)
            .choices(correctable(&self.draft, ctx).into_choices())
    }

    pub(in crate::conversation) fn on_text(&self, text: &str, ctx: &Context<'_>) -> Outcome {
        let options = correctable(&self.draft, ctx);
        match options.pick(text, ctx) {
            Picked::One(field) => {
                let mut draft = (*self.draft).clone();
                let effects = field.clear(&mut draft);
                with_effects(advance(draft, Vec::new(), ctx), effects)
            }
            _ => stay(
                &self.clone().into(),
                vec![options.not_understood(text, ctx)],
                ctx,
            ),
        }
    }
}
