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

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::config::Settings;
use crate::conversation::reply::{CalendarView, Choice, Reply};
use crate::conversation::state::State;
use crate::conversation::{self, ChannelKind, Context, Effect, Input, Request, RequestOutcome};
use crate::domain::application::{ApplicationView, Status};
use crate::domain::calendar::Availability;
use crate::domain::email::EmailAddress;
use crate::store::applications::{Claim, Submission};
use crate::store::appointments::{Booking, SeatRequest};
use crate::store::audit::AuditRow;
use crate::store::outbox::{NewMessage, Priority};
use crate::store::turns::{TurnWrite, WriteOutcome};
use crate::store::{self, Conn, Db};
use crate::templates::Templates;

/// The channels Ventanilla speaks on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Terminal,
    Telegram,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Terminal => "terminal",
            Channel::Telegram => "telegram",
            Channel::Email => "email",
        }
    }
}

/// One input, as a channel adapter hands it over.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub channel: Channel,
    /// Who: the chat id, the e-mail address, the terminal user.
    pub address: String,
    /// The channel's id of this input (update id, Message-ID…): the idempotency key.
    pub external_id: String,
    pub input: Input,
    /// The channel's thread this input continues, oldest first, ending with this input's own
    /// id (e-mail: References then Message-ID); replies name it. Empty on other channels.
    pub thread: Vec<String>,
}

/// A rendered message, as stored in the outbox and handed to a channel sender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    pub text: String,
    #[serde(default)]
    pub choices: Vec<Choice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<CalendarView>,
    /// The template it came from (channels may present some messages differently).
    pub template: String,
    /// The thread this message answers (see [`Inbound::thread`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thread: Vec<String>,
    /// Documents sent with it, rendered from their records when the message is sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::documents::DocumentRef>,
    /// The first line of `text` is the progress line ("step N of M"), which chats that format
    /// text show as a heading.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub headed: bool,
}

/// What a turn did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnResult {
    Processed {
        conversation_id: i64,
        messages: usize,
    },
    /// This input was processed before: nothing changed, nothing was sent.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    /// The database failed or is unreachable: the input can be retried later.
    #[error("the database is unavailable")]
    Database(#[from] sqlx::Error),
    /// Other turns of the same conversation kept winning; the input can be retried.
    #[error("the conversation changed during the turn too many times")]
    Contended,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl TurnError {
    /// Whether the same input may succeed later (the database, contention), as opposed to a
    /// failure of the input itself.
    pub fn is_temporary(&self) -> bool {
        matches!(self, TurnError::Database(_) | TurnError::Contended)
    }
}

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

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub turns: AtomicU64,
    pub duplicates: AtomicU64,
    pub turn_errors: AtomicU64,
    /// Inputs set aside after failing or crashing the service repeatedly.
    pub quarantined: AtomicU64,
}

/// Everything a turn needs: the store, the settings, the templates and the clock.
#[derive(Clone)]
pub struct Service {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub templates: Templates,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    /// Admission control: turns in progress at once. Beyond a few per core, more concurrent
    /// turns only lengthen the run queue, and a turn holding SQLite's single writer then waits
    /// behind the others' work before it can commit.
    turn_slots: Arc<tokio::sync::Semaphore>,
    cache: Arc<ConversationCache>,
}

/// The last state this process wrote for each conversation, with its version: a turn on a
/// conversation it knows needs no read before its write. The database stays the truth: the
/// write only applies to the version cached, so a state changed elsewhere (another instance)
/// makes the write fail, the entry is forgotten, and the turn is redone from the database.
#[derive(Default)]
struct ConversationCache {
    entries: Mutex<HashMap<(Channel, String), CachedConversation>>,
}

#[derive(Clone)]
struct CachedConversation {
    id: i64,
    version: i64,
    state: State,
}

/// Entries kept before the cache starts over (memory stays bounded; a miss costs one read).
const CACHE_LIMIT: usize = 100_000;

impl ConversationCache {
    fn get(&self, key: &(Channel, String)) -> Option<CachedConversation> {
        self.entries.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: (Channel, String), id: i64, version: i64, state: State) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_LIMIT {
                entries.clear();
            }
            entries.insert(key, CachedConversation { id, version, state });
        }
    }

    fn forget(&self, key: &(Channel, String)) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
}

