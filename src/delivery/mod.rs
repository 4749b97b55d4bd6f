//! The outbox worker: claims due messages, hands them to the channel's sender, and records the
//! result. Transient failures are retried with exponential backoff; permanent ones are marked
//! failed with the reason; an unreachable recipient (a blocked bot, a bouncing address) marks
//! the conversation so that nothing more is sent to it. No row is ever dropped.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::Instrument;

use crate::service::{Clock, OutgoingMessage};
use crate::store::outbox::{Claim, OutboxRow, Priority, Scope};
use crate::store::{self, Db};

/// The notices that go to the applicant's e-mail when their own channel cannot be reached
/// (templates): reminders, an appointment the office moved or closed, a no-show, and the
/// office's decisions. The cédula itself always goes by e-mail already.
const REROUTED: [&str; 8] = [
    "reminder_day_before",
    "reminder_same_day",
    "appointment_moved",
    "appointment_closed",
    "no_show",
    "application_rejected",
    "application_reopened",
    "booking_approved",
];

/// A message claimed for delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub conversation_id: i64,
    pub address: String,
    pub message: OutgoingMessage,
    /// The outbox lane it travelled in (a rate limit keeps room for replies).
    pub priority: Priority,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Parts of the message (the text, then each attachment) that went out before, under an
    /// earlier claim: a sender of several parts starts after them.
    pub parts_sent: u32,
    /// Where a sender of several parts records each one as soon as it went out.
    pub progress: Progress,
}

/// Records how far the sending of a message got (see [`Delivery::parts_sent`]), so that a
/// retry, a restart or another worker taking the message over does not send those parts again.
#[derive(Debug, Clone)]
pub struct Progress {
    db: Db,
    claim: Claim,
}

impl Progress {
    /// Records that the first `parts` parts went out. Fails when another worker has taken the
    /// message over (this one's lease ran out): it sends the rest, so this one should stop. A
    /// database error is only logged: the worst it costs is a part sent twice.
    pub async fn record(&self, parts: u32) -> Result<(), SendError> {
        match store::outbox::record_parts(&self.db, self.claim, parts).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(SendError::Transient {
                reason: "another worker took the message over".into(),
                retry_after: None,
            }),
            Err(error) => {
                tracing::warn!(error.message = %error, "could not record a part as sent");
                Ok(())
            }
        }
    }
}

/// Why a send did not succeed, sorted by what the worker should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later (network error, 5xx, 4xx SMTP, rate limited).
    #[error("transient: {reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Will never succeed as it is (malformed, refused).
    #[error("permanent: {0}")]
    Permanent(String),
    /// Not sent, to stay under the channel's rate limits: send it after the given time. Not a
    /// failure: it does not count as an attempt.
    #[error("deferred by rate limit")]
    Later(Duration),
    /// The recipient cannot be reached on this channel any more.
    #[error("unreachable: {0}")]
    Unreachable(String),
}

