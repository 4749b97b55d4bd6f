//! The turn: one input from one applicant becomes one transaction.
//!
//! 1. the receipt `(channel, external id)` is unique: a redelivery changes nothing;
//! 2. the conversation and what the step needs (application, seats) are loaded;
//! 3. `conversation::step` (pure) gives the new state, replies, effects and maybe a request;
//! 4. the request and effects are applied in the store (folio, seat, payment key…), and a
//!    request's outcome goes back to the step within the same transaction;
//! 5. replies are rendered with the templates into outbox rows;
//! 6. commit.
//!
//! The state is read before the write transaction starts and written back only if the
//! conversation's `version` is unchanged; a turn that lost a race is retried from the start.
//! This keeps SQLite's single write lock short (the pure step and the rendering run outside
//! it) while turns of one conversation stay strictly ordered on both backends.
//!
//! What a channel keeps of an input (the e-mail's inbound row) travels with the [`Inbound`] and
//! is written in the turn's transaction; the channels' other bookkeeping (threading tokens,
//! delivery reports, the mail sent per hour, the buttons of a stored message) is here too
//! ([`mail`], [`lookups`]), so channels translate and never touch the store.
//!
//! - `messages`: the types in and out of a turn (channel, address, inbound, outgoing message);
//! - `turn`: one attempt of a turn; `apply`: requests and effects; `audit`: its audit rows;
//! - `cache`: the states this process wrote last;
//! - `mail`, `lookups`: the channels' bookkeeping.

mod apply;
mod audit;
mod cache;
pub mod lookups;
pub mod mail;
mod messages;
mod turn;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use tracing::Instrument;

use crate::config::Settings;
use crate::conversation::reply::Reply;
use crate::conversation::state::State;
use crate::domain::application::ApplicationView;
use crate::domain::procedure::Procedure;
use crate::store::outbox::NewMessage;
/// The outbox lanes: interactive replies before notices nobody waits for.
pub use crate::store::outbox::Priority;
use crate::store::{self, Conn, Db};
use crate::templates::Templates;
use cache::ConversationCache;
pub use messages::{
    Address, Channel, ChannelRecord, ChatId, Inbound, MailRecord, OutgoingMessage, Packaging,
    TurnError, TurnResult, UserName,
};

/// The clock of the service. Deferred work (rate limits, retries, leases, the e-mail cap)
/// compares stored instants with `now()`, so the clock must run: `VENTANILLA_NOW` starts it at
/// a chosen instant ([`Clock::Offset`]) rather than freezing it. A frozen clock
/// ([`Clock::Fixed`]) is for tests, which inject it in code.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    /// Starts at `start` when the process reads `at`, then runs with the monotonic clock.
    Offset {
        start: DateTime<Utc>,
        at: std::time::Instant,
    },
    /// Never moves (tests that pin time).
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// A clock that reads `start` now and runs on from it.
    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock::Offset {
            start,
            at: std::time::Instant::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Offset { start, at } => {
                let elapsed =
                    chrono::Duration::from_std(at.elapsed()).unwrap_or(chrono::Duration::MAX);
                start.checked_add_signed(elapsed).unwrap_or(*start)
            }
            Clock::Fixed(at) => *at,
        }
    }
}

/// A message queued outside a turn, to one address on one channel.
#[derive(Debug, Clone, Copy)]
pub struct Notice<'a> {
    pub channel: &'a str,
    pub address: &'a str,
    pub message: &'a OutgoingMessage,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub turns: AtomicU64,
    pub duplicates: AtomicU64,
    pub turn_errors: AtomicU64,
    /// Inputs set aside after failing or crashing the service repeatedly.
    pub quarantined: AtomicU64,
    /// Where the committed turns' time went.
    pub phases: Phases,
}

/// Time spent by committed turns in each phase, in nanoseconds: reading the conversation and
/// its context, the pure step, rendering the replies, waiting for the write transaction (on
/// SQLite, for the one writer), the work inside it (requests, effects, the rows), and the commit.
#[derive(Debug, Default)]
pub struct Phases {
    pub read: AtomicU64,
    pub step: AtomicU64,
    pub render: AtomicU64,
    pub lock: AtomicU64,
    pub write: AtomicU64,
    pub commit: AtomicU64,
}

/// The instants that end each phase of a turn.
pub(crate) struct PhaseMarks {
    pub started: std::time::Instant,
    pub read: std::time::Instant,
    pub stepped: std::time::Instant,
    pub rendered: std::time::Instant,
    pub locked: std::time::Instant,
    pub written: std::time::Instant,
}

