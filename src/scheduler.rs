//! The scheduler: runs the jobs that are due (`store::jobs`), each in one transaction with its
//! effect, by one runner at a time. On PostgreSQL the runner holds a session advisory lock on
//! a connection of its own: another instance takes over within one poll after the holder dies
//! (its connection closes, its lock goes). On SQLite the database belongs to one process.
//! Time is the service's clock: tests run [`run_due`] with the clock where they want it.
//!
//! Jobs' messages go to the outbox in the `Scheduled` lane, behind interactive replies.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use crate::conversation::state::AppRef;
use crate::domain::application::AppointmentView;
use crate::domain::application::Status;
use crate::domain::reminders::AppointmentJob;
use crate::service::{Priority, Service};
use crate::store::appointments::{AppointmentStatus, SeatRequest};
use crate::store::audit::Event;
use crate::store::jobs::JobRow;
use crate::store::waitlist::{Ended, Opened};
use crate::store::{self, Conn, Db};

/// How often the runner looks for due jobs (and a standby instance for the lock).
pub const POLL: Duration = Duration::from_secs(5);
/// Jobs run per pass.
pub const BATCH: i64 = 200;
/// A job that failed this many times is set aside as failed.
pub const MAX_ATTEMPTS: i64 = 5;
/// The advisory lock of the runner on PostgreSQL ("VTS" + 13).
const LOCK_KEY: i64 = 0x5654_5300_0013;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Ran {
    pub done: usize,
    pub failed: usize,
}

/// Runs every job due at the service's `now` (in batches until none is left).
pub async fn run_due(service: &Service) -> anyhow::Result<Ran> {
    let mut ran = Ran::default();
    loop {
        let now = service.clock.now();
        let jobs = {
            let mut reader = service.db.reader().await?;
            store::jobs::due(&mut reader.conn(), now, BATCH).await?
        };
        let count = jobs.len();
        for job in jobs {
            match run_one(service, &job).await {
                Ok(()) => ran.done += 1,
                Err(error) => {
                    tracing::warn!(job.id, job.kind = %job.kind, error.message = %error, "job failed");
                    ran.failed += 1;
                    let backoff = chrono::Duration::minutes(5 << job.attempts.clamp(0, 6));
                    let mut tx = service.db.begin().await?;
                    let text: String = error.to_string().chars().take(500).collect();
                    store::jobs::failed(&mut tx.conn(), job.id, &text, now + backoff, MAX_ATTEMPTS)
                        .await?;
                    tx.commit().await?;
                }
            }
        }
        if (count as i64) < BATCH {
            return Ok(ran);
        }
    }
}

/// One job: marked done and its effect written in one transaction (a second run finds it
/// done and does nothing; a failure leaves it pending).
async fn run_one(service: &Service, job: &JobRow) -> anyhow::Result<()> {
    let now = service.clock.now();
    let mut tx = service.db.begin().await?;
    if !store::jobs::finish(&mut tx.conn(), job.id, now).await? {
        return Ok(());
    }
    match job.kind.as_str() {
        store::waitlist::OFFER_JOB => offer_seats(&mut tx.conn(), service, job).await?,
        store::appointments::HOLD_EXPIRY_JOB => expire_hold(&mut tx.conn(), service, job).await?,
        kind => match AppointmentJob::from_key(kind) {
            Some(AppointmentJob::Closing) => no_show(&mut tx.conn(), service, job).await?,
            Some(reminder) => remind(&mut tx.conn(), service, job, reminder).await?,
            None => anyhow::bail!("unknown job kind {kind:?}"),
        },
    }
    tx.commit().await?;
    Ok(())
}

/// A reminder of an appointment still active, on the applicant's channel, with what to bring.
async fn remind(
    conn: &mut Conn<'_>,
    service: &Service,
    job: &JobRow,
    reminder: AppointmentJob,
) -> anyhow::Result<()> {
    let Some(appointment_id) = job.appointment_id else {
        return Ok(());
    };
    let Some(appointment) = store::appointments::get(conn, appointment_id).await? else {
        return Ok(());
    };
    if appointment.status != AppointmentStatus::Active {
        return Ok(());
    }
    let Some(case) = store::cases::by_id(conn, appointment.application_id).await? else {
        return Ok(());
    };
    let Some(view) = store::applications::view(conn, appointment.application_id).await? else {
        return Ok(());
    };
    if view.appointment.as_ref().map(|a| a.id) != Some(appointment_id) {
        return Ok(());
    }
    // What to bring: what the counter checks.
    let labels = service.templates.labels();
    let bring: Vec<String> = service
        .settings
        .console
        .checklist
        .iter()
        .map(|key| labels.get(&format!("checklist.{key}")).to_string())
        .collect();
    let app = AppRef {
        id: view.id,
        folio: view.folio.clone(),
    };
    let asks = reminder == AppointmentJob::DayBefore;
    let procedure = &service.settings.procedure;
    service
        .tell(
            conn,
            procedure,
            (case.conversation_id, &view),
            Priority::Scheduled,
            |state, ctx| {
                let key = reminder.key();
                Some(crate::conversation::reminded(
                    state, &app, &view, key, asks, &bring, ctx,
                ))
            },
        )
        .await?;
    Ok(())
}