impl SendError {
    /// A document of the message could not be rendered (the database, a template): the
    /// message is tried again later, text and documents together.
    pub fn cannot_render(error: anyhow::Error) -> SendError {
        SendError::Transient {
            reason: format!("cannot render a document: {error:#}"),
            retry_after: None,
        }
    }
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// A channel's way out.
pub trait Sender: Send + Sync {
    /// The channel name (`terminal`, `telegram`, `email`).
    fn channel(&self) -> &'static str;
    fn send<'a>(&'a self, delivery: &'a Delivery) -> SendFuture<'a>;
}

/// When to try again.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max_delay: Duration,
    pub max_attempts: u32,
    /// How long a claimed message is reserved for the worker that claimed it. The worker
    /// renews the lease while the send is in flight (every third of it), so this is how long a
    /// message waits when its worker dies before another worker takes it over.
    pub lease: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(2),
            max_delay: Duration::from_secs(3600),
            max_attempts: 12,
            lease: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff: base, 2·base, 4·base… capped.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        self.base.saturating_mul(factor).min(self.max_delay)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionOutcome {
    /// This many messages were claimed and handled (sent, retried, failed…).
    TaskCompleted(usize),
    EmptyQueue,
    /// Every message claimed was deferred by the channel's rate limit, the soonest for this
    /// long: claiming again at once would only defer them again (a write each), so `run`
    /// pauses a little.
    Deferred(usize, Duration),
}

/// What became of one claimed message.
enum Handled {
    /// It went out: marked sent together with the others of its batch.
    Sent,
    /// Its outcome is recorded (`held`: the claim still held the row); `deferred` is the rate
    /// limit's wait when it was deferred.
    Recorded {
        held: bool,
        deferred: Option<Duration>,
    },
}

/// How many messages a worker claims in one transaction by default (see [`Worker::batch`]).
pub const DEFAULT_BATCH: usize = 16;

/// The longest pause of a worker after a deferral (a per-chat wait can be a second; other
/// chats' messages should not wait that long).
const DEFERRED_PAUSE: Duration = Duration::from_millis(50);

/// Delivery counters and the worker's heartbeat, for `/metrics` and `/healthz`.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    pub sent: AtomicU64,
    pub retried: AtomicU64,
    pub failed: AtomicU64,
    /// Held because their address bounced (sent when it works again).
    pub paused: AtomicU64,
    /// Unix milliseconds of the worker's last loop.
    pub heartbeat: AtomicI64,
    /// Messages taken over from a claim that ended without an outcome (its worker died): after
    /// their lease ran out, or at start-up on SQLite. Each may have gone out already.
    pub reclaimed: AtomicU64,
    /// Outcomes not recorded because another worker had taken the message over meanwhile
    /// (this worker's lease ran out mid-send): the message may have gone out twice.
    pub claims_lost: AtomicU64,
    /// The channels the worker delivers (whose rows `/healthz` watches).
    pub channels: Vec<String>,
}

/// The outbox worker.
#[derive(Clone)]
pub struct Worker {
    db: Db,
    senders: HashMap<&'static str, Arc<dyn Sender>>,
    scope: Scope,
    clock: Clock,
    policy: RetryPolicy,
    /// How long to sleep when nothing is due.
    idle: Duration,
    /// Rung when this process queued messages (a turn committed): an idle worker looks again at
    /// once instead of at the end of `idle` (which stays the poll for other instances' rows).
    wake: Option<Arc<tokio::sync::Notify>>,
    /// How many messages one claim takes (sent concurrently, marked sent in one transaction).
    batch: usize,
    pub stats: Arc<DeliveryStats>,
}

impl Worker {
    pub fn new(db: Db, senders: Vec<Arc<dyn Sender>>, clock: Clock, policy: RetryPolicy) -> Worker {
        let scope = Scope {
            channels: senders.iter().map(|s| s.channel().to_string()).collect(),
            conversation_id: None,
        };
        let senders = senders.into_iter().map(|s| (s.channel(), s)).collect();
        let stats = Arc::new(DeliveryStats {
            channels: scope.channels.clone(),
            ..DeliveryStats::default()
        });
        Worker {
            db,
            senders,
            scope,
            clock,
            policy,
            idle: Duration::from_millis(500),
            wake: None,
            batch: DEFAULT_BATCH,
            stats,
        }
    }

    /// Claims up to `batch` messages at a time in `run` and `drain` (at least 1).
    pub fn batch(mut self, batch: usize) -> Worker {
        self.batch = batch.max(1);
        self
    }

    /// Wakes when `wake` is rung (see [`crate::service::Service::outbox_ready`]).
    pub fn woken_by(mut self, wake: Arc<tokio::sync::Notify>) -> Worker {
        self.wake = Some(wake);
        self
    }

    /// Sleeps `idle` between polls of an empty queue (tests poll faster).
    pub fn idle(mut self, idle: Duration) -> Worker {
        self.idle = idle;
        self
    }

    /// Only deliver messages of one conversation (the terminal delivers its own).
    pub fn for_conversation(mut self, conversation_id: i64) -> Worker {
        self.scope.conversation_id = Some(conversation_id);
        self
    }

    /// Puts the messages left `sending` by a process that died back to pending, at once rather
    /// than after their lease: only right for a process that is the only one delivering on
    /// its channels, i.e. `serve` on SQLite at start-up. Returns how many.
    pub async fn release_claims_of_the_dead(&self) -> Result<u64, sqlx::Error> {
        let released = store::outbox::release_claims(&self.db, &self.scope.channels).await?;
        if released > 0 {
            self.stats.reclaimed.fetch_add(released, Ordering::Relaxed);
            tracing::warn!(
                messages = released,
                "reclaimed messages left being sent by a previous run; they may arrive twice"
            );
        }
        Ok(released)
    }

