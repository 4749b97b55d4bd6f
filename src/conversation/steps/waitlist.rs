//! The waitlist: joining it (the latest day that would still suit), and the offer of a freed
//! seat held for the applicant, who takes it (the appointment moves there) or lets it go (to the
//! next in line). The offer comes from the scheduler ([`offered`]), and so does its expiry
//! ([`hold_expired`]).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;

use super::slot::booked;
use super::tracking::status_reply;
use super::{ask_store, go, say, stay};
use crate::conversation::input;
use crate::conversation::offer::{Action, Options, Picked};
use crate::conversation::reply::Reply;
use crate::conversation::state::{AppRef, JoiningWaitlist, Offered, State, Tracking};
use crate::conversation::{Context, Effect, Outcome, Request, RequestOutcome};
use crate::domain::application::{ApplicationView, AppointmentView, Waiting};
use crate::domain::calendar::clock_time;

const OFFER_CHOICES: [Action; 2] = [Action::TakeSeat, Action::LetSeatGo];

/// Asks for the latest day that would suit, to wait for a seat at `office_id`.
pub(super) fn join(
    app: &AppRef,
    office_id: &str,
    before: Vec<Reply>,
    ctx: &Context<'_>,
) -> Outcome {
    let state = JoiningWaitlist {
        app: app.clone(),
        office: office_id.to_string(),
    };
    go(state, before, ctx)
}

/// Takes the application off the waitlist, with where it stands now.
pub(super) fn leave(app: &AppRef, ctx: &Context<'_>) -> Outcome {
    let mut view = ctx.application.clone();
    if let Some(v) = view.as_mut() {
        v.waiting = None;
    }
    let replies = vec![
        Reply::new("waitlist_left"),
        status_reply(app, view.as_ref(), ctx),
    ];
    let effect = Effect::LeaveWaitlist {
        application_id: app.id,
    };
    say(Tracking { app: app.clone() }, replies, vec![effect])
}

impl JoiningWaitlist {
    fn office_name<'c>(&self, ctx: &'c Context<'_>) -> Option<&'c str> {
        ctx.procedure.office(&self.office).map(|o| o.name.as_str())
    }

    pub(super) fn prompt(&self, ctx: &Context<'_>) -> Reply {
        Reply::new("waitlist_ask")
            .with("office", self.office_name(ctx))
            .with("minutes", ctx.procedure.booking.hold_minutes)
    }

    /// The day typed, with or without its year (without one: the first such day from today).
    fn typed_day(&self, text: &str, today: NaiveDate, ctx: &Context<'_>) -> Option<NaiveDate> {
        let vocabulary = ctx.vocabulary();
        if let Ok(day) = input::parse_date(vocabulary, text) {
            return Some(day);
        }
        let year = today.year();
        (year..=year + 1)
            .filter_map(|year| input::parse_date(vocabulary, &format!("{text} {year}")).ok())
            .find(|day| *day > today)
    }

    pub(in crate::conversation) fn on_text(&self, text: &str, ctx: &Context<'_>) -> Outcome {
        let state: State = self.clone().into();
        let today = ctx.procedure.today_at(&self.office, ctx.now);
        let Some(day) = self.typed_day(text, today, ctx) else {
            let explanation = Reply::new("waitlist_date_not_understood");
            return stay(&state, vec![explanation], ctx);
        };
        if day <= today {
            let explanation = Reply::new("waitlist_date_too_early").with("day", day);
            return stay(&state, vec![explanation], ctx);
        }
        let appointment = ctx
            .application
            .as_ref()
            .and_then(|v| v.appointment.as_ref());
        if let Some(appointment) = appointment.filter(|a| a.day <= day) {
            let explanation = Reply::new("waitlist_date_after_appointment")
                .with("day", day)
                .with("appointment_day", appointment.day);
            return stay(&state, vec![explanation], ctx);
        }
        let mut view = ctx.application.clone();
        if let Some(v) = view.as_mut() {
            v.waiting = Some(Waiting {
                office_id: self.office.clone(),
                latest_day: day,
            });
        }
        let joined = Reply::new("waitlist_joined")
            .with("office", self.office_name(ctx))
            .with("latest_day", day)
            .with("minutes", ctx.procedure.booking.hold_minutes);
        let replies = vec![joined, status_reply(&self.app, view.as_ref(), ctx)];
        let effect = Effect::JoinWaitlist {
            application_id: self.app.id,
            office_id: self.office.clone(),
            latest_day: day,
        };
        say(
            Tracking {
                app: self.app.clone(),
            },
            replies,
            vec![effect],
        )
    }
}

