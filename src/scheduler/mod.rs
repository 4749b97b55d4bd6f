//! The scheduler: runs the jobs that are due (`store::jobs`), each in one transaction with its
//! effect, by one runner at a time. On PostgreSQL the runner holds a session advisory lock on
//! a connection of its own: another instance takes over within one poll after the holder dies
//! (its connection closes, its lock goes). On SQLite the database belongs to one process.
//! Time is the service's clock: tests run [`run_due`] with the clock where they want it.
//!
//! Jobs' messages go to the outbox in the `Scheduled` lane, behind interactive replies.
//!
//! - `appointments`: an appointment's reminders and its closing-time no-show;
//! - `waitlist`: offering a day's opened seats, and a hold's expiry;
//! - `drafts`: a draft left unanswered (a reminder, then it expires), and an application
//!   submitted without an appointment (reminded every week, a few times).

mod appointments;
pub mod drafts;
mod waitlist;

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use crate::domain::reminders::AppointmentJob;
use crate::service::Service;
use crate::store::audit::Event;
use crate::store::jobs::JobRow;
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
        store::waitlist::OFFER_JOB => waitlist::offer_seats(&mut tx.conn(), service, job).await?,
        store::appointments::HOLD_EXPIRY_JOB => {
            waitlist::expire_hold(&mut tx.conn(), service, job).await?
        }
        drafts::DRAFT_JOB => drafts::draft_silence(&mut tx.conn(), service, job).await?,
        drafts::UNBOOKED_JOB => drafts::unbooked(&mut tx.conn(), service, job).await?,
        kind => match AppointmentJob::from_key(kind) {
            Some(AppointmentJob::Closing) => {
                appointments::no_show(&mut tx.conn(), service, job).await?
            }
            Some(reminder) => appointments::remind(&mut tx.conn(), service, job, reminder).await?,
            None => anyhow::bail!("unknown job kind {kind:?}"),
        },
    }
    tx.commit().await?;
    service.outbox_ready.notify_one();
    Ok(())
}

/// An audit row of the scheduler's own doing.
async fn record(
    conn: &mut Conn<'_>,
    now: chrono::DateTime<Utc>,
    conversation_id: i64,
    application_id: Option<i64>,
    event: Event,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    store::audit::record(
        conn,
        now,
        "scheduler",
        Some(conversation_id),
        application_id,
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