/// How many times a turn that lost a race on its conversation is retried.
const MAX_ATTEMPTS: usize = 20;
/// Turns processed at the same time by one service (see `Service::turn_slots`).
const TURNS_IN_FLIGHT: usize = 8;
/// A request's outcome may lead to another request at most this many times in one turn.
const MAX_REQUESTS: usize = 3;

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
            channel = inbound.channel.as_str(),
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
                            TurnResult::Processed { .. } => &self.metrics.turns,
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

    /// One attempt; `None` when the conversation changed meanwhile and the turn must be redone.
    async fn try_turn(
        &self,
        inbound: &Inbound,
        priority: Priority,
    ) -> Result<Option<TurnResult>, TurnError> {
        let now = self.clock.now();
        let channel = inbound.channel.as_str();
        let channel_kind = self.channel_kind(inbound);

        // Read phase: no write lock held.
        let key = (inbound.channel, inbound.address.clone());
        let (existing, state, mut ctx_data) = match self.cache.get(&key) {
            // A conversation this process wrote last: its state is known without a read. If
            // another process changed it since, the version check of the write says so.
            Some(cached) => {
                let data = if cached.state.app().is_some() || cached.state.needs_availability() {
                    let mut reader = self.db.reader().await?;
                    self.load_context(&mut reader.conn(), &cached.state, now)
                        .await?
                } else {
                    ContextData::default()
                };
                (Some((cached.id, cached.version)), cached.state, data)
            }
            None => {
                let mut reader = self.db.reader().await?;
                let mut conn = reader.conn();
                let row = store::conversations::find(&mut conn, channel, &inbound.address).await?;
                let state = match &row {
                    Some(row) => State::from_json(&row.state).map_err(|e| {
                        anyhow::anyhow!(e).context("Failed to read the conversation state")
                    })?,
                    None => State::New,
                };
                let data = self.load_context(&mut conn, &state, now).await?;
                (row.map(|r| (r.id, r.version)), state, data)
            }
        };
        let conversation_id = existing.map(|(id, _)| id).unwrap_or(0);
        let mut outcome = conversation::step(
            &state,
            &inbound.input,
            &ctx_data.context(self, now, channel_kind.clone(), conversation_id),
        );

        // Rendering and serializing happen before the write lock is taken; a request's
        // outcome (rare) adds its replies inside the transaction.
        let mut messages = self.render_all(&outcome.replies)?;
        let mut state_json = outcome.request.is_none().then(|| outcome.state.to_json());
        let input_json = serde_json::to_string(&inbound.input).expect("input serializes");

        // Write phase.
        let mut tx = self.db.begin().await?;
        let (conversation_id, version) = match existing {
            Some(known) => known,
            None => {
                let created = store::conversations::create(
                    &mut tx.conn(),
                    channel,
                    &inbound.address,
                    &state.to_json(),
                    now,
                )
                .await?;
                match created {
                    Some(id) => (id, 0),
                    None => {
                        tx.rollback().await?;
                        self.cache.forget(&key);
                        return Ok(None);
                    }
                }
            }
        };
        tracing::Span::current().record("conversation_id", conversation_id);
        let mut effects = std::mem::take(&mut outcome.effects);
        let mut requests = Vec::new();
        for _ in 0..MAX_REQUESTS {
            let Some(request) = outcome.request.take() else {
                break;
            };
            let answer = self
                .apply_request(&mut tx.conn(), conversation_id, &request, now)
                .await?;
            requests.push((request, answer.clone()));
            // Seats changed under a refused booking: the step shows fresh availability.
            if matches!(
                answer,
                RequestOutcome::DayFull { .. }
                    | RequestOutcome::SlotFull { .. }
                    | RequestOutcome::NotOpen
            ) {
                ctx_data = self
                    .load_context(&mut tx.conn(), &outcome.state, now)
                    .await?;
            }
            let ctx = ctx_data.context(self, now, channel_kind.clone(), conversation_id);
            outcome = conversation::step(&outcome.state, &Input::Outcome(answer), &ctx);
            messages.extend(self.render_all(&outcome.replies)?);
            effects.append(&mut outcome.effects);
            state_json = None;
        }
        for effect in &effects {
            self.apply_effect(&mut tx.conn(), conversation_id, effect, now)
                .await?;
        }
        let state_json = state_json.unwrap_or_else(|| outcome.state.to_json());
        let rows: Vec<NewMessage<'_>> = package(inbound, messages)
            .into_iter()
            .map(|payload| NewMessage {
                conversation_id,
                channel,
                address: &inbound.address,
                payload,
                priority,
            })
            .collect();
        let audit = Self::audit_rows(conversation_id, &state, &outcome.state, &effects, &requests);
        let write = TurnWrite {
            channel,
            external_id: &inbound.external_id,
            conversation_id,
            address: &inbound.address,
            input: &input_json,
            state: &state_json,
            version,
            messages: &rows,
            audit: &audit,
            now,
        };
        match store::turns::write(&mut tx.conn(), &write).await? {
            WriteOutcome::Written => {}
            WriteOutcome::Duplicate => {
                tx.rollback().await?;
                return Ok(Some(TurnResult::Duplicate));
            }
            WriteOutcome::Conflict => {
                tx.rollback().await?;
                self.cache.forget(&key);
                return Ok(None);
            }
        }
        tx.commit().await?;
        self.cache
            .put(key, conversation_id, version + 1, outcome.state);
        Ok(Some(TurnResult::Processed {
            conversation_id,
            messages: rows.len(),
        }))
    }

    fn channel_kind(&self, inbound: &Inbound) -> ChannelKind {
        match inbound.channel {
            Channel::Terminal => ChannelKind::Terminal,
            Channel::Telegram => ChannelKind::Telegram,
            Channel::Email => match EmailAddress::parse(&inbound.address) {
                Ok(address) => ChannelKind::Email(address),
                Err(_) => ChannelKind::Terminal,
            },
        }
    }

    /// Loads what the step may read for `state`.
    async fn load_context(
        &self,
        conn: &mut Conn<'_>,
        state: &State,
        now: DateTime<Utc>,
    ) -> Result<ContextData, sqlx::Error> {
        let application = match state.app() {
            Some(app) => store::applications::view(conn, app.id).await?,
            None => None,
        };
        let availability = if state.needs_availability() {
            // From the earliest of the offices' todays (they may be in different zones).
            let procedure = &self.settings.procedure;
            let today = procedure
                .offices
                .iter()
                .map(|office| office.today(now))
                .min()
                .unwrap_or_else(|| procedure.today(now));
            let to = today
                + chrono::Duration::days(
                    i64::from(self.settings.procedure.booking.window_days) + 31,
                );
            store::appointments::availability(conn, today, to).await?
        } else {
            Availability::default()
        };
        Ok(ContextData {
            application,
            availability,
        })
    }

    async fn apply_request(
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
                    } => RequestOutcome::Submitted {
                        application_id,
                        folio,
                    },
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
                let Some(office) = procedure.office(office_id) else {
                    return Ok(RequestOutcome::NotOpen);
                };
                let open = store::applications::view(conn, *application_id)
                    .await?
                    .is_some_and(|a| a.status.is_open());
                if !open {
                    return Ok(RequestOutcome::NotOpen);
                }
                let seat = SeatRequest {
                    application_id: *application_id,
                    office_id,
                    day: *day,
                    slot: *slot,
                    day_capacity: office.daily_capacity,
                    slot_capacity: office.slot_capacity(),
                };
                match store::appointments::book(conn, &seat, now).await? {
                    Booking::Booked(appointment) => {
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
        })
    }

    async fn apply_effect(
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
                store::appointments::cancel_active(conn, *application_id, now).await?;
                store::applications::set_status(conn, *application_id, Status::Withdrawn, now)
                    .await?;
            }
        }
        Ok(())
    }

    /// What changed, for the audit trail: the conversation's stage, requests and effects.
    /// No personal data.
    fn audit_rows(
        conversation_id: i64,
        before: &State,
        after: &State,
        effects: &[Effect],
        requests: &[(Request, RequestOutcome)],
    ) -> Vec<AuditRow> {
        let mut rows = Vec::new();
        let (from, to) = (before.stage(), after.stage());
        let application_id = after.app().or(before.app()).map(|a| a.id);
        let row = |application_id: Option<i64>, event: &'static str, detail: serde_json::Value| {
            AuditRow {
                actor: "applicant",
                conversation_id: Some(conversation_id),
                application_id,
                event,
                detail: detail.to_string(),
            }
        };
        if from != to {
            rows.push(row(
                application_id,
                "stage",
                serde_json::json!({ "from": from, "to": to }),
            ));
        }
        for (request, answer) in requests {
            let (event, app) = match answer {
                RequestOutcome::PaymentKeyClaimed { .. } => ("payment_key_claimed", application_id),
                RequestOutcome::PaymentKeyTaken { .. } => ("payment_key_refused", application_id),
                RequestOutcome::Submitted { application_id, .. } => {
                    ("submitted", Some(*application_id))
                }
                RequestOutcome::Booked { .. } => ("appointment_booked", application_id),
                RequestOutcome::DayFull { .. } | RequestOutcome::SlotFull { .. } => {
                    ("booking_refused_full", application_id)
                }
                RequestOutcome::NotOpen => ("booking_refused_closed", application_id),
            };
            let replacing = match request {
                Request::Book { replacing, .. } => *replacing,
                _ => None,
            };
            let detail = match answer {
                RequestOutcome::Booked { appointment } => serde_json::json!({
                    "appointment_id": appointment.id, "office": appointment.office_id,
                    "day": appointment.day, "replacing": replacing,
                }),
                RequestOutcome::Submitted { folio, .. } => serde_json::json!({ "folio": folio }),
                _ => serde_json::json!({}),
            };
            rows.push(row(app, event, detail));
        }
        for effect in effects {
            let (event, app) = match effect {
                Effect::ReleasePaymentKey { .. } => ("payment_key_released", application_id),
                Effect::CancelAppointment { application_id, .. } => {
                    ("appointment_cancelled", Some(*application_id))
                }
                Effect::Withdraw { application_id } => ("withdrawn", Some(*application_id)),
            };
            rows.push(row(app, event, serde_json::json!({})));
        }
        rows
    }

    fn render_all(&self, replies: &[Reply]) -> anyhow::Result<Vec<OutgoingMessage>> {
        replies.iter().map(|reply| self.render(reply)).collect()
    }

    /// Queues messages for a conversation outside a turn (the office's notices, a paused
    /// address), in `priority`'s lane, within the caller's transaction. Each row is
    /// `(channel, address, message)`.
    pub async fn queue(
        &self,
        conn: &mut Conn<'_>,
        conversation_id: i64,
        rows: &[(&str, &str, &OutgoingMessage)],
        priority: Priority,
    ) -> Result<(), sqlx::Error> {
        let messages: Vec<NewMessage<'_>> = rows
            .iter()
            .map(|(channel, address, message)| NewMessage {
                conversation_id,
                channel,
                address,
                payload: serde_json::to_string(message).expect("message serializes"),
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
        })
    }
}

