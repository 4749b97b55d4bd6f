//! The time on the chosen day: the slots with a free seat, or another day; the store takes the
//! seat (or says it was just taken).

use chrono::{NaiveDate, NaiveTime};
use serde::Serialize;

use super::day::enter_month;
use super::tracking::status_reply;
use super::{ask_store, go, say, stay};
use crate::conversation::offer::{Action, Options, Picked};
use crate::conversation::read::parse_time;
use crate::conversation::reply::{Choice, Reply};
use crate::conversation::state::{AppRef, ChoosingSlot, STEP_SLOT, Tracking};
use crate::conversation::{Context, Outcome, Request, RequestOutcome};
use crate::domain::application::{AppointmentView, Status};
use crate::domain::calendar::{self, Office, clock_time};
use crate::domain::document::DocumentRef;

/// An option of the slot step.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SlotOption {
    Time(NaiveTime),
    OtherDay,
}

/// The values of `booked.txt`.
#[derive(Serialize)]
struct Booked<'a> {
    folio: String,
    day: NaiveDate,
    slot: String,
    office: Option<&'a str>,
    address: Option<&'a str>,
}

/// The seat taken: the confirmation with the receipt and the invitation, and where the
/// application stands now (the same after a booking and after taking a seat offered from the
/// waitlist).
pub(super) fn booked(app: &AppRef, appointment: &AppointmentView, ctx: &Context<'_>) -> Outcome {
    let office = ctx.procedure.office(&appointment.office_id);
    let [receipt, invite] = DocumentRef::appointment(appointment.id);
    let reply = Reply::new("booked")
        .attach(receipt)
        .attach(invite)
        .vars(Booked {
            folio: app.folio.to_string(),
            day: appointment.day,
            slot: clock_time(appointment.slot),
            office: office.map(|o| o.name.as_str()),
            address: office.map(|o| o.address.as_str()),
        });
    let mut view = ctx.application.clone();
    if let Some(v) = view.as_mut() {
        v.appointment = Some(appointment.clone());
        v.status = Status::Scheduled;
    }
    let status = status_reply(app, view.as_ref(), ctx);
    let state = Tracking { app: app.clone() };
    say(state, vec![reply, status], Vec::new())
}

/// Offers the free times of `day` at `office`; back to the month when none is left.
pub(super) fn enter_day(
    app: &AppRef,
    office: &Office,
    day: NaiveDate,
    replacing: Option<i64>,
    before: Vec<Reply>,
    ctx: &Context<'_>,
) -> Outcome {
    let capacity = office.slot_capacity_on(day);
    let offered: Vec<NaiveTime> = office
        .slots()
        .into_iter()
        .filter(|slot| ctx.availability.slot_taken(&office.id, day, *slot) < capacity)
        .collect();
    if offered.is_empty() {
        let mut replies = before;
        replies.push(
            Reply::new("day_not_bookable")
                .with("day", day)
                .with("status", "full"),
        );
        let month = Some(calendar::month_start(day));
        return enter_month(app, &office.id, month, replacing, replies, ctx);
    }
    let state = ChoosingSlot {
        app: app.clone(),
        office: office.id.clone(),
        day,
        offered,
        replacing,
    };
    go(state, before, ctx)
}

impl ChoosingSlot {
    fn options(&self, ctx: &Context<'_>) -> Options<SlotOption> {
        let mut options = Options::new(self.offered.iter().map(|time| {
            let shown = clock_time(*time);
            (SlotOption::Time(*time), Choice::new(shown.clone(), shown))
        }));
        options.push(SlotOption::OtherDay, Action::OtherDay.choice(ctx));
        options
    }

    pub(super) fn prompt(&self, ctx: &Context<'_>) -> Reply {
        let office_name = ctx
            .procedure
            .office(&self.office)
            .map(|o| o.name.clone())
            .unwrap_or_default();
        Reply::new("choose_slot")
            .progress(STEP_SLOT)
            .with("day", self.day)
            .with("office", office_name)
            .choices(self.options(ctx).into_choices())
    }

    fn other_day(&self, before: Vec<Reply>, ctx: &Context<'_>) -> Outcome {
        let month = Some(calendar::month_start(self.day));
        enter_month(&self.app, &self.office, month, self.replacing, before, ctx)
    }

    pub(in crate::conversation) fn on_text(&self, text: &str, ctx: &Context<'_>) -> Outcome {
        let options = self.options(ctx);
        let slot = match options.pick(text, ctx) {
            Picked::One(SlotOption::OtherDay) => return self.other_day(Vec::new(), ctx),
            Picked::One(SlotOption::Time(time)) => Some(time),
            _ => parse_time(ctx.vocabulary(), text).filter(|t| self.offered.contains(t)),
        };
        match slot {
            Some(slot) => ask_store(
                self.clone(),
                Vec::new(),
                Request::Book {
                    application_id: self.app.id,
                    office_id: self.office.clone(),
                    day: self.day,
                    slot,
                    replacing: self.replacing,
                },
            ),
            None => stay(
                &self.clone().into(),
                vec![options.not_understood(text, ctx)],
                ctx,
            ),
        }
    }

    /// The seat taken (the receipt and the invitation go with it), or taken meanwhile by
    /// someone else; `None` for an outcome that is not this state's.
    pub(in crate::conversation) fn on_outcome(
        &self,
        outcome: &RequestOutcome,
        ctx: &Context<'_>,
    ) -> Option<Outcome> {
        let outcome = match outcome {
            RequestOutcome::Booked { appointment } => booked(&self.app, appointment, ctx),
            RequestOutcome::DayFull { day } => {
                let explanation = Reply::new("day_not_bookable")
                    .with("day", day)
                    .with("status", "just_filled");
                let month = Some(calendar::month_start(*day));
                let before = vec![explanation];
                enter_month(&self.app, &self.office, month, self.replacing, before, ctx)
            }
            RequestOutcome::SlotFull { day, slot } => {
                let explanation = Reply::new("slot_just_filled").with("slot", clock_time(*slot));
                match ctx.procedure.office(&self.office) {
                    Some(office) => enter_day(
                        &self.app,
                        office,
                        *day,
                        self.replacing,
                        vec![explanation],
                        ctx,
                    ),
                    None => stay(&self.clone().into(), vec![explanation], ctx),
                }
            }
            _ => return None,
        };
        Some(outcome)
    }
}