impl Phases {
    pub(crate) fn add(&self, marks: &PhaseMarks) {
        let nanos = |from: std::time::Instant, to: std::time::Instant| {
            u64::try_from(to.saturating_duration_since(from).as_nanos()).unwrap_or(u64::MAX)
        };
        let add = |counter: &AtomicU64, from, to| {
            counter.fetch_add(nanos(from, to), Ordering::Relaxed);
        };
        add(&self.read, marks.started, marks.read);
        add(&self.step, marks.read, marks.stepped);
        add(&self.render, marks.stepped, marks.rendered);
        add(&self.lock, marks.rendered, marks.locked);
        add(&self.write, marks.locked, marks.written);
        add(&self.commit, marks.written, std::time::Instant::now());
    }
}

/// Everything a turn needs: the store, the settings, the templates and the clock.
#[derive(Clone)]
pub struct Service {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub templates: Templates,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    /// Admission control: turns in progress at once. Since turns are written in groups (one
    /// batch for every turn waiting on the writer, `store::turns`), this also caps a group's
    /// size: with 8 the writer committed groups of a few turns and was the limit; 32 let the
    /// telegram bench go from ~2,100 to ~2,800-3,700 updates/s, and 64 gained nothing more
    /// (same runs), while each slot holds one turn's read state in memory.
    turn_slots: Arc<tokio::sync::Semaphore>,
    cache: Arc<ConversationCache>,
    /// Rung after this process committed outbox rows, so that its delivery workers send them
    /// now rather than at their next poll (`delivery::Worker::woken_by`). One worker wakes per
    /// ring (`notify_one`), and one that found a full batch wakes the next: waking them all for
    /// each turn had every idle worker claim from the single writer at once, mostly for nothing.
    pub outbox_ready: Arc<tokio::sync::Notify>,
}

/// How many times a turn that lost a race on its conversation is retried.
const MAX_ATTEMPTS: usize = 20;
/// Turns processed at the same time by one service (see `Service::turn_slots`).
const TURNS_IN_FLIGHT: usize = 32;
/// A request's outcome may lead to another request at most this many times in one turn.
pub(crate) const MAX_REQUESTS: usize = 3;

impl Service {
    pub fn new(db: Db, settings: Arc<Settings>) -> Service {
        let clock = settings
            .now
            .map(Clock::starting_at)
            .unwrap_or(Clock::System);
        Service {
            db,
            settings,
            templates: Templates::new(),
            clock,
            metrics: Arc::default(),
            turn_slots: Arc::new(tokio::sync::Semaphore::new(TURNS_IN_FLIGHT)),
            cache: Arc::default(),
            outbox_ready: Arc::default(),
        }
    }

    /// Processes one input: see the module documentation. Its replies go in the interactive
    /// lane.
    pub async fn handle(&self, inbound: &Inbound) -> Result<TurnResult, TurnError> {
        self.handle_in(inbound, Priority::Reply).await
    }

