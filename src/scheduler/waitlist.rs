//! The waitlist's jobs: a day's opened seats held for the first in line and offered, and a
//! hold nobody answered released to the next.

use super::record;
use crate::conversation::state::AppRef;
use crate::domain::application::AppointmentView;
use crate::service::{Priority, Service};
use crate::store::appointments::SeatRequest;
use crate::store::audit::Event;
use crate::store::jobs::JobRow;
use crate::store::waitlist::{Ended, Opened};
use crate::store::{self, Conn};

/// Seats opened on a day (`store::waitlist::Opened`): each free seat is held for the next in
/// line whose range and booking window cover the day, and offered to them. At most one hold per
/// seat of the day is made, and each place in line is looked at once.
pub(super) async fn offer_seats(
    conn: &mut Conn<'_>,
    service: &Service,
    job: &JobRow,
) -> anyhow::Result<()> {
    let opened: Opened = serde_json::from_str(&job.payload)?;
    let (office_id, day) = (opened.office.as_str(), opened.day);
    let procedure = &service.settings.procedure;
    let now = service.clock.now();
    let current = store::calendar::effective(conn, procedure, day, day).await?;
    let Some(office) = current.office(office_id) else {
        return Ok(());
    };
    let today = office.today(now);
    if day <= today || !current.booking.is_open(office, day) {
        return Ok(());
    }
    let (day_capacity, slot_capacity) = (office.capacity_on(day), office.slot_capacity_on(day));
    let until = now + chrono::Duration::minutes(i64::from(current.booking.hold_minutes));
    let mut after = 0;
    for _ in 0..day_capacity {
        let taken = store::appointments::availability(conn, day, day).await?;
        if taken.day_taken(office_id, day) >= day_capacity {
            return Ok(());
        }
        let Some(slot) = office
            .slots()
            .into_iter()
            .find(|slot| taken.slot_taken(office_id, day, *slot) < slot_capacity)
        else {
            return Ok(());
        };
        // The next in line for whom the day can be booked (their first bookable day counts).
        let (place, view, case) = loop {
            let Some(place) = store::waitlist::first_in_line(conn, office_id, day, after).await?
            else {
                return Ok(());
            };
            after = place.id;
            let view = store::applications::view(conn, place.application_id).await?;
            let case = store::cases::by_id(conn, place.application_id).await?;
            if let (Some(view), Some(case)) = (view, case) {
                let (first, last) = current.booking.window(today, view.paid_on);
                let approved = !view.needs_approval(current.booking.no_show_limit);
                if first <= day && day <= last && approved {
                    break (place, view, case);
                }
            }
        };
        let seat = SeatRequest {
            application_id: place.application_id,
            office_id,
            day,
            slot,
            day_capacity,
            slot_capacity,
            jobs: Vec::new(),
        };
        let Some(hold_id) = store::appointments::hold(conn, &seat, until, now).await? else {
            return Ok(());
        };
        let hold = AppointmentView {
            id: hold_id,
            office_id: office_id.to_string(),
            day,
            slot,
        };
        let app = AppRef::of(&view);
        let told = service
            .tell(
                conn,
                procedure,
                (case.conversation_id, &view),
                Priority::Scheduled,
                |state, ctx| crate::conversation::offered(state, &app, &hold, until, ctx),
            )
            .await?;
        if told.is_none() {
            // Their conversation is elsewhere (it cannot be while the application is open):
            // the whole job is tried again later rather than holding a seat nobody is told of.
            anyhow::bail!("the applicant's conversation does not follow the application");
        }
        store::waitlist::offered(conn, place.id, hold_id, now).await?;
        let detail =
            serde_json::json!({ "appointment_id": hold_id, "office": office_id, "day": day });
        record(
            conn,
            now,
            case.conversation_id,
            Some(case.id),
            Event::SeatOffered,
            detail,
        )
        .await?;
    }
    Ok(())
}

/// A hold nobody answered: released (its seat offered to the next in line) and the applicant
/// told.
pub(super) async fn expire_hold(
    conn: &mut Conn<'_>,
    service: &Service,
    job: &JobRow,
) -> anyhow::Result<()> {
    let Some(hold_id) = job.appointment_id else {
        return Ok(());
    };
    let now = service.clock.now();
    let Some(row) = store::appointments::get(conn, hold_id).await? else {
        return Ok(());
    };
    if !store::appointments::release_hold(conn, hold_id, now).await? {
        return Ok(());
    }
    store::waitlist::offer_ended(conn, hold_id, Ended::Expired, now).await?;
    let Some(case) = store::cases::by_id(conn, row.application_id).await? else {
        return Ok(());
    };
    record(
        conn,
        now,
        case.conversation_id,
        Some(case.id),
        Event::HoldExpired,
        serde_json::json!({ "appointment_id": hold_id }),
    )
    .await?;
    let Some(view) = store::applications::view(conn, row.application_id).await? else {
        return Ok(());
    };
    let app = AppRef::of(&view);
    let procedure = &service.settings.procedure;
    service
        .tell(
            conn,
            procedure,
            (case.conversation_id, &view),
            Priority::Scheduled,
            |state, ctx| crate::conversation::hold_expired(state, &app, hold_id, &view, ctx),
        )
        .await?;
    Ok(())
}