/// The outbox payloads of a turn. Chats get one message per reply; e-mail gets the whole turn
/// as one message (one e-mail per answer, one question in it: the last reply's, whose choices
/// it carries, with the documents of every reply), naming the thread it answers.
fn package(inbound: &Inbound, messages: Vec<OutgoingMessage>) -> Vec<String> {
    let messages = match inbound.channel {
        Channel::Email if !messages.is_empty() => {
            let text = messages
                .iter()
                .map(|m| m.text.trim())
                .collect::<Vec<_>>()
                .join("\n\n");
            let attachments = messages
                .iter()
                .flat_map(|m| m.attachments.iter().cloned())
                .collect();
            let headed = messages.first().is_some_and(|m| m.headed);
            let last = messages.into_iter().last().expect("not empty");
            vec![OutgoingMessage {
                text,
                thread: inbound.thread.clone(),
                attachments,
                headed,
                ..last
            }]
        }
        _ => messages,
    };
    messages
        .iter()
        .map(|m| serde_json::to_string(m).expect("message serializes"))
        .collect()
}

/// The loaded part of a step's context.
#[derive(Default)]
struct ContextData {
    application: Option<ApplicationView>,
    availability: Availability,
}

impl ContextData {
    fn context<'a>(
        &self,
        service: &'a Service,
        now: DateTime<Utc>,
        channel: ChannelKind,
        conversation_id: i64,
    ) -> Context<'a> {
        Context {
            now,
            procedure: &service.settings.procedure,
            labels: service.templates.labels(),
            public_url: &service.settings.public_url,
            channel,
            conversation_id,
            application: self.application.clone(),
            availability: self.availability.clone(),
        }
    }
}