    /// Processes one input whose replies go in the given outbox lane (a notice nobody waits
    /// for goes behind interactive replies and never holds them back).
    pub async fn handle_in(
        &self,
        inbound: &Inbound,
        priority: Priority,
    ) -> Result<TurnResult, TurnError> {
        let span = tracing::info_span!(
            "turn",
            channel = inbound.channel().as_str(),
            external_id = %inbound.external_id,
            conversation_id = tracing::field::Empty,
        );
        async {
            let _slot = self.turn_slots.acquire().await.expect("the semaphore is never closed");
            for _ in 0..MAX_ATTEMPTS {
                match self.try_turn(inbound, priority).await {
                    Ok(Some(result)) => {
                        let counter = match result {
                            TurnResult::Duplicate => &self.metrics.duplicates,
                            TurnResult::Processed { messages, .. } => {
                                if messages > 0 {
                                    self.outbox_ready.notify_one();
                                }
                                &self.metrics.turns
                            }
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                        return Ok(result);
                    }
                    Ok(None) => continue,
                    Err(error) => {
                        self.metrics.turn_errors.fetch_add(1, Ordering::Relaxed);
                        tracing::error!(error.cause_chain = ?error, error.message = %error, "turn failed");
                        return Err(error);
                    }
                }
            }
            self.metrics.turn_errors.fetch_add(1, Ordering::Relaxed);
            Err(TurnError::Contended)
        }
        .instrument(span)
        .await
    }

    fn render_all(&self, replies: &[Reply]) -> anyhow::Result<Vec<OutgoingMessage>> {
        replies.iter().map(|reply| self.render(reply)).collect()
    }

    /// Queues messages for a conversation outside a turn (the office's notices, a paused
    /// address), in `priority`'s lane, within the caller's transaction; the ids of the rows.
    pub async fn queue(
        &self,
        conn: &mut Conn<'_>,
        conversation_id: i64,
        notices: &[Notice<'_>],
        priority: Priority,
    ) -> Result<Vec<i64>, sqlx::Error> {
        let messages: Vec<NewMessage<'_>> = notices
            .iter()
            .map(|notice| NewMessage {
                conversation_id,
                channel: notice.channel,
                address: notice.address,
                payload: serde_json::to_string(notice.message).expect("message serializes"),
                priority,
            })
            .collect();
        store::outbox::enqueue(conn, &messages, self.clock.now()).await
    }

    /// Renders a reply into a message.
    pub fn render(&self, reply: &Reply) -> anyhow::Result<OutgoingMessage> {
        Ok(OutgoingMessage {
            text: self.templates.render_reply(reply)?,
            choices: reply.choices.clone(),
            calendar: reply.calendar.clone(),
            template: reply.template.clone(),
            thread: Vec::new(),
            attachments: reply.attachments.clone(),
            headed: reply.progress.is_some(),
            rerouted_from: None,
        })
    }
}

impl Service {
    /// Tells the applicant of `conversation_id` what the office or the scheduler did: `decide` gives the state
    /// their conversation goes to and the notice (or `None`: nothing is said, nothing changes).
    /// Their own turn may write the state meanwhile: it is read again then. Returns the notice's
    /// outbox ids.
    pub(crate) async fn tell<F>(
        &self,
        conn: &mut Conn<'_>,
        procedure: &Procedure,
        (conversation_id, view): (i64, &ApplicationView),
        priority: Priority,
        decide: F,
    ) -> anyhow::Result<Option<Vec<i64>>>
    where
        F: Fn(&State, &crate::conversation::Context<'_>) -> Option<(State, Reply)>,
    {
        self.tell_in(
            conn,
            procedure,
            conversation_id,
            Some(view),
            priority,
            decide,
        )
        .await
    }

    /// [`Service::tell`] for a conversation without a submitted application (a draft).
    pub(crate) async fn tell_conversation<F>(
        &self,
        conn: &mut Conn<'_>,
        conversation_id: i64,
        priority: Priority,
        decide: F,
    ) -> anyhow::Result<Option<Vec<i64>>>
    where
        F: Fn(&State, &crate::conversation::Context<'_>) -> Option<(State, Reply)>,
    {
        let procedure = &self.settings.procedure;
        self.tell_in(conn, procedure, conversation_id, None, priority, decide)
            .await
    }

    async fn tell_in<F>(
        &self,
        conn: &mut Conn<'_>,
        procedure: &Procedure,
        conversation_id: i64,
        view: Option<&ApplicationView>,
        priority: Priority,
        decide: F,
    ) -> anyhow::Result<Option<Vec<i64>>>
    where
        F: Fn(&State, &crate::conversation::Context<'_>) -> Option<(State, Reply)>,
    {
        let service = self;
        for _ in 0..3 {
            let conversation = store::conversations::get(conn, conversation_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the application has a conversation"))?;
            let state = State::from_json(&conversation.state)?;
            let ctx = service.notice_context(
                procedure,
                &conversation.channel,
                &conversation.address,
                conversation.id,
                view.cloned(),
            );
            let Some((next, reply)) = decide(&state, &ctx) else {
                return Ok(None);
            };
            if next != state {
                let json = next.to_json();
                let now = service.clock.now();
                let written = store::conversations::update_state(
                    conn,
                    conversation.id,
                    conversation.version,
                    &json,
                    now,
                )
                .await?;
                if !written {
                    // The applicant's turn came in between: read the state again.
                    continue;
                }
            }
            let message = service.render(&reply)?;
            let notice = Notice {
                channel: &conversation.channel,
                address: &conversation.address,
                message: &message,
            };
            return Ok(Some(
                service
                    .queue(conn, conversation.id, &[notice], priority)
                    .await?,
            ));
        }
        anyhow::bail!("the conversation kept changing while the office told it")
    }
}
