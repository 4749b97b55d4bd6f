//! What a step asks of the store, applied inside the turn's transaction: the requests (whose
//! outcome goes back to the step) and the effects (which always succeed).

use chrono::{DateTime, Utc};

use super::Service;
use super::messages::TurnError;
use crate::conversation::{Effect, Request, RequestOutcome};
use crate::domain::application::Status;
use crate::domain::reminders;
use crate::store::applications::{Claim, Submission};
use crate::store::appointments::{Booking, SeatRequest};
use crate::store::waitlist::Ended;
use crate::store::{self, Conn};

impl Service {
    pub(super) async fn apply_request(
        &self,
        conn: &mut Conn<'_>,
        conversation_id: i64,
        request: &Request,
        now: DateTime<Utc>,
    ) -> Result<RequestOutcome, TurnError> {
        let procedure = &self.settings.procedure;
        Ok(match request {
            Request::ClaimPaymentKey { key } => {
                match store::applications::claim_payment_key(conn, key, conversation_id, now)
                    .await?
                {
                    Claim::Claimed => RequestOutcome::PaymentKeyClaimed { key: key.clone() },
                    Claim::Taken => RequestOutcome::PaymentKeyTaken { key: key.clone() },
                }
            }
            Request::Submit { data } => {
                let year = store::applications::folio_year(now, procedure.zone());
                match store::applications::submit(conn, conversation_id, data, now, year).await? {
                    Submission::Submitted {
                        application_id,
                        folio,
                    } => {
                        crate::scheduler::drafts::watch_unbooked(conn, self, application_id, now)
                            .await?;
                        RequestOutcome::Submitted {
                            application_id,
                            folio,
                        }
                    }
                    Submission::PaymentKeyTaken => RequestOutcome::PaymentKeyTaken {
                        key: data.payment_key.clone(),
                    },
                }
            }
            Request::Book {
                application_id,
                office_id,
                day,
                slot,
                ..
            } => {
                if procedure.office(office_id).is_none() {
                    return Ok(RequestOutcome::NotOpen);
                }
                let view = store::applications::view(conn, *application_id).await?;
                let Some(view) = view.filter(|a| a.status.is_open()) else {
                    return Ok(RequestOutcome::NotOpen);
                };
                if view.needs_approval(procedure.booking.no_show_limit) {
                    return Ok(RequestOutcome::NeedsApproval);
                }
                // The office's calendar as it is now (held until commit), not as the step saw it.
                store::calendar::hold_hours(conn, office_id).await?;
                let current = store::calendar::effective(conn, procedure, *day, *day).await?;
                let Some(office) = current.office(office_id) else {
                    return Ok(RequestOutcome::NotOpen);
                };
                // Closed or re-timed meanwhile: the step shows the calendar as it is now.
                if !current.booking.is_open(office, *day) {
                    return Ok(RequestOutcome::DayFull { day: *day });
                }
                if !office.slots().contains(slot) {
                    return Ok(RequestOutcome::SlotFull {
                        day: *day,
                        slot: *slot,
                    });
                }
                let seat = SeatRequest {
                    application_id: *application_id,
                    office_id,
                    day: *day,
                    slot: *slot,
                    day_capacity: office.capacity_on(*day),
                    slot_capacity: office.slot_capacity_on(*day),
                    jobs: reminders::due(&self.settings.reminders, office, *day, *slot, now),
                };
                match store::appointments::book(conn, &seat, now).await? {
                    Booking::Booked(appointment) => {
                        crate::scheduler::drafts::unwatch_unbooked(conn, *application_id).await?;
                        store::applications::set_status(
                            conn,
                            *application_id,
                            Status::Scheduled,
                            now,
                        )
                        .await?;
                        RequestOutcome::Booked { appointment }
                    }
                    Booking::DayFull => RequestOutcome::DayFull { day: *day },
                    Booking::SlotFull => RequestOutcome::SlotFull {
                        day: *day,
                        slot: *slot,
                    },
                }
            }
            Request::TakeHeldSeat {
                application_id,
                hold_id,
            } => {
                self.take_held_seat(conn, *application_id, *hold_id, now)
                    .await?
            }
        })
    }

