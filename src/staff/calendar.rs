//! The office's calendar: its hours, one day's capacity, closures, and moving an appointment
//! for an applicant. A change that would leave an appointment out (a day it no longer opens, a
//! time that is no longer a slot, a day or slot over capacity) is refused with the list of
//! those appointments. A closure moves each applicant it meets to the first free day after it
//! (the seat is theirs), tells them on their channel with the updated receipt and invitation
//! and a choice to keep it or choose another day, and records what it did for the office.

use chrono::{Duration, NaiveDate, NaiveTime};
use serde::Serialize;

use super::{By, Refusal};
use crate::conversation::state::AppRef;
use crate::domain::application::{ApplicationData, Status};
use crate::domain::calendar::{
    Availability, BookingRules, Held, Hours, HoursError, MAX_DAILY_CAPACITY, Misfit, Office,
    clock_time,
};
use crate::domain::procedure::Procedure;
use crate::domain::reminders;
use crate::domain::staff::Permission;
use crate::service::{Priority, Service};
use crate::store::appointments::{Booking, SeatRequest};
use crate::store::audit::Event;
use crate::store::calendar::ActiveRow;
use crate::store::{self, Conn};

/// The longest closure at once (rule we adopt: two months; a longer one is several).
pub const MAX_CLOSURE_DAYS: i64 = 62;
/// The longest reason of a closure, in characters.
pub const MAX_REASON_CHARS: usize = 200;

/// Why the office's calendar was not changed; each has its explanation in the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Refused {
    /// Not the member's office, or not their role.
    Staff {
        refusal: Refusal,
    },
    UnknownOffice,
    Hours {
        error: HoursError,
    },
    /// A day's capacity must be between 1 and the maximum (a closed day is a closure).
    DayCapacity,
    /// The range is reversed, in the past or too long.
    Range,
    ReasonRequired,
    /// The change would leave these appointments out.
    Misfits {
        appointments: Vec<Concerned>,
    },
}

/// An appointment a change concerns, as the office reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Concerned {
    pub folio: String,
    pub name: String,
    pub day: NaiveDate,
    pub slot: String,
    pub misfit: Option<Misfit>,
}

impl Concerned {
    fn of(row: &ActiveRow, misfit: Option<Misfit>) -> Concerned {
        let data: Option<ApplicationData> = serde_json::from_str(&row.data).ok();
        Concerned {
            folio: row.folio.clone(),
            name: data.map(|d| d.name.full_name()).unwrap_or_default(),
            day: row.day,
            slot: row.slot.clone(),
            misfit,
        }
    }
}

/// An office's calendar as it is now: its hours, the days ahead with their own capacity or
/// closed, and its closures.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub office: Office,
    pub configured: Hours,
    pub closures: Vec<store::calendar::ClosureRow>,
}

/// How far ahead the office's decisions are read: the booking window and a month.
fn horizon(procedure: &Procedure, from: NaiveDate) -> NaiveDate {
    from + Duration::days(i64::from(procedure.booking.window_days) + 31)
}

fn check(service: &Service, by: By<'_>, office_id: &str) -> Result<(), Refused> {
    if service.settings.procedure.office(office_id).is_none() {
        return Err(Refused::UnknownOffice);
    }
    let Some(member) = by else {
        return Ok(());
    };
    if !member.serves(office_id) {
        return Err(Refused::Staff {
            refusal: Refusal::OtherOffice,
        });
    }
    if !member.role.allows(Permission::Supervise, false) {
        return Err(Refused::Staff {
            refusal: Refusal::NotAllowed,
        });
    }
    Ok(())
}

/// The office's calendar now.
pub async fn calendar(service: &Service, office_id: &str) -> anyhow::Result<Option<Calendar>> {
    let procedure = &service.settings.procedure;
    let Some(configured) = procedure.office(office_id) else {
        return Ok(None);
    };
    let today = configured.today(service.clock.now());
    let mut reader = service.db.reader().await?;
    let mut conn = reader.conn();
    let current =
        store::calendar::effective(&mut conn, procedure, today, horizon(procedure, today)).await?;
    let closures = store::calendar::closures(&mut conn, office_id, today).await?;
    Ok(current.office(office_id).map(|office| Calendar {
        office: office.clone(),
        configured: configured.hours(),
        closures,
    }))
}

