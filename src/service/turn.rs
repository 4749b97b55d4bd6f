//! One attempt of a turn (see the module documentation of `service`): read without a write
//! lock, step, render, then one transaction that applies the requests and effects, writes the
//! receipt, the state, the outbox rows, the audit trail and the channel's record, and commits.

use chrono::{DateTime, Utc};

use super::messages::{Address, ChannelRecord, Inbound, OutgoingMessage, TurnError, TurnResult};
use super::{MAX_REQUESTS, Service};
use crate::conversation::state::State;
use crate::conversation::{self, ChannelKind, Context, Input, RequestOutcome};
use crate::domain::application::ApplicationView;
use crate::domain::calendar::Availability;
use crate::domain::procedure::Procedure;
use crate::store::audit::{self, Event};
use crate::store::outbox::{NewMessage, Priority};
use crate::store::turns::{TurnWrite, WriteOutcome};
use crate::store::{self, Conn};

impl Service {
    /// One attempt; `None` when the conversation changed meanwhile and the turn must be redone.
    pub(super) async fn try_turn(
        &self,
        inbound: &Inbound,
        priority: Priority,
    ) -> Result<Option<TurnResult>, TurnError> {
        let now = self.clock.now();
        let started = std::time::Instant::now();
        let channel = inbound.channel().as_str();
        let address = inbound.address.key();
        let channel_kind = channel_kind(&inbound.address);

        // Read phase: no write lock held.
        let key = &inbound.address;
        let (existing, state, mut ctx_data) = match self.cache.get(key) {
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
                let row = store::conversations::find(&mut conn, channel, &address).await?;
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
        let read = std::time::Instant::now();
        let mut outcome = conversation::step(
            &state,
            &inbound.input,
            &ctx_data.context(self, now, channel_kind.clone(), conversation_id),
        );
        let stepped = std::time::Instant::now();

        // Rendering and serializing happen before the write lock is taken; a request's
        // outcome (rare) adds its replies inside the transaction.
        let mut messages = self.render_all(&outcome.replies)?;
        let mut state_json = outcome.request.is_none().then(|| outcome.state.to_json());
        let input_json = serde_json::to_string(&inbound.input).expect("input serializes");
        let rendered = std::time::Instant::now();

        // A turn that writes only its own rows (a first turn creates its conversation too), on
        // SQLite: one batch, transaction included, committed with the others of its group.
        let draft_changes =
            state.beneath().draft().is_some() != outcome.state.beneath().draft().is_some();
        if matches!(self.db, store::Db::Sqlite { .. })
            && outcome.request.is_none()
            && outcome.effects.is_empty()
            && !draft_changes
            && matches!(inbound.record, ChannelRecord::None)
        {
            let (conversation_id, version) = existing.unwrap_or((0, 0));
            let state_json = state_json.take().unwrap_or_else(|| outcome.state.to_json());
            let messages = std::mem::take(&mut messages);
            let rows = outbox_rows(inbound, messages, conversation_id, &address, priority);
            let audit = super::audit::rows(conversation_id, &state, &outcome.state, &[], &[]);
            let write = TurnWrite {
                channel,
                external_id: &inbound.external_id,
                conversation_id,
                creates: existing.is_none(),
                address: &address,
                input: &input_json,
                state: &state_json,
                version,
                messages: &rows,
                audit: &audit,
                now,
            };
            let locked = std::time::Instant::now();
            let (written, conversation_id) = store::turns::write_alone(&self.db, &write)
                .await?
                .ok_or_else(|| anyhow::anyhow!("a turn written alone on SQLite only"))?;
            tracing::Span::current().record("conversation_id", conversation_id);
            match written {
                WriteOutcome::Written => {}
                WriteOutcome::Duplicate => return Ok(Some(TurnResult::Duplicate)),
                WriteOutcome::Conflict => {
                    self.cache.forget(key);
                    return Ok(None);
                }
            }
            // Writing and committing are one step here: all of it counts as writing.
            let written = std::time::Instant::now();
            self.metrics.phases.add(&super::PhaseMarks {
                started,
                read,
                stepped,
                rendered,
                locked,
                written,
            });
            self.cache
                .put(key.clone(), conversation_id, version + 1, outcome.state);
            return Ok(Some(TurnResult::Processed {
                conversation_id,
                messages: rows.len(),
            }));
        }

        // Write phase.
        let mut tx = self.db.begin().await?;
        let locked = std::time::Instant::now();
        let (conversation_id, version) = match existing {
            Some(known) => known,
            None => {
                let created = store::conversations::create(
                    &mut tx.conn(),
                    channel,
                    &address,
                    &state.to_json(),
                    now,
                )
                .await?;
                match created {
                    Some(id) => (id, 0),
                    None => {
                        tx.rollback().await?;
                        self.cache.forget(key);
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
        // A draft begins: its silence is watched (a reminder, then it expires).
        match (state.beneath().draft(), outcome.state.beneath().draft()) {
            (None, Some(_)) => {
                crate::scheduler::drafts::watch_draft(&mut tx.conn(), self, conversation_id, now)
                    .await?
            }
            (Some(_), None) => {
                crate::scheduler::drafts::unwatch_draft(&mut tx.conn(), conversation_id).await?
            }
            _ => {}
        }
        let state_json = state_json.unwrap_or_else(|| outcome.state.to_json());
        let rows = outbox_rows(inbound, messages, conversation_id, &address, priority);
        let audit =
            super::audit::rows(conversation_id, &state, &outcome.state, &effects, &requests);
        let write = TurnWrite {
            channel,
            external_id: &inbound.external_id,
            conversation_id,
            creates: false,
            address: &address,
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
                self.cache.forget(key);
                return Ok(None);
            }
        }
        write_record(
            &mut tx.conn(),
            &inbound.record,
            &address,
            conversation_id,
            now,
        )
        .await?;
        let written = std::time::Instant::now();
        tx.commit().await?;
        self.metrics.phases.add(&super::PhaseMarks {
            started,
            read,
            stepped,
            rendered,
            locked,
            written,
        });
        self.cache
            .put(key.clone(), conversation_id, version + 1, outcome.state);
        Ok(Some(TurnResult::Processed {
            conversation_id,
            messages: rows.len(),
        }))
    }

    /// Loads what the step may read for `state`.
    pub(super) async fn load_context(
        &self,
        conn: &mut Conn<'_>,
        state: &State,
        now: DateTime<Utc>,
    ) -> Result<ContextData, sqlx::Error> {
        let application = match state.app() {
            Some(app) => store::applications::view(conn, app.id).await?,
            None => None,
        };
        let (procedure, availability) = if state.needs_availability() {
            // From the earliest of the offices' todays (they may be in different zones).
            let procedure = &self.settings.procedure;
            let today = procedure
                .offices
                .iter()
                .map(|office| office.today(now))
                .min()
                .unwrap_or_else(|| procedure.today(now));
            let window = i64::from(procedure.booking.window_days) + 31;
            let to = today + chrono::Duration::days(window);
            (
                Some(store::calendar::effective(conn, procedure, today, to).await?),
                store::appointments::availability(conn, today, to).await?,
            )
        } else {
            (None, Availability::default())
        };
        Ok(ContextData {
            application,
            availability,
            procedure,
        })
    }
}

impl Service {
    /// The context of a notice the office sends outside a turn (an appointment it moved),
    /// with `procedure` as the office has it now.
    pub fn notice_context<'a>(
        &'a self,
        procedure: &'a Procedure,
        channel: &str,
        address: &str,
        conversation_id: i64,
        application: Option<ApplicationView>,
    ) -> Context<'a> {
        let channel = match channel {
            "telegram" => ChannelKind::Telegram,
            "email" => crate::domain::email::EmailAddress::parse(address)
                .map(ChannelKind::Email)
                .unwrap_or(ChannelKind::Terminal),
            _ => ChannelKind::Terminal,
        };
        Context {
            now: self.clock.now(),
            procedure,
            labels: self.templates.labels(),
            public_url: &self.settings.public_url,
            channel,
            conversation_id,
            application,
            availability: Availability::default(),
        }
    }
}

/// The outbox rows of a turn's messages, packaged as its channel asked.
fn outbox_rows<'a>(
    inbound: &'a Inbound,
    messages: Vec<OutgoingMessage>,
    conversation_id: i64,
    address: &'a str,
    priority: Priority,
) -> Vec<NewMessage<'a>> {
    inbound
        .packaging
        .package(messages, &inbound.thread)
        .iter()
        .map(|message| NewMessage {
            conversation_id,
            channel: inbound.channel().as_str(),
            address,
            payload: serde_json::to_string(message).expect("message serializes"),
            priority,
        })
        .collect()
}