    /// A seat offered from the waitlist, taken: the hold is claimed (locked for this
    /// transaction, so its expiry cannot cross), checked against the office's calendar as it is
    /// now, and becomes the application's appointment.
    async fn take_held_seat(
        &self,
        conn: &mut Conn<'_>,
        application_id: i64,
        hold_id: i64,
        now: DateTime<Utc>,
    ) -> Result<RequestOutcome, TurnError> {
        let procedure = &self.settings.procedure;
        let Some(hold) =
            store::appointments::claim_hold(conn, application_id, hold_id, now).await?
        else {
            return Ok(RequestOutcome::HoldGone);
        };
        let open = store::applications::view(conn, application_id)
            .await?
            .is_some_and(|a| a.status.is_open());
        if !open {
            return Ok(RequestOutcome::NotOpen);
        }
        store::calendar::hold_hours(conn, &hold.office_id).await?;
        let current = store::calendar::effective(conn, procedure, hold.day, hold.day).await?;
        let office = current
            .office(&hold.office_id)
            .filter(|o| current.booking.is_open(o, hold.day) && o.slots().contains(&hold.slot));
        let Some(office) = office else {
            // Closed or re-timed since the offer: the seat goes back.
            store::appointments::release_hold(conn, hold_id, now).await?;
            store::waitlist::offer_ended(conn, hold_id, Ended::Expired, now).await?;
            return Ok(RequestOutcome::HoldGone);
        };
        let jobs = reminders::due(&self.settings.reminders, office, hold.day, hold.slot, now);
        store::appointments::accept_hold(conn, &hold, application_id, &jobs, now).await?;
        crate::scheduler::drafts::unwatch_unbooked(conn, application_id).await?;
        store::waitlist::offer_ended(conn, hold_id, Ended::Accepted, now).await?;
        store::applications::set_status(conn, application_id, Status::Scheduled, now).await?;
        Ok(RequestOutcome::Booked { appointment: hold })
    }

    pub(super) async fn apply_effect(
        &self,
        conn: &mut Conn<'_>,
        conversation_id: i64,
        effect: &Effect,
        now: DateTime<Utc>,
    ) -> Result<(), TurnError> {
        match effect {
            Effect::ReleasePaymentKey { key } => {
                store::applications::release_payment_key(conn, key, conversation_id).await?
            }
            Effect::CancelAppointment {
                application_id,
                appointment_id,
            } => {
                if store::appointments::cancel(conn, *appointment_id, now).await? {
                    store::applications::set_status(conn, *application_id, Status::Submitted, now)
                        .await?;
                }
            }
            Effect::Withdraw { application_id } => {
                store::waitlist::leave(conn, *application_id, now).await?;
                if let Some(hold_id) = store::appointments::held_of(conn, *application_id).await? {
                    store::appointments::release_hold(conn, hold_id, now).await?;
                    store::waitlist::offer_ended(conn, hold_id, Ended::Left, now).await?;
                }
                store::appointments::cancel_active(conn, *application_id, now).await?;
                store::applications::set_status(conn, *application_id, Status::Withdrawn, now)
                    .await?;
            }
            Effect::JoinWaitlist {
                application_id,
                office_id,
                latest_day,
            } => {
                store::waitlist::join(conn, *application_id, office_id, *latest_day, now).await?;
            }
            Effect::LeaveWaitlist { application_id } => {
                store::waitlist::leave(conn, *application_id, now).await?;
            }
            Effect::ReleaseHold {
                application_id,
                hold_id,
            } => {
                let held = store::appointments::held_of(conn, *application_id).await?;
                if held == Some(*hold_id)
                    && store::appointments::release_hold(conn, *hold_id, now).await?
                {
                    store::waitlist::offer_ended(conn, *hold_id, Ended::Declined, now).await?;
                }
            }
        }
        Ok(())
    }
}
