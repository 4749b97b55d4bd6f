//! Seats and appointments. A seat is taken by a conditional update (`taken < capacity`) on the
//! day's counter and then on the slot's counter, inside the turn's transaction: the database,
//! not Rust, decides who gets the last seat. On PostgreSQL the updated row stays locked until
//! commit and a concurrent update re-checks the condition; on SQLite writers are serialized.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::FromRow;

use super::jobs::NewJob;
use super::{Conn, on};
use crate::domain::application::AppointmentView;
use crate::domain::calendar;
use crate::domain::calendar::Availability;
use crate::domain::reminders::AppointmentJob;

/// Outcome of a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Booking {
    Booked(AppointmentView),
    DayFull,
    SlotFull,
}

/// What to book.
#[derive(Debug, Clone)]
pub struct SeatRequest<'a> {
    pub application_id: i64,
    pub office_id: &'a str,
    pub day: NaiveDate,
    pub slot: NaiveTime,
    pub day_capacity: u32,
    pub slot_capacity: u32,
    /// The jobs to schedule with the appointment (`domain::reminders::due`).
    pub jobs: Vec<(AppointmentJob, DateTime<Utc>)>,
}

/// Takes one seat of a day (`slot` = None) or of a slot, if fewer than `capacity` are taken
/// (a day's own capacity, set by the office, wins over `capacity`; 0 when it closed): one
/// upsert whose update only applies below the capacity.
async fn take_seat(
    conn: &mut Conn<'_>,
    office_id: &str,
    day: NaiveDate,
    slot: Option<&str>,
    capacity: u32,
) -> Result<bool, sqlx::Error> {
    let capacity = i64::from(capacity);
    let affected = match slot {
        None => on!(conn, c => sqlx::query(
            "INSERT INTO day_seats (office_id, day, taken) VALUES ($1, $2, 1)
             ON CONFLICT (office_id, day)
             DO UPDATE SET taken = day_seats.taken + 1
             WHERE day_seats.taken < COALESCE(day_seats.capacity, $3)",
        )
        .bind(office_id)
        .bind(day)
        .bind(capacity)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?,
        Some(slot) => on!(conn, c => sqlx::query(
            "INSERT INTO slot_seats (office_id, day, slot, taken) VALUES ($1, $2, $3, 1)
             ON CONFLICT (office_id, day, slot)
             DO UPDATE SET taken = slot_seats.taken + 1 WHERE slot_seats.taken < $4",
        )
        .bind(office_id)
        .bind(day)
        .bind(slot)
        .bind(capacity)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?,
    };
    Ok(affected == 1)
}

async fn free_seat(
    conn: &mut Conn<'_>,
    office_id: &str,
    day: NaiveDate,
    slot: &str,
) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "UPDATE day_seats SET taken = taken - 1 WHERE office_id = $1 AND day = $2 AND taken > 0",
    )
    .bind(office_id)
    .bind(day)
    .execute(&mut *c)
    .await
    .map(|_| ()))?;
    on!(conn, c => sqlx::query(
        "UPDATE slot_seats SET taken = taken - 1
         WHERE office_id = $1 AND day = $2 AND slot = $3 AND taken > 0",
    )
    .bind(office_id)
    .bind(day)
    .bind(slot)
    .execute(c)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Takes the day's and the slot's seat of `request`, or neither (the day's is given back when
/// the slot is full: this transaction holds that row, so nobody saw it taken). `Err` is the
/// refusal (`DayFull` or `SlotFull`).
async fn take_seats(
    conn: &mut Conn<'_>,
    request: &SeatRequest<'_>,
) -> Result<Result<(), Booking>, sqlx::Error> {
    let slot = calendar::slot_key(request.slot);
    if !take_seat(
        conn,
        request.office_id,
        request.day,
        None,
        request.day_capacity,
    )
    .await?
    {
        return Ok(Err(Booking::DayFull));
    }
    if !take_seat(
        conn,
        request.office_id,
        request.day,
        Some(&slot),
        request.slot_capacity,
    )
    .await?
    {
        // Give the day's seat back: this transaction holds that row, so nobody saw it taken.
        on!(conn, c => sqlx::query(
            "UPDATE day_seats SET taken = taken - 1 WHERE office_id = $1 AND day = $2",
        )
        .bind(request.office_id)
        .bind(request.day)
        .execute(c)
        .await
        .map(|_| ()))?;
        return Ok(Err(Booking::SlotFull));
    }
    Ok(Ok(()))
}

/// Schedules the jobs of the appointment `id` (its reminders, its closing-time check).
async fn schedule_jobs(
    conn: &mut Conn<'_>,
    id: i64,
    jobs: &[(AppointmentJob, DateTime<Utc>)],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for (kind, due_at) in jobs {
        let job = NewJob {
            kind: kind.key(),
            key: format!("{}:{id}", kind.key()),
            due_at: *due_at,
            appointment_id: Some(id),
            payload: "{}".into(),
        };
        super::jobs::schedule(conn, &job, now).await?;
    }
    Ok(())
}

/// Takes a seat for the application; its previous appointment, if any (a reschedule), is
/// cancelled and its seat freed in the same transaction, only once the new seat is taken. The
/// caller's transaction is left as it was when the result is not `Booked`.
pub async fn book(
    conn: &mut Conn<'_>,
    request: &SeatRequest<'_>,
    now: DateTime<Utc>,
) -> Result<Booking, sqlx::Error> {
    let slot = calendar::slot_key(request.slot);
    if let Err(refused) = take_seats(conn, request).await? {
        return Ok(refused);
    }
    // One active appointment per application: the new one replaces any other (the one being
    // rescheduled, normally).
    cancel_active(conn, request.application_id, now).await?;
    let id = on!(conn, c => sqlx::query_scalar::<_, i64>(
        "INSERT INTO appointments (application_id, office_id, day, slot, status, created_at)
         VALUES ($1, $2, $3, $4, 'active', $5) RETURNING id",
    )
    .bind(request.application_id)
    .bind(request.office_id)
    .bind(request.day)
    .bind(&slot)
    .bind(now)
    .fetch_one(c)
    .await)?;
    schedule_jobs(conn, id, &request.jobs, now).await?;
    Ok(Booking::Booked(AppointmentView {
        id,
        office_id: request.office_id.to_string(),
        day: request.day,
        slot: request.slot,
    }))
}

/// Holds a seat for the application until `until` (a waitlist offer): an appointment in status
/// `held` that takes its seats like a booking, with its expiry scheduled. `None` when the day
/// or the slot is full (the transaction is left as it was).
pub async fn hold(
    conn: &mut Conn<'_>,
    request: &SeatRequest<'_>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<i64>, sqlx::Error> {
    if take_seats(conn, request).await?.is_err() {
        return Ok(None);
    }
    let id = on!(conn, c => sqlx::query_scalar::<_, i64>(
        "INSERT INTO appointments (application_id, office_id, day, slot, status, hold_until, created_at)
         VALUES ($1, $2, $3, $4, 'held', $5, $6) RETURNING id",
    )
    .bind(request.application_id)
    .bind(request.office_id)
    .bind(request.day)
    .bind(calendar::slot_key(request.slot))
    .bind(super::millis(until))
    .bind(now)
    .fetch_one(c)
    .await)?;
    let expiry = NewJob {
        kind: HOLD_EXPIRY_JOB,
        key: format!("{HOLD_EXPIRY_JOB}:{id}"),
        due_at: until,
        appointment_id: Some(id),
        payload: "{}".into(),
    };
    super::jobs::schedule(conn, &expiry, now).await?;
    Ok(Some(id))
}

/// The job that releases a hold nobody accepted.
pub const HOLD_EXPIRY_JOB: &str = "hold_expiry";

/// The application's hold `hold_id`, still held at `now`, taken for this transaction (the row
/// is locked on PostgreSQL, so an expiry or another acceptance waits and then finds it gone).
pub async fn claim_hold(
    conn: &mut Conn<'_>,
    application_id: i64,
    hold_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<AppointmentView>, sqlx::Error> {
    let row = on!(conn, c => sqlx::query_as::<_, SeatRow>(
        "UPDATE appointments SET hold_until = hold_until
         WHERE id = $1 AND application_id = $2 AND status = 'held' AND hold_until > $3
         RETURNING id, office_id, day, slot",
    )
    .bind(hold_id)
    .bind(application_id)
    .bind(super::millis(now))
    .fetch_optional(c)
    .await)?;
    Ok(row.and_then(|row| {
        Some(AppointmentView {
            id: row.id,
            office_id: row.office_id,
            day: row.day,
            slot: NaiveTime::parse_from_str(&row.slot, "%H:%M").ok()?,
        })
    }))
}

/// Turns a claimed hold into the application's appointment: the active one it replaces is
/// cancelled (its seat freed, which may offer it to the next in line), the hold's expiry dropped
/// and the appointment's own jobs scheduled.
pub async fn accept_hold(
    conn: &mut Conn<'_>,
    hold: &AppointmentView,
    application_id: i64,
    jobs: &[(AppointmentJob, DateTime<Utc>)],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    cancel_active(conn, application_id, now).await?;
    on!(conn, c => sqlx::query(
        "UPDATE appointments SET status = 'active', hold_until = NULL
         WHERE id = $1 AND status = 'held'",
    )
    .bind(hold.id)
    .execute(c)
    .await
    .map(|_| ()))?;
    super::jobs::drop_for_appointment(conn, hold.id).await?;
    schedule_jobs(conn, hold.id, jobs, now).await
}

/// Releases a hold (declined, expired, or the application ended): its seat freed. False when
/// it was not held any more.
pub async fn release_hold(
    conn: &mut Conn<'_>,
    hold_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    cancel_where(conn, RELEASE_BY_ID, hold_id, now).await
}

const RELEASE_BY_ID: &str = "UPDATE appointments SET status = 'released', cancelled_at = $1
    WHERE id = $2 AND status = 'held' RETURNING id, office_id, day, slot";

/// The application's hold, if it has one.
pub async fn held_of(conn: &mut Conn<'_>, application_id: i64) -> Result<Option<i64>, sqlx::Error> {
    on!(conn, c => sqlx::query_scalar::<_, i64>(
        "SELECT id FROM appointments WHERE application_id = $1 AND status = 'held'",
    )
    .bind(application_id)
    .fetch_optional(c)
    .await)
}

#[derive(FromRow)]
struct SeatRow {
    id: i64,
    office_id: String,
    day: NaiveDate,
    slot: String,
}

/// Cancels an active appointment and frees its seat. Returns false if it was not active.
pub async fn cancel(
    conn: &mut Conn<'_>,
    appointment_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    cancel_where(conn, CANCEL_BY_ID, appointment_id, now).await
}

/// Cancels the application's active appointment, if any, and frees its seat.
pub async fn cancel_active(
    conn: &mut Conn<'_>,
    application_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    cancel_where(conn, CANCEL_BY_APPLICATION, application_id, now).await
}

const CANCEL_BY_ID: &str = "UPDATE appointments SET status = 'cancelled', cancelled_at = $1
    WHERE id = $2 AND status = 'active' RETURNING id, office_id, day, slot";
/// The application's active appointment passed without the applicant: marked `no_show`, its
/// seat freed. Returns false if it had none.
pub async fn mark_no_show(
    conn: &mut Conn<'_>,
    application_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    cancel_where(conn, NO_SHOW_BY_APPLICATION, application_id, now).await
}

const NO_SHOW_BY_APPLICATION: &str = "UPDATE appointments SET status = 'no_show', cancelled_at = $1
    WHERE application_id = $2 AND status = 'active' RETURNING id, office_id, day, slot";
const CANCEL_BY_APPLICATION: &str =
    "UPDATE appointments SET status = 'cancelled', cancelled_at = $1
    WHERE application_id = $2 AND status = 'active' RETURNING id, office_id, day, slot";

async fn cancel_where(
    conn: &mut Conn<'_>,
    sql: &'static str,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let row = on!(conn, c => sqlx::query_as::<_, SeatRow>(sql)
        .bind(now)
        .bind(id)
        .fetch_optional(c)
        .await)?;
    free(conn, row, now).await
}

/// Frees an ended appointment's seat and drops its pending jobs; the seat is then offered to
/// whoever waits for that day (`store::waitlist::seat_freed`).
async fn free(
    conn: &mut Conn<'_>,
    row: Option<SeatRow>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    match row {
        Some(row) => {
            free_seat(conn, &row.office_id, row.day, &row.slot).await?;
            super::jobs::drop_for_appointment(conn, row.id).await?;
            let cause = format!("freed:{}", row.id);
            super::waitlist::seats_opened(conn, &row.office_id, row.day, &cause, now).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

#[derive(FromRow)]
struct DayRow {
    office_id: String,
    day: NaiveDate,
    taken: i64,
}

#[derive(FromRow)]
struct SlotRow {
    office_id: String,
    day: NaiveDate,
    slot: String,
    taken: i64,
}

/// Seats taken between `from` and `to` (inclusive), per day and per slot.
pub async fn availability(
    conn: &mut Conn<'_>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Availability, sqlx::Error> {
    let days = on!(conn, c => sqlx::query_as::<_, DayRow>(
        "SELECT office_id, day, taken FROM day_seats WHERE day >= $1 AND day <= $2 AND taken > 0",
    )
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await)?;
    let slots = on!(conn, c => sqlx::query_as::<_, SlotRow>(
        "SELECT office_id, day, slot, taken FROM slot_seats
         WHERE day >= $1 AND day <= $2 AND taken > 0",
    )
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await)?;
    let mut availability = Availability::default();
    for row in days {
        availability
            .days
            .insert((row.office_id, row.day), row.taken.max(0) as u32);
    }
    for row in slots {
        if let Ok(slot) = NaiveTime::parse_from_str(&row.slot, "%H:%M") {
            availability
                .slots
                .insert((row.office_id, row.day, slot), row.taken.max(0) as u32);
        }
    }
    Ok(availability)
}

/// Seats taken on one day (for tests and the staff agenda).
pub async fn day_taken(
    conn: &mut Conn<'_>,
    office_id: &str,
    day: NaiveDate,
) -> Result<i64, sqlx::Error> {
    let taken = on!(conn, c => sqlx::query_scalar::<_, i64>(
        "SELECT taken FROM day_seats WHERE office_id = $1 AND day = $2",
    )
    .bind(office_id)
    .bind(day)
    .fetch_optional(c)
    .await)?;
    Ok(taken.unwrap_or(0))
}

/// Active appointments on one day.
pub async fn active_count(
    conn: &mut Conn<'_>,
    office_id: &str,
    day: NaiveDate,
) -> Result<i64, sqlx::Error> {
    on!(conn, c => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM appointments WHERE office_id = $1 AND day = $2 AND status = 'active'",
    )
    .bind(office_id)
    .bind(day)
    .fetch_one(c)
    .await)
}

/// How many appointments of one day are in each status (for the office and tests).
pub async fn status_counts(
    conn: &mut Conn<'_>,
    office_id: &str,
    day: NaiveDate,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, (String, i64)>(
        "SELECT status, COUNT(*) FROM appointments WHERE office_id = $1 AND day = $2
         GROUP BY status ORDER BY status",
    )
    .bind(office_id)
    .bind(day)
    .fetch_all(c)
    .await)
}

/// Whether an appointment holds its seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppointmentStatus {
    Active,
    Cancelled,
    /// The day passed without the applicant.
    NoShow,
    /// Offered from the waitlist and reserved until the applicant answers.
    Held,
    /// A hold declined or expired.
    Released,
}

impl TryFrom<String> for AppointmentStatus {
    type Error = String;

    fn try_from(value: String) -> Result<AppointmentStatus, String> {
        match value.as_str() {
            "active" => Ok(AppointmentStatus::Active),
            "cancelled" => Ok(AppointmentStatus::Cancelled),
            "no_show" => Ok(AppointmentStatus::NoShow),
            "held" => Ok(AppointmentStatus::Held),
            "released" => Ok(AppointmentStatus::Released),
            _ => Err(format!("unknown appointment status {value:?}")),
        }
    }
}

/// An appointment, active or cancelled.
#[derive(Debug, Clone, FromRow)]
pub struct AppointmentRow {
    pub id: i64,
    pub application_id: i64,
    pub office_id: String,
    pub day: NaiveDate,
    pub slot: String,
    #[sqlx(try_from = "String")]
    pub status: AppointmentStatus,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

pub async fn get(conn: &mut Conn<'_>, id: i64) -> Result<Option<AppointmentRow>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, AppointmentRow>(
        "SELECT id, application_id, office_id, day, slot, status, created_at, cancelled_at
         FROM appointments WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Every appointment an application ever had, oldest first (for the invitation's SEQUENCE).
pub async fn ids_of(conn: &mut Conn<'_>, application_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    on!(conn, c => sqlx::query_scalar::<_, i64>(
        "SELECT id FROM appointments WHERE application_id = $1 ORDER BY id",
    )
    .bind(application_id)
    .fetch_all(c)
    .await)
}
