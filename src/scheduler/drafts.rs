//! Applications left waiting by their applicant: a draft nobody answered gets one reminder
//! after `reminders.draft_reminder_days` of silence and expires after `draft_expiry_days` (its
//! payment key released for another request, the reason in the audit trail); a submitted
//! application without an appointment is reminded every `unbooked_every_days`, at most
//! `unbooked_reminders` times. Each is one job per conversation (per application) that re-arms
//! itself; silence is measured from the conversation's last change.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::record;
use crate::conversation::state::{AppRef, State};
use crate::domain::application::Status;
use crate::domain::payment::PaymentKey;
use crate::service::{Priority, Service};
use crate::store::audit::Event;
use crate::store::jobs::{JobRow, NewJob};
use crate::store::{self, Conn};

/// The job that watches a draft for silence.
pub const DRAFT_JOB: &str = "draft_silence";
/// The job that reminds a submitted application without an appointment.
pub const UNBOOKED_JOB: &str = "unbooked_reminder";

/// What the draft job remembers: the conversation, and its version when it was reminded (a
/// later version means the applicant answered: the watch starts again).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct DraftWatch {
    conversation: i64,
    #[serde(default)]
    reminded_at_version: Option<i64>,
}

/// What the unbooked job remembers: the application and the reminders sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Unbooked {
    application: i64,
    sent: u32,
}

fn draft_job(watch: &DraftWatch, due_at: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: DRAFT_JOB,
        key: format!("{DRAFT_JOB}:{}", watch.conversation),
        due_at,
        appointment_id: None,
        payload: serde_json::to_string(watch).expect("serializes"),
    }
}

fn unbooked_job(unbooked: &Unbooked, due_at: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: UNBOOKED_JOB,
        key: format!("{UNBOOKED_JOB}:{}", unbooked.application),
        due_at,
        appointment_id: None,
        payload: serde_json::to_string(unbooked).expect("serializes"),
    }
}

/// A draft began in `conversation_id` (in the turn's transaction): its silence is watched.
pub async fn watch_draft(
    conn: &mut Conn<'_>,
    service: &Service,
    conversation_id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let days = service.settings.reminders.draft_reminder_days;
    let watch = DraftWatch {
        conversation: conversation_id,
        reminded_at_version: None,
    };
    let job = draft_job(&watch, now + Duration::days(i64::from(days)));
    store::jobs::reschedule(conn, &job, now).await
}

/// The conversation left its draft (submitted, abandoned): nothing to watch any more.
pub async fn unwatch_draft(conn: &mut Conn<'_>, conversation_id: i64) -> Result<(), sqlx::Error> {
    store::jobs::cancel(conn, &format!("{DRAFT_JOB}:{conversation_id}")).await
}

/// The application has an appointment: no more reminders to book one.
pub async fn unwatch_unbooked(conn: &mut Conn<'_>, application_id: i64) -> Result<(), sqlx::Error> {
    store::jobs::cancel(conn, &format!("{UNBOOKED_JOB}:{application_id}")).await
}

/// An application was submitted (in the turn's transaction): until it has an appointment it
/// is reminded every `unbooked_every_days`.
pub async fn watch_unbooked(
    conn: &mut Conn<'_>,
    service: &Service,
    application_id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let rules = &service.settings.reminders;
    if rules.unbooked_reminders == 0 {
        return Ok(());
    }
    let unbooked = Unbooked {
        application: application_id,
        sent: 0,
    };
    let due = now + Duration::days(i64::from(rules.unbooked_every_days));
    store::jobs::schedule(conn, &unbooked_job(&unbooked, due), now)
        .await
        .map(|_| ())
}

