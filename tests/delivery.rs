//! The outbox worker against a real database: retries with backoff, permanent failures,
//! unreachable recipients, and order within a conversation.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use support::{backends, spawn_app};
use ventanilla::delivery::{Delivery, RetryPolicy, SendError, SendFuture, Sender, Worker};
use ventanilla::service::Clock;
use ventanilla::store;

/// A terminal-channel sender that answers from a script, then succeeds.
#[derive(Clone, Default)]
struct ScriptedSender {
    script: Arc<Mutex<Vec<Result<(), SendError>>>>,
    sent: Arc<Mutex<Vec<i64>>>,
}

impl ScriptedSender {
    fn failing_with(results: Vec<Result<(), SendError>>) -> ScriptedSender {
        ScriptedSender {
            script: Arc::new(Mutex::new(results)),
            sent: Arc::default(),
        }
    }
}

impl Sender for ScriptedSender {
    fn channel(&self) -> &'static str {
        "terminal"
    }

    fn send<'a>(&'a self, delivery: &'a Delivery) -> SendFuture<'a> {
        Box::pin(async move {
            let next = {
                let mut script = self.script.lock().unwrap();
                if script.is_empty() {
                    Ok(())
                } else {
                    script.remove(0)
                }
            };
            if next.is_ok() {
                self.sent.lock().unwrap().push(delivery.id);
            }
            next
        })
    }
}

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

fn worker(app: &support::TestApp, sender: &ScriptedSender, now: &str) -> Worker {
    let senders: Vec<Arc<dyn Sender>> = vec![Arc::new(sender.clone())];
    Worker::new(
        app.service.db.clone(),
        senders,
        Clock::Fixed(at(now)),
        RetryPolicy::default(),
    )
}

async fn statuses(app: &support::TestApp, user: &str) -> Vec<String> {
    app.outbox(user)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect()
}

#[tokio::test]
async fn transient_failures_are_retried_later_and_keep_the_order() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        // Two messages for one conversation (the welcome and the privacy notice).
        app.turn("rita", "hola").await;
        let transient = SendError::Transient {
            reason: "timeout".into(),
            retry_after: None,
        };
        let sender = ScriptedSender::failing_with(vec![Err(transient)]);

        let now = worker(&app, &sender, support::NOW);
        now.drain().await.unwrap();

        // The first failed and waits for its retry; the second is held behind it.
        assert_eq!(
            statuses(&app, "rita").await,
            ["pending", "pending"],
            "{backend:?}"
        );
        assert!(sender.sent.lock().unwrap().is_empty());

        // Two seconds later (the first backoff step) both go out, in order.
        let later = worker(&app, &sender, "2026-11-30T10:00:03-06:00");
        later.drain().await.unwrap();
        assert_eq!(statuses(&app, "rita").await, ["sent", "sent"]);
        let sent = sender.sent.lock().unwrap().clone();
        assert!(sent[0] < sent[1], "order kept: {sent:?}");
    }
}

#[tokio::test]
async fn permanent_failures_are_recorded_not_retried() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.turn("saul", "hola").await;
        let sender =
            ScriptedSender::failing_with(vec![Err(SendError::Permanent("400 bad request".into()))]);

        worker(&app, &sender, support::NOW).drain().await.unwrap();
        worker(&app, &sender, "2026-12-01T10:00:00-06:00")
            .drain()
            .await
            .unwrap();

        assert_eq!(
            statuses(&app, "saul").await,
            ["failed", "sent"],
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_recipient_is_marked_and_gets_nothing_more() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.turn("tere", "hola").await;
        let sender = ScriptedSender::failing_with(vec![Err(SendError::Unreachable(
            "blocked by the user".into(),
        ))]);

        worker(&app, &sender, support::NOW).drain().await.unwrap();
        // The applicant's data stays; later messages are not attempted.
        app.turn("tere", "sí").await;
        worker(&app, &sender, "2026-12-01T10:00:00-06:00")
            .drain()
            .await
            .unwrap();

        assert!(sender.sent.lock().unwrap().is_empty(), "{backend:?}");
        assert!(statuses(&app, "tere").await.iter().all(|s| s == "failed"));
        let mut reader = app.service.db.reader().await.unwrap();
        let row = store::conversations::find(&mut reader.conn(), "terminal", "tere")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            row.unreachable_reason.as_deref(),
            Some("blocked by the user")
        );
        assert!(matches!(
            app.state("tere").await,
            ventanilla::conversation::state::State::Collecting { .. }
        ));
    }
}

#[tokio::test]
async fn attempts_run_out_into_failed() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.turn("ulises", "hola").await;
        let transient = || {
            Err(SendError::Transient {
                reason: "503".into(),
                retry_after: Some(Duration::from_secs(1)),
            })
        };
        let sender = ScriptedSender::failing_with((0..3).map(|_| transient()).collect());
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let senders: Vec<Arc<dyn Sender>> = vec![Arc::new(sender.clone())];

        for minute in 0..3 {
            let now = at("2026-11-30T10:00:00-06:00") + chrono::Duration::minutes(minute);
            Worker::new(
                app.service.db.clone(),
                senders.clone(),
                Clock::Fixed(now),
                policy.clone(),
            )
            .drain()
            .await
            .unwrap();
        }

        assert_eq!(statuses(&app, "ulises").await[0], "failed", "{backend:?}");
    }
}