/// The channel as the dialogue sees it.
fn channel_kind(address: &Address) -> ChannelKind {
    match address {
        Address::Terminal(_) => ChannelKind::Terminal,
        Address::Telegram(_) => ChannelKind::Telegram,
        Address::Email(address) => ChannelKind::Email(address.clone()),
    }
}

/// The channel's record of the input, in the turn's transaction.
async fn write_record(
    conn: &mut Conn<'_>,
    record: &ChannelRecord,
    address: &str,
    conversation_id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let ChannelRecord::Mail { record, resumes } = record else {
        return Ok(());
    };
    let mut record = (**record).clone();
    record.conversation_id = Some(conversation_id);
    store::mail::record_inbound(conn, &record, now).await?;
    // The address wrote to us (in its thread, or starting its case): mail to it works again,
    // if a bounce had paused it.
    if *resumes && store::mail::resume_address(conn, address, now).await? {
        audit::record(conn, now, "mail", None, None, Event::AddressReachable, "{}").await?;
        tracing::info!("a paused address wrote again: its mail is resumed");
    }
    Ok(())
}

/// The loaded part of a step's context.
#[derive(Default)]
pub(super) struct ContextData {
    application: Option<ApplicationView>,
    availability: Availability,
    /// The procedure with the offices' own calendar decisions, when seats are shown.
    procedure: Option<Procedure>,
}

impl ContextData {
    fn context<'a>(
        &'a self,
        service: &'a Service,
        now: DateTime<Utc>,
        channel: ChannelKind,
        conversation_id: i64,
    ) -> Context<'a> {
        Context {
            now,
            procedure: self
                .procedure
                .as_ref()
                .unwrap_or(&service.settings.procedure),
            labels: service.templates.labels(),
            public_url: &service.settings.public_url,
            channel,
            conversation_id,
            application: self.application.clone(),
            availability: self.availability.clone(),
        }
    }
}
