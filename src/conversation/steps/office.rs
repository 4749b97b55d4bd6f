//! Which office the appointment is at, by number, name or another name of its place.

use super::day::enter_month;
use super::stay;
use crate::conversation::offer::{Names, Options, Picked};
use crate::conversation::reply::{Choice, Reply};
use crate::conversation::state::{ChoosingOffice, STEP_OFFICE};
use crate::conversation::vocabulary::squash;
use crate::conversation::{Context, Outcome};
use crate::domain::calendar::Office;

fn office_options<'c>(ctx: &'c Context<'_>) -> Options<&'c Office> {
    Options::new(
        ctx.procedure
            .offices
            .iter()
            .map(|office| (office, Choice::new(office.id.clone(), office.name.clone()))),
    )
}

impl ChoosingOffice {
    pub(super) fn prompt(&self, ctx: &Context<'_>) -> Reply {
        Reply::new("choose_office")
            .progress(STEP_OFFICE)
            .choices(office_options(ctx).into_choices())
    }

    pub(in crate::conversation) fn on_text(&self, text: &str, ctx: &Context<'_>) -> Outcome {
        let options = office_options(ctx);
        let aliases: Vec<Vec<String>> = ctx
            .procedure
            .offices
            .iter()
            .map(|o| o.aliases.iter().map(|a| squash(a)).collect())
            .collect();
        match options.pick_named(text, Names::Given(&aliases), ctx) {
            Picked::One(office) => {
                enter_month(&self.app, &office.id, None, self.replacing, Vec::new(), ctx)
            }
            other => stay(&self.clone().into(), vec![options.refusal(&other)], ctx),
        }
    }
}