/// The office's appointments from today that `current` would leave out.
async fn misfits(
    conn: &mut Conn<'_>,
    current: &Procedure,
    office_id: &str,
    from: NaiveDate,
) -> anyhow::Result<Vec<Concerned>> {
    let office = current
        .office(office_id)
        .ok_or_else(|| anyhow::anyhow!("the office is configured"))?;
    let active = store::calendar::active(
        conn,
        office_id,
        from,
        horizon(current, from) + Duration::days(366),
    )
    .await?;
    let held: Vec<Held> = active.iter().map(ActiveRow::held).collect();
    Ok(office
        .misfits(&current.booking, &held)
        .into_iter()
        .map(|(i, misfit)| Concerned::of(&active[i], Some(misfit)))
        .collect())
}

/// Changes the office's opening days, hours, slot length and daily capacity.
pub async fn set_hours(
    service: &Service,
    by: By<'_>,
    office_id: &str,
    hours: &Hours,
) -> anyhow::Result<Result<(), Refused>> {
    if let Err(refused) = check(service, by, office_id) {
        return Ok(Err(refused));
    }
    if let Err(error) = hours.check() {
        return Ok(Err(Refused::Hours { error }));
    }
    let procedure = &service.settings.procedure;
    let now = service.clock.now();
    let today = procedure
        .office(office_id)
        .map_or(now.date_naive(), |o| o.today(now));
    let mut tx = service.db.begin().await?;
    // The update holds the office's row: bookings wait for this transaction, and it for them.
    store::calendar::set_hours(&mut tx.conn(), office_id, hours, by.map(|m| m.id), now).await?;
    let current =
        store::calendar::effective(&mut tx.conn(), procedure, today, horizon(procedure, today))
            .await?;
    let concerned = misfits(&mut tx.conn(), &current, office_id, today).await?;
    if !concerned.is_empty() {
        tx.rollback().await?;
        return Ok(Err(Refused::Misfits {
            appointments: concerned,
        }));
    }
    let detail = serde_json::json!({ "office": office_id, "hours": hours });
    office_audit(&mut tx.conn(), service, by, Event::HoursChanged, detail).await?;
    // New hours may open seats (more capacity, longer days): whoever waits is offered them.
    let cause = format!("hours:{}", store::millis(now));
    let last = horizon(procedure, today);
    store::waitlist::days_opened(&mut tx.conn(), office_id, today, last, &cause, now).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Gives `day` its own capacity (`None`: the office's daily capacity again).
pub async fn set_day_capacity(
    service: &Service,
    by: By<'_>,
    office_id: &str,
    day: NaiveDate,
    capacity: Option<u32>,
) -> anyhow::Result<Result<(), Refused>> {
    if let Err(refused) = check(service, by, office_id) {
        return Ok(Err(refused));
    }
    if capacity.is_some_and(|c| c == 0 || c > MAX_DAILY_CAPACITY) {
        return Ok(Err(Refused::DayCapacity));
    }
    let procedure = &service.settings.procedure;
    let mut tx = service.db.begin().await?;
    // Holds the day's row: a booking of that day waits for this transaction.
    store::calendar::set_day_capacity(&mut tx.conn(), office_id, day, capacity).await?;
    let current = store::calendar::effective(&mut tx.conn(), procedure, day, day).await?;
    let office = current
        .office(office_id)
        .ok_or_else(|| anyhow::anyhow!("the office is configured"))?;
    let active = store::calendar::active(&mut tx.conn(), office_id, day, day).await?;
    let held: Vec<Held> = active.iter().map(ActiveRow::held).collect();
    let concerned: Vec<Concerned> = office
        .misfits(&current.booking, &held)
        .into_iter()
        .filter(|(_, misfit)| matches!(misfit, Misfit::DayOver | Misfit::SlotOver))
        .map(|(i, misfit)| Concerned::of(&active[i], Some(misfit)))
        .collect();
    if !concerned.is_empty() {
        tx.rollback().await?;
        return Ok(Err(Refused::Misfits {
            appointments: concerned,
        }));
    }
    let detail = serde_json::json!({ "office": office_id, "day": day, "capacity": capacity });
    office_audit(
        &mut tx.conn(),
        service,
        by,
        Event::DayCapacityChanged,
        detail,
    )
    .await?;
    // More seats (or the office's own capacity again): whoever waits for the day is offered.
    let now = service.clock.now();
    let cause = format!("capacity:{}", store::millis(now));
    store::waitlist::seats_opened(&mut tx.conn(), office_id, day, &cause, now).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// A closure asked for: the office, the days, the reason.
#[derive(Debug, Clone)]
pub struct ClosureRequest<'a> {
    pub office_id: &'a str,
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub reason: &'a str,
}

impl ClosureRequest<'_> {
    fn check(&self, service: &Service, by: By<'_>) -> Result<(), Refused> {
        check(service, by, self.office_id)?;
        let office = service.settings.procedure.office(self.office_id);
        let today = office.map(|o| o.today(service.clock.now()));
        if self.last < self.first
            || today.is_some_and(|today| self.first < today)
            || (self.last - self.first).num_days() >= MAX_CLOSURE_DAYS
        {
            return Err(Refused::Range);
        }
        let reason = self.reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(Refused::ReasonRequired);
        }
        Ok(())
    }
}