pub(super) async fn draft_silence(
    conn: &mut Conn<'_>,
    service: &Service,
    job: &JobRow,
) -> anyhow::Result<()> {
    let watch: DraftWatch = serde_json::from_str(&job.payload)?;
    let Some(conversation) = store::conversations::get(conn, watch.conversation).await? else {
        return Ok(());
    };
    let state = State::from_json(&conversation.state)?;
    if state.beneath().draft().is_none() {
        // Submitted, abandoned or restarted elsewhere: nothing to watch.
        return Ok(());
    }
    let rules = &service.settings.reminders;
    let now = service.clock.now();
    let last = conversation.updated_at;
    let reminder_due = last + Duration::days(i64::from(rules.draft_reminder_days));
    let expiry_due = last + Duration::days(i64::from(rules.draft_expiry_days));
    let expires_on = service.settings.procedure.today(expiry_due);
    match watch.reminded_at_version {
        // Answered since the reminder: the watch starts again from that answer.
        Some(version) if version != conversation.version => {
            let again = DraftWatch {
                reminded_at_version: None,
                ..watch
            };
            store::jobs::reschedule(conn, &draft_job(&again, reminder_due), now).await?;
        }
        None if now < reminder_due => {
            store::jobs::reschedule(conn, &draft_job(&watch, reminder_due), now).await?;
        }
        None => {
            service
                .tell_conversation(conn, conversation.id, Priority::Scheduled, |state, ctx| {
                    crate::conversation::draft_reminded(state, expires_on, ctx)
                })
                .await?;
            let reminded = DraftWatch {
                reminded_at_version: Some(conversation.version),
                ..watch
            };
            store::jobs::reschedule(conn, &draft_job(&reminded, expiry_due), now).await?;
            let detail = serde_json::json!({ "silent_days": rules.draft_reminder_days });
            record(
                conn,
                now,
                conversation.id,
                None,
                Event::DraftReminded,
                detail,
            )
            .await?;
        }
        Some(_) if now < expiry_due => {
            store::jobs::reschedule(conn, &draft_job(&watch, expiry_due), now).await?;
        }
        Some(_) => {
            // The key of the draft the conversation leaves, whatever its turn wrote meanwhile.
            let key: Mutex<Option<PaymentKey>> = Mutex::new(None);
            service
                .tell_conversation(conn, conversation.id, Priority::Scheduled, |state, ctx| {
                    let expired =
                        crate::conversation::draft_expired(state, rules.draft_expiry_days, ctx);
                    *key.lock().expect("not poisoned") = expired
                        .as_ref()
                        .and_then(|_| state.beneath().draft())
                        .and_then(|d| d.payment_key.clone());
                    expired
                })
                .await?;
            let key = key.into_inner().expect("not poisoned");
            if let Some(key) = &key {
                store::applications::release_payment_key(conn, key, conversation.id).await?;
            }
            let detail = serde_json::json!({
                "reason": "no_answer",
                "silent_days": rules.draft_expiry_days,
                "payment_key_released": key.is_some(),
            });
            record(
                conn,
                now,
                conversation.id,
                None,
                Event::DraftExpired,
                detail,
            )
            .await?;
        }
    }
    Ok(())
}

pub(super) async fn unbooked(
    conn: &mut Conn<'_>,
    service: &Service,
    job: &JobRow,
) -> anyhow::Result<()> {
    let unbooked: Unbooked = serde_json::from_str(&job.payload)?;
    let rules = &service.settings.reminders;
    let Some(view) = store::applications::view(conn, unbooked.application).await? else {
        return Ok(());
    };
    let limit = service.settings.procedure.booking.no_show_limit;
    // Booked (or decided, or waiting for the office's approval): nothing to remind.
    if view.status != Status::Submitted || view.needs_approval(limit) {
        return Ok(());
    }
    let Some(case) = store::cases::by_id(conn, view.id).await? else {
        return Ok(());
    };
    let now = service.clock.now();
    let app = AppRef::of(&view);
    let procedure = &service.settings.procedure;
    service
        .tell(
            conn,
            procedure,
            (case.conversation_id, &view),
            Priority::Scheduled,
            |state, ctx| crate::conversation::unbooked_reminded(state, &app, &view, ctx),
        )
        .await?;
    let sent = unbooked.sent + 1;
    let detail = serde_json::json!({ "reminder": sent });
    record(
        conn,
        now,
        case.conversation_id,
        Some(case.id),
        Event::UnbookedReminded,
        detail,
    )
    .await?;
    if sent < rules.unbooked_reminders {
        let next = Unbooked { sent, ..unbooked };
        let due = now + Duration::days(i64::from(rules.unbooked_every_days));
        store::jobs::reschedule(conn, &unbooked_job(&next, due), now).await?;
    }
    Ok(())
}