    /// Claims one due message and tries to deliver it.
    pub async fn try_execute_task(&self) -> Result<ExecutionOutcome, sqlx::Error> {
        self.execute(1).await
    }

    /// Claims up to `limit` due messages in one transaction (each the next of its conversation,
    /// channel and lane), sends them concurrently and marks those that went out sent in one
    /// transaction. The other outcomes (retry, failure, deferral) are recorded one by one.
    async fn execute(&self, limit: usize) -> Result<ExecutionOutcome, sqlx::Error> {
        let now = self.clock.now();
        let rows =
            store::outbox::claim(&self.db, &self.scope, now, self.policy.lease, limit).await?;
        if rows.is_empty() {
            return Ok(ExecutionOutcome::EmptyQueue);
        }
        let count = rows.len();
        // A full batch: more may be waiting, for another worker to claim meanwhile.
        if count == limit
            && let Some(bell) = &self.wake
        {
            bell.notify_one();
        }
        let claims: Vec<Claim> = rows.iter().map(OutboxRow::claim).collect();
        let handled = {
            // The leases are renewed while the sends are in flight, so a slow send keeps its
            // row while a dead worker's rows are taken over within one lease.
            let _renewing = AbortOnDrop(tokio::spawn(renew_leases(
                self.db.clone(),
                claims,
                self.clock,
                self.policy.lease,
            )));
            futures_util::future::join_all(rows.into_iter().map(|row| {
                let span = tracing::info_span!("deliver", outbox_id = row.id);
                self.deliver(row, now).instrument(span)
            }))
            .await
        };
        let mut sent = Vec::new();
        let mut lost = Vec::new();
        // The rate limit's waits of the messages it deferred.
        let mut waits = Vec::new();
        let mut failure = None;
        for (claim, outcome) in handled {
            match outcome {
                Ok(Handled::Sent) => sent.push(claim),
                Ok(Handled::Recorded { held, deferred }) => {
                    waits.extend(deferred);
                    if !held {
                        lost.push(claim.id);
                    }
                }
                Err(error) => failure = Some(error),
            }
        }
        // What went out is recorded first, even when another outcome could not be.
        if !sent.is_empty() {
            let marked = store::outbox::mark_sent(&self.db, &sent, self.clock.now()).await?;
            lost.extend(
                sent.iter()
                    .filter(|c| !marked.contains(&c.id))
                    .map(|c| c.id),
            );
        }
        for id in lost {
            self.stats.claims_lost.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                outbox_id = id,
                "another worker took this message over while it was being sent; it may arrive twice"
            );
        }
        if let Some(error) = failure {
            return Err(error);
        }
        Ok(match waits.iter().min() {
            Some(wait) if waits.len() == count => ExecutionOutcome::Deferred(count, *wait),
            _ => ExecutionOutcome::TaskCompleted(count),
        })
    }

    /// Delivers a claimed row: sends it, or records why not (with whether the claim still held
    /// the row then). Returns the claim with what became of it.
    async fn deliver(
        &self,
        row: OutboxRow,
        now: DateTime<Utc>,
    ) -> (Claim, Result<Handled, sqlx::Error>) {
        let claim = row.claim();
        if row.taken_over != 0 {
            self.stats.reclaimed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                outbox_id = row.id,
                "took over a message whose lease ran out; it may arrive twice"
            );
        }
        (claim, self.try_deliver(row, claim, now).await)
    }

    async fn try_deliver(
        &self,
        row: OutboxRow,
        claim: Claim,
        now: DateTime<Utc>,
    ) -> Result<Handled, sqlx::Error> {
        let recorded = |held: bool| Handled::Recorded {
            held,
            deferred: None,
        };
        let attempt = u32::try_from(row.attempts).unwrap_or(u32::MAX);
        let Some(sender) = self.senders.get(row.channel.as_str()) else {
            // Claimed by scope, so this cannot happen; release it for a worker that can.
            return store::outbox::mark_retry(&self.db, claim, now, "no sender for channel")
                .await
                .map(recorded);
        };
        if let Some(reason) = &row.unreachable_reason {
            self.reroute(&row, now).await?;
            if row.channel == "email" {
                // A bounced address: held, in order, until it writes to us again.
                self.stats.paused.fetch_add(1, Ordering::Relaxed);
                return store::outbox::mark_paused(&self.db, claim, reason)
                    .await
                    .map(recorded);
            }
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
            return store::outbox::mark_failed(&self.db, claim, &format!("unreachable: {reason}"))
                .await
                .map(recorded);
        }
        let message: OutgoingMessage = match serde_json::from_str(&row.payload) {
            Ok(message) => message,
            Err(error) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                return store::outbox::mark_failed(
                    &self.db,
                    claim,
                    &format!("unreadable payload: {error}"),
                )
                .await
                .map(recorded);
            }
        };
        let delivery = Delivery {
            id: row.id,
            conversation_id: row.conversation_id,
            address: row.address.clone(),
            message,
            priority: Priority::from_i64(row.priority),
            attempt,
            parts_sent: u32::try_from(row.parts_sent).unwrap_or(0),
            progress: Progress {
                db: self.db.clone(),
                claim,
            },
        };
        let result = sender.send(&delivery).await;
        let outcome = match result {
            Ok(()) => {
                self.stats.sent.fetch_add(1, Ordering::Relaxed);
                return Ok(Handled::Sent);
            }
            Err(SendError::Later(wait)) => {
                let next =
                    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(1));
                let held = store::outbox::defer(&self.db, claim, next).await?;
                return Ok(Handled::Recorded {
                    held,
                    deferred: Some(wait),
                });
            }
            Err(SendError::Transient {
                reason,
                retry_after,
            }) if attempt < self.policy.max_attempts => {
                self.stats.retried.fetch_add(1, Ordering::Relaxed);
                let delay = retry_after.unwrap_or_else(|| self.policy.delay(attempt));
                tracing::warn!(attempt, delay_ms = delay.as_millis() as u64, %reason, "delivery will be retried");
                let next =
                    now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1));
                store::outbox::mark_retry(&self.db, claim, next, &reason).await
            }
            Err(SendError::Transient { reason, .. }) | Err(SendError::Permanent(reason)) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!(attempt, %reason, "delivery failed");
                store::outbox::mark_failed(&self.db, claim, &reason).await
            }
            Err(SendError::Unreachable(reason)) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%reason, "recipient unreachable; the conversation is marked");
                let mut tx = self.db.begin().await?;
                store::conversations::mark_unreachable(
                    &mut tx.conn(),
                    row.conversation_id,
                    &reason,
                    now,
                )
                .await?;
                let detail = serde_json::json!({ "channel": row.channel, "reason": reason });
                store::audit::record(
                    &mut tx.conn(),
                    now,
                    "delivery",
                    Some(row.conversation_id),
                    None,
                    store::audit::Event::Unreachable,
                    &detail.to_string(),
                )
                .await?;
                tx.commit().await?;
                self.reroute(&row, now).await?;
                store::outbox::mark_failed(&self.db, claim, &format!("unreachable: {reason}")).await
            }
        };
        outcome.map(recorded)
    }

    /// An important notice (`REROUTED`) that cannot reach the applicant on their channel goes
    /// to the e-mail address they gave, once, saying so; the case's audit trail records it.
    async fn reroute(&self, row: &OutboxRow, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        let Ok(message) = serde_json::from_str::<OutgoingMessage>(&row.payload) else {
            return Ok(());
        };
        if !REROUTED.contains(&message.template.as_str()) || message.rerouted_from.is_some() {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        let Some((application_id, email)) =
            store::applications::verified_email(&mut tx.conn(), row.conversation_id).await?
        else {
            return Ok(());
        };
        if row.channel == "email" && row.address.eq_ignore_ascii_case(&email) {
            // Its own address is the one that bounced: nothing else is known.
            return Ok(());
        }
        let copy = OutgoingMessage {
            // Answers come back on the applicant's own channel, not to this e-mail.
            choices: Vec::new(),
            calendar: None,
            thread: Vec::new(),
            rerouted_from: Some(row.channel.clone()),
            ..message
        };
        let notice = store::outbox::NewMessage {
            conversation_id: row.conversation_id,
            channel: "email",
            address: &email,
            payload: serde_json::to_string(&copy).expect("message serializes"),
            priority: Priority::from_i64(row.priority),
        };
        store::outbox::enqueue(&mut tx.conn(), &[notice], now).await?;
        let detail =
            serde_json::json!({ "from": row.channel, "to": "email", "notice": copy.template });
        store::audit::record(
            &mut tx.conn(),
            now,
            "delivery",
            Some(row.conversation_id),
            Some(application_id),
            store::audit::Event::NoticeRerouted,
            &detail.to_string(),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            outbox.id = row.id,
            "an important notice was rerouted to the applicant's e-mail"
        );
        Ok(())
    }

    /// Delivers everything due now, a batch at a time; returns how many messages were
    /// handled.
    pub async fn drain(&self) -> Result<usize, sqlx::Error> {
        let mut handled = 0;
        loop {
            match self.execute(self.batch).await? {
                ExecutionOutcome::TaskCompleted(count) | ExecutionOutcome::Deferred(count, _) => {
                    handled += count
                }
                ExecutionOutcome::EmptyQueue => return Ok(handled),
            }
        }
    }

    /// Runs `tasks` delivery loops sharing the queue until `shutdown` says stop: sends to
    /// different chats overlap, while each conversation's messages still go one at a time and
    /// in order (a message is only claimed once the ones before it are sent).
    pub async fn run_many(self, tasks: usize, shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..tasks.max(1) {
            let worker = self.clone();
            let mut stop = shutdown.clone();
            set.spawn(async move {
                worker
                    .run(async move {
                        let _ = stop.wait_for(|stop| *stop).await;
                    })
                    .await
            });
        }
        while set.join_next().await.is_some() {}
    }

    /// Runs until `shutdown` completes, sleeping when the queue is empty. Database errors are
    /// logged and retried; they never stop the worker.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let bell = self.wake.clone().unwrap_or_default();
        loop {
            self.stats
                .heartbeat
                .store(Utc::now().timestamp_millis(), Ordering::Relaxed);
            // Listening before looking: a message queued while this worker finds the queue
            // empty still wakes it.
            let rung = bell.notified();
            tokio::pin!(rung);
            rung.as_mut().enable();
            let pause = match self.execute(self.batch).await {
                Ok(ExecutionOutcome::TaskCompleted(_)) => None,
                Ok(ExecutionOutcome::EmptyQueue) => Some(self.idle),
                Ok(ExecutionOutcome::Deferred(_, wait)) => Some(wait.min(DEFERRED_PAUSE)),
                Err(error) => {
                    tracing::error!(error.cause_chain = ?error, error.message = %error, "outbox worker error");
                    Some(Duration::from_secs(2))
                }
            };
            match pause {
                Some(pause) => tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(pause) => {}
                    _ = &mut rung, if self.wake.is_some() => {}
                },
                None => {
                    if futures_ready(&mut shutdown).await {
                        break;
                    }
                }
            }
        }
        tracing::info!("outbox worker stopped");
    }
}