/// The appointments a closure would meet, before it is confirmed.
pub async fn closure_preview(
    service: &Service,
    by: By<'_>,
    request: &ClosureRequest<'_>,
) -> anyhow::Result<Result<Vec<Concerned>, Refused>> {
    if let Err(refused) = request.check(service, by) {
        return Ok(Err(refused));
    }
    let mut reader = service.db.reader().await?;
    let active = store::calendar::active(
        &mut reader.conn(),
        request.office_id,
        request.first,
        request.last,
    )
    .await?;
    Ok(Ok(active
        .iter()
        .map(|row| Concerned::of(row, None))
        .collect()))
}

/// Closes the office from `first` to `last`: nobody can book those days any more, and each
/// appointment in them is moved to the first free day after the closure (the same time when
/// it is free, else the first free time), the applicant told. The closure's id.
pub async fn close(
    service: &Service,
    by: By<'_>,
    request: &ClosureRequest<'_>,
) -> anyhow::Result<Result<i64, Refused>> {
    if let Err(refused) = request.check(service, by) {
        return Ok(Err(refused));
    }
    let procedure = &service.settings.procedure;
    let now = service.clock.now();
    let office_id = request.office_id;
    let reason = request.reason.trim();
    let mut tx = service.db.begin().await?;
    let closure_id = store::calendar::insert_closure(
        &mut tx.conn(),
        office_id,
        request.first,
        request.last,
        reason,
        by.map(|m| m.id),
        now,
    )
    .await?;
    // Each day's row taken with capacity 0: no booking of these days passes from here on, and
    // every booking that passed before is in the list read next.
    for day in request.first.iter_days().take_while(|d| *d <= request.last) {
        store::calendar::set_day_capacity(&mut tx.conn(), office_id, day, Some(0)).await?;
    }
    let affected =
        store::calendar::active(&mut tx.conn(), office_id, request.first, request.last).await?;
    let after = request.last.succ_opt().unwrap_or(request.last);
    let until = after + Duration::days(i64::from(procedure.booking.window_days));
    let current = store::calendar::effective(&mut tx.conn(), procedure, after, until).await?;
    let office = current
        .office(office_id)
        .ok_or_else(|| anyhow::anyhow!("the office is configured"))?
        .clone();
    let mut seats = store::appointments::availability(&mut tx.conn(), after, until).await?;
    for row in &affected {
        let moved = move_into_first_free(
            &mut tx.conn(),
            &office,
            (&current.booking, &service.settings.reminders),
            &mut seats,
            row,
            (after, until),
            now,
        )
        .await?;
        if moved.is_none() {
            store::appointments::cancel(&mut tx.conn(), row.appointment_id, now).await?;
            store::applications::set_status(
                &mut tx.conn(),
                row.application_id,
                Status::Submitted,
                now,
            )
            .await?;
        }
        let detail = serde_json::json!({ "closure": closure_id, "moved": moved.is_some() });
        store::audit::record_by_staff(
            &mut tx.conn(),
            now,
            by.map(|m| m.id),
            Some(row.conversation_id),
            Some(row.application_id),
            Event::AppointmentMoved,
            &detail.to_string(),
        )
        .await?;
        let notices = tell_moved(&mut tx.conn(), service, &current, row, Some(reason)).await?;
        store::calendar::record_move(
            &mut tx.conn(),
            closure_id,
            row.application_id,
            row.appointment_id,
            moved,
            &notices,
        )
        .await?;
    }
    let detail = serde_json::json!({
        "office": office_id,
        "closure": closure_id,
        "first": request.first,
        "last": request.last,
        "appointments": affected.len(),
    });
    office_audit(&mut tx.conn(), service, by, Event::OfficeClosed, detail).await?;
    tx.commit().await?;
    Ok(Ok(closure_id))
}