/// At the office's closing time: an appointment still active and its applicant not checked
/// in is a no-show, recorded as the clerk's would be (the applicant told how to book again).
async fn no_show(conn: &mut Conn<'_>, service: &Service, job: &JobRow) -> anyhow::Result<()> {
    let Some(appointment_id) = job.appointment_id else {
        return Ok(());
    };
    let Some(row) = store::appointments::get(conn, appointment_id).await? else {
        return Ok(());
    };
    if row.status != AppointmentStatus::Active {
        return Ok(());
    }
    let Some(case) = store::cases::by_id(conn, row.application_id).await? else {
        return Ok(());
    };
    if case.status != Status::Scheduled {
        // Checked in (or decided): nothing to do.
        return Ok(());
    }
    let Some(view) = store::applications::view(conn, case.id).await? else {
        return Ok(());
    };
    let Some(appointment) = view.appointment.filter(|a| a.id == appointment_id) else {
        return Ok(());
    };
    crate::staff::record_no_show(conn, service, None, &case, &appointment).await
}

/// Seats opened on a day (`store::waitlist::Opened`): each free seat is held for the next in
/// line whose range and booking window cover the day, and offered to them. At most one hold per
/// seat of the day is made, and each place in line is looked at once.
async fn offer_seats(conn: &mut Conn<'_>, service: &Service, job: &JobRow) -> anyhow::Result<()> {
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
        let app = AppRef {
            id: view.id,
            folio: view.folio.clone(),
        };
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
        record(conn, now, &case, Event::SeatOffered, detail).await?;
    }
    Ok(())
}

/// A hold nobody answered: released (its seat offered to the next in line) and the applicant
/// told.
async fn expire_hold(conn: &mut Conn<'_>, service: &Service, job: &JobRow) -> anyhow::Result<()> {
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
        &case,
        Event::HoldExpired,
        serde_json::json!({ "appointment_id": hold_id }),
    )
    .await?;
    let Some(view) = store::applications::view(conn, row.application_id).await? else {
        return Ok(());
    };
    let app = AppRef {
        id: view.id,
        folio: view.folio.clone(),
    };
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

/// An audit row of the scheduler's own doing.
async fn record(
    conn: &mut Conn<'_>,
    now: chrono::DateTime<Utc>,
    case: &store::cases::Case,
    event: Event,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    store::audit::record(
        conn,
        now,
        "scheduler",
        Some(case.conversation_id),
        Some(case.id),
        event,
        &detail.to_string(),
    )
    .await
}

/// The right to run jobs: the process (SQLite), or the advisory lock held on a connection of
/// its own (PostgreSQL).
pub enum Lead {
    Process,
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

/// Takes the lead if nobody holds it; `None` when another instance does.
pub async fn try_lead(db: &Db) -> Result<Option<Lead>, sqlx::Error> {
    match db {
        Db::Sqlite { .. } => Ok(Some(Lead::Process)),
        Db::Postgres(pool) => {
            let mut conn = pool.acquire().await?;
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(LOCK_KEY)
                .fetch_one(&mut *conn)
                .await?;
            Ok(got.then_some(Lead::Postgres(conn)))
        }
    }
}

/// Whether the lead still holds (its connection is alive).
async fn still_leads(lead: &mut Lead) -> bool {
    match lead {
        Lead::Process => true,
        Lead::Postgres(conn) => sqlx::query("SELECT 1").execute(&mut **conn).await.is_ok(),
    }
}

/// Gives the lead back: the lock released, the connection closed rather than pooled.
pub async fn release(lead: Lead) {
    if let Lead::Postgres(mut conn) = lead {
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(LOCK_KEY)
            .execute(&mut *conn)
            .await;
        let _ = conn.close().await;
    }
}

/// The runner: every [`POLL`], takes (or keeps) the lead and runs the due jobs, until `stop`.
pub async fn run(service: Service, mut stop: watch::Receiver<bool>) {
    let mut lead: Option<Lead> = None;
    loop {
        if let Some(held) = lead.as_mut()
            && !still_leads(held).await
        {
            tracing::warn!("scheduler lost its lock; trying again");
            lead = None;
        }
        if lead.is_none() {
            match try_lead(&service.db).await {
                Ok(got) => lead = got,
                Err(error) => tracing::warn!(error.message = %error, "scheduler lock not taken"),
            }
        }
        if lead.is_some() {
            match run_due(&service).await {
                Ok(ran) if ran != Ran::default() => {
                    tracing::info!(done = ran.done, failed = ran.failed, at = %Utc::now(), "jobs run")
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(error.message = %error, "scheduler pass failed"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
    }
    if let Some(lead) = lead {
        release(lead).await;
    }
}