/// Extends the leases of `claims` every third of `lease` until aborted (when the sends
/// ended); a claim whose outcome is recorded, or that another worker took over, drops out.
async fn renew_leases(db: Db, mut claims: Vec<Claim>, clock: Clock, lease: Duration) {
    let every = (lease / 3).max(Duration::from_millis(100));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !claims.is_empty() {
        tick.tick().await;
        let until =
            clock.now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::hours(1));
        match store::outbox::renew(&db, &claims, until).await {
            Ok(held) => claims.retain(|claim| held.contains(&claim.id)),
            Err(error) => {
                tracing::warn!(error.message = %error, "could not renew the leases of a batch")
            }
        }
    }
}

/// Aborts a task when dropped (the lease renewal ends with its send, however that ends).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Whether the shutdown future has completed, without waiting.
async fn futures_ready<F: Future<Output = ()>>(future: &mut Pin<&mut F>) -> bool {
    tokio::select! {
        biased;
        _ = future.as_mut() => true,
        _ = std::future::ready(()) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(1), Duration::from_secs(2));
        assert_eq!(policy.delay(2), Duration::from_secs(4));
        assert_eq!(policy.delay(5), Duration::from_secs(32));
        assert_eq!(policy.delay(40), Duration::from_secs(3600));
    }
}
