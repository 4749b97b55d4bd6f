//! The conversation ended: anything said starts again (see `step`).

use crate::conversation::Context;
use crate::conversation::offer::Action;
use crate::conversation::reply::Reply;
use crate::conversation::state::Closed;

impl Closed {
    pub(super) fn prompt(&self, ctx: &Context<'_>) -> Reply {
        Reply::new("closed").choices(vec![Action::Start.choice(ctx)])
    }
}