/// The values of `waitlist_offer.txt`.
#[derive(Serialize)]
struct OfferValues<'a> {
    folio: String,
    day: NaiveDate,
    slot: String,
    office: Option<&'a str>,
    address: Option<&'a str>,
    /// Until when the seat is held, in the office's time.
    until: String,
    /// The appointment that the seat replaces, if any.
    current_day: Option<NaiveDate>,
    current_slot: Option<String>,
}

/// The seat `hold`, freed and held for `app` until `until`, offered: the conversation waits
/// for the answer. `None` when the conversation does not follow that application any more
/// (nothing is said; the scheduler offers the seat to the next in line).
pub fn offered(
    state: &State,
    app: &AppRef,
    hold: &AppointmentView,
    until: DateTime<Utc>,
    ctx: &Context<'_>,
) -> Option<(State, Reply)> {
    if state.beneath().app().map(|a| a.id) != Some(app.id) {
        return None;
    }
    let offered = Offered {
        app: app.clone(),
        hold: hold.clone(),
        until,
    };
    let reply = offered.prompt(ctx);
    Some((offered.into(), reply))
}

/// The hold of `hold_id` expired unanswered: the applicant is told, and a conversation that
/// was waiting for that answer follows the application again.
pub fn hold_expired(
    state: &State,
    app: &AppRef,
    hold_id: i64,
    view: &ApplicationView,
    ctx: &Context<'_>,
) -> Option<(State, Reply)> {
    let waiting_for_it = matches!(
        state.beneath(),
        State::Offered(Offered { hold, .. }) if hold.id == hold_id
    );
    let expired = Reply::new("offer_expired").with("folio", app.folio.to_string());
    if !waiting_for_it {
        return Some((state.clone(), expired));
    }
    let choices = status_reply(app, Some(view), ctx).choices;
    Some((
        Tracking { app: app.clone() }.into(),
        expired.choices(choices),
    ))
}

impl Offered {
    pub(super) fn prompt(&self, ctx: &Context<'_>) -> Reply {
        let office = ctx.procedure.office(&self.hold.office_id);
        let zone = office.map_or_else(|| ctx.procedure.zone(), |o| o.zone());
        let current = ctx
            .application
            .as_ref()
            .and_then(|v| v.appointment.as_ref());
        Reply::new("waitlist_offer")
            .vars(OfferValues {
                folio: self.app.folio.to_string(),
                day: self.hold.day,
                slot: clock_time(self.hold.slot),
                office: office.map(|o| o.name.as_str()),
                address: office.map(|o| o.address.as_str()),
                until: clock_time(self.until.with_timezone(&zone).time()),
                current_day: current.map(|a| a.day),
                current_slot: current.map(|a| clock_time(a.slot)),
            })
            .choices(Options::actions(&OFFER_CHOICES, ctx).into_choices())
    }

    /// Lets the seat go (the answer, or `cancelar`).
    pub(in crate::conversation) fn let_go(&self, ctx: &Context<'_>) -> Outcome {
        let replies = vec![
            Reply::new("offer_declined"),
            status_reply(&self.app, ctx.application.as_ref(), ctx),
        ];
        let effect = Effect::ReleaseHold {
            application_id: self.app.id,
            hold_id: self.hold.id,
        };
        say(
            Tracking {
                app: self.app.clone(),
            },
            replies,
            vec![effect],
        )
    }

    pub(in crate::conversation) fn on_text(&self, text: &str, ctx: &Context<'_>) -> Outcome {
        let options = Options::actions(&OFFER_CHOICES, ctx);
        match options.pick(text, ctx) {
            Picked::One(Action::TakeSeat) => ask_store(
                self.clone(),
                Vec::new(),
                Request::TakeHeldSeat {
                    application_id: self.app.id,
                    hold_id: self.hold.id,
                },
            ),
            Picked::One(_) => self.let_go(ctx),
            picked => stay(&self.clone().into(), vec![options.refusal(&picked)], ctx),
        }
    }

    /// The seat taken (as a booking is), or no longer held.
    pub(in crate::conversation) fn on_outcome(
        &self,
        outcome: &RequestOutcome,
        ctx: &Context<'_>,
    ) -> Option<Outcome> {
        match outcome {
            RequestOutcome::Booked { appointment } => Some(booked(&self.app, appointment, ctx)),
            RequestOutcome::HoldGone => {
                let tracking = Tracking {
                    app: self.app.clone(),
                };
                Some(go(tracking, vec![Reply::new("offer_gone")], ctx))
            }
            _ => None,
        }
    }
}