/// Books `row`'s application into the first day of `range` with a free seat (its own time if
/// free, else the day's first free time); the new appointment's id. `seats` is kept up to
/// date; the database's conditional update decides each seat.
async fn move_into_first_free(
    conn: &mut Conn<'_>,
    office: &Office,
    (rules, reminder_rules): (&BookingRules, &reminders::ReminderRules),
    seats: &mut Availability,
    row: &ActiveRow,
    (from, to): (NaiveDate, NaiveDate),
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Option<i64>> {
    let wanted = row.held().slot;
    let slots = office.slots();
    for day in from.iter_days().take_while(|d| *d <= to) {
        if !rules.is_open(office, day)
            || seats.day_taken(&office.id, day) >= office.capacity_on(day)
        {
            continue;
        }
        let slot_capacity = office.slot_capacity_on(day);
        let free = |slot: &NaiveTime| seats.slot_taken(&office.id, day, *slot) < slot_capacity;
        let mut candidates: Vec<NaiveTime> = slots.iter().copied().filter(free).collect();
        if let Some(i) = candidates.iter().position(|slot| *slot == wanted) {
            candidates.swap(0, i);
        }
        for slot in candidates {
            let request = SeatRequest {
                application_id: row.application_id,
                office_id: &office.id,
                day,
                slot,
                day_capacity: office.capacity_on(day),
                slot_capacity,
                jobs: reminders::due(reminder_rules, office, day, slot, now),
            };
            match store::appointments::book(conn, &request, now).await? {
                Booking::Booked(appointment) => {
                    *seats.days.entry((office.id.clone(), day)).or_default() += 1;
                    *seats
                        .slots
                        .entry((office.id.clone(), day, slot))
                        .or_default() += 1;
                    return Ok(Some(appointment.id));
                }
                Booking::DayFull => break,
                Booking::SlotFull => continue,
            }
        }
    }
    Ok(None)
}

/// Tells the applicant of `row` what the office did to their appointment (moved, or cancelled
/// for want of a free day), on their channel; the notice's outbox ids. A conversation that was
/// following its application goes to the question of keeping the new appointment.
async fn tell_moved(
    conn: &mut Conn<'_>,
    service: &Service,
    current: &Procedure,
    row: &ActiveRow,
    reason: Option<&str>,
) -> anyhow::Result<Vec<i64>> {
    let view = store::applications::view(conn, row.application_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the application exists"))?;
    let app = AppRef::of(&view);
    let told = service
        .tell(
            conn,
            current,
            (row.conversation_id, &view),
            Priority::Reply,
            |state, ctx| {
                Some(match view.appointment {
                    Some(_) => crate::conversation::office_moved(state, &app, &view, reason, ctx),
                    None => (
                        state.clone(),
                        crate::conversation::reply::Reply::new("appointment_closed")
                            .with("folio", app.folio.to_string())
                            .with("reason", reason.unwrap_or_default()),
                    ),
                })
            },
        )
        .await?;
    Ok(told.unwrap_or_default())
}

/// Moves the appointment of `folio` to `day` at `slot` for the applicant (a supervisor, at
/// their request); they are told with the updated receipt and invitation.
pub async fn reschedule(
    service: &Service,
    by: By<'_>,
    folio: &str,
    day: NaiveDate,
    slot: NaiveTime,
) -> anyhow::Result<Result<Rescheduled, Refusal>> {
    let procedure = &service.settings.procedure;
    let now = service.clock.now();
    let mut tx = service.db.begin().await?;
    let (permission, wanted) = (Permission::Supervise, Status::Scheduled);
    let found = super::find_in(service, &mut tx.conn(), by, folio, permission, wanted).await?;
    let case = match found {
        Ok(case) => case,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let view = store::applications::view(&mut tx.conn(), case.id).await?;
    let Some(old) = view.and_then(|v| v.appointment) else {
        return Ok(Err(Refusal::NotScheduled));
    };
    store::calendar::hold_hours(&mut tx.conn(), &old.office_id).await?;
    let current = store::calendar::effective(&mut tx.conn(), procedure, day, day).await?;
    let office = current
        .office(&old.office_id)
        .ok_or_else(|| anyhow::anyhow!("the office is configured"))?;
    let today = office.today(now);
    if day <= today || !current.booking.is_open(office, day) || !office.slots().contains(&slot) {
        return Ok(Err(Refusal::NotBookable));
    }
    let request = SeatRequest {
        application_id: case.id,
        office_id: &office.id,
        day,
        slot,
        day_capacity: office.capacity_on(day),
        slot_capacity: office.slot_capacity_on(day),
        jobs: reminders::due(&service.settings.reminders, office, day, slot, now),
    };
    let appointment = match store::appointments::book(&mut tx.conn(), &request, now).await? {
        Booking::Booked(appointment) => appointment,
        Booking::DayFull | Booking::SlotFull => return Ok(Err(Refusal::Full)),
    };
    super::audit(
        &mut tx.conn(),
        service,
        by,
        &case,
        Event::AppointmentMoved,
        serde_json::json!({ "from": old.id, "to": appointment.id }),
    )
    .await?;
    let row = ActiveRow {
        appointment_id: appointment.id,
        application_id: case.id,
        conversation_id: case.conversation_id,
        folio: case.folio.clone(),
        data: case.data.clone(),
        day,
        slot: clock_time(slot),
    };
    tell_moved(&mut tx.conn(), service, &current, &row, None).await?;
    tx.commit().await?;
    Ok(Ok(Rescheduled {
        folio: case.folio,
        day,
        slot: clock_time(slot),
    }))
}

/// Where an appointment was moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rescheduled {
    pub folio: String,
    pub day: NaiveDate,
    pub slot: String,
}

/// One applicant a closure met, as its page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MoveReport {
    pub folio: String,
    pub name: String,
    pub from_day: NaiveDate,
    pub from_slot: String,
    /// Where they were moved; `None`: no free day, the appointment was cancelled.
    pub to_day: Option<NaiveDate>,
    pub to_slot: Option<String>,
    /// The notices' statuses (`pending`, `sent`, `failed`, `paused`…) and their last error.
    pub notices: Vec<(String, Option<String>)>,
    /// Whether every notice went out.
    pub told: bool,
    /// Whether a notice failed for good or waits on a paused address.
    pub failed: bool,
}

/// A closure and what it did.
#[derive(Debug, Clone)]
pub struct ClosureReport {
    pub closure: store::calendar::ClosureRow,
    pub moves: Vec<MoveReport>,
}

/// What closure `id` did, with each notice's delivery status now.
pub async fn closure_report(service: &Service, id: i64) -> anyhow::Result<Option<ClosureReport>> {
    let mut reader = service.db.reader().await?;
    let mut conn = reader.conn();
    let Some(closure) = store::calendar::closure(&mut conn, id).await? else {
        return Ok(None);
    };
    let mut moves = Vec::new();
    for row in store::calendar::moves(&mut conn, id).await? {
        let ids: Vec<i64> = serde_json::from_str(&row.notices).unwrap_or_default();
        let statuses = store::calendar::notice_statuses(&mut conn, &ids).await?;
        let data: Option<ApplicationData> = serde_json::from_str(&row.data).ok();
        let told = !statuses.is_empty() && statuses.iter().all(|(_, s, _)| s == "sent");
        let failed = statuses
            .iter()
            .any(|(_, s, _)| s == "failed" || s == "paused");
        moves.push(MoveReport {
            folio: row.folio,
            name: data.map(|d| d.name.full_name()).unwrap_or_default(),
            from_day: row.from_day,
            from_slot: row.from_slot,
            to_day: row.to_day,
            to_slot: row.to_slot,
            notices: statuses.into_iter().map(|(_, s, e)| (s, e)).collect(),
            told,
            failed,
        });
    }
    Ok(Some(ClosureReport { closure, moves }))
}

async fn office_audit(
    conn: &mut Conn<'_>,
    service: &Service,
    by: By<'_>,
    event: Event,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    store::audit::record_by_staff(
        conn,
        service.clock.now(),
        by.map(|member| member.id),
        None,
        None,
        event,
        &detail.to_string(),
    )
    .await
}
