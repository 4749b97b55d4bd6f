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
            ventanilla::conversation::state::State::Collecting(_)
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

/// A sender that holds every send until the test opens the gate.
#[derive(Clone)]
struct GatedSender {
    started: Arc<tokio::sync::Notify>,
    gate: tokio::sync::watch::Sender<bool>,
}

impl GatedSender {
    fn new() -> GatedSender {
        GatedSender {
            started: Arc::default(),
            gate: tokio::sync::watch::channel(false).0,
        }
    }
}

impl Sender for GatedSender {
    fn channel(&self) -> &'static str {
        "terminal"
    }

    fn send<'a>(&'a self, _delivery: &'a Delivery) -> SendFuture<'a> {
        Box::pin(async move {
            self.started.notify_one();
            let mut open = self.gate.subscribe();
            let _ = open.wait_for(|open| *open).await;
            Ok(())
        })
    }
}

fn terminal_scope() -> store::outbox::Scope {
    store::outbox::Scope {
        channels: vec!["terminal".into()],
        conversation_id: None,
    }
}

async fn outbox_ids(app: &support::TestApp, user: &str) -> Vec<i64> {
    let mut reader = app.service.db.reader().await.unwrap();
    let mut conn = reader.conn();
    let conversation = store::conversations::find(&mut conn, "terminal", user)
        .await
        .unwrap()
        .unwrap();
    store::outbox::for_conversation(&mut conn, conversation.id)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.id)
        .collect()
}

async fn status_of(app: &support::TestApp, id: i64) -> String {
    let mut reader = app.service.db.reader().await.unwrap();
    store::outbox::status(&mut reader.conn(), id)
        .await
        .unwrap()
        .unwrap()
        .status
        .as_str()
        .to_string()
}

#[tokio::test]
async fn a_worker_whose_lease_ran_out_cannot_overwrite_the_one_that_took_over() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.turn("vera", "hola").await;
        let db = &app.service.db;
        let t0 = at(support::NOW);
        let lease = Duration::from_secs(10);
        let seconds = chrono::Duration::seconds;

        let old = store::outbox::claim(db, &terminal_scope(), t0, lease, 1)
            .await
            .unwrap()
            .remove(0);
        let within = store::outbox::claim(db, &terminal_scope(), t0 + seconds(9), lease, 10)
            .await
            .unwrap();
        let new = store::outbox::claim(db, &terminal_scope(), t0 + seconds(11), lease, 10)
            .await
            .unwrap()
            .remove(0);

        assert_eq!(old.taken_over, 0, "{backend:?}");
        assert!(within.is_empty(), "held while the lease runs");
        assert_eq!((new.id, new.taken_over), (old.id, 1), "taken over");
        assert_ne!(new.claim_token, old.claim_token);
        // The old holder can neither renew nor record an outcome any more.
        let later = t0 + seconds(12);
        assert!(
            store::outbox::renew(db, &[old.claim()], later)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            !store::outbox::record_parts(db, old.claim(), 1)
                .await
                .unwrap()
        );
        assert!(
            !store::outbox::mark_failed(db, old.claim(), "x")
                .await
                .unwrap()
        );
        assert!(
            !store::outbox::mark_retry(db, old.claim(), later, "x")
                .await
                .unwrap()
        );
        assert!(!store::outbox::defer(db, old.claim(), later).await.unwrap());
        assert!(
            store::outbox::mark_sent(db, &[old.claim()], later)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(status_of(&app, new.id).await, "sending");
        // Marked together, only the claim that holds its row counts.
        assert_eq!(
            store::outbox::mark_sent(db, &[old.claim(), new.claim()], later)
                .await
                .unwrap(),
            [new.id]
        );
        assert_eq!(status_of(&app, new.id).await, "sent");
    }
}

/// A claim takes several messages in one transaction, but only the next of each conversation:
/// the batch is sent at once and marked sent together, and each conversation's second message
/// waits for the next batch.
#[tokio::test]
async fn a_batch_claims_the_next_message_of_each_conversation_and_marks_them_sent_together() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let users = ["abril", "bruno", "celia"];
        for user in users {
            // Two messages each: the welcome and the privacy notice.
            app.turn(user, "hola").await;
        }
        let db = &app.service.db;
        let now = at(support::NOW);
        let lease = Duration::from_secs(10);
        let mut firsts = Vec::new();
        let mut seconds = Vec::new();
        for user in users {
            let ids = outbox_ids(&app, user).await;
            assert_eq!(ids.len(), 2, "{backend:?}");
            firsts.push(ids[0]);
            seconds.push(ids[1]);
        }

        let batch = store::outbox::claim(db, &terminal_scope(), now, lease, 10)
            .await
            .unwrap();
        let claimed: Vec<i64> = batch.iter().map(|row| row.id).collect();
        assert_eq!(
            claimed, firsts,
            "{backend:?}: one per conversation, oldest first"
        );
        let tokens: Vec<i64> = batch.iter().map(|row| row.claim_token).collect();
        assert!(tokens.iter().all(|t| *t != 0));
        // Nothing more is claimable while the first messages are out.
        assert!(
            store::outbox::claim(db, &terminal_scope(), now, lease, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let claims: Vec<_> = batch.iter().map(|row| row.claim()).collect();
        let mut marked = store::outbox::mark_sent(db, &claims, now).await.unwrap();
        marked.sort();
        assert_eq!(marked, firsts);
        let next = store::outbox::claim(db, &terminal_scope(), now, lease, 2)
            .await
            .unwrap();
        assert_eq!(
            next.iter().map(|row| row.id).collect::<Vec<_>>(),
            seconds[..2],
            "the limit holds"
        );

        // The worker does the same with what is left: the third conversation's second message
        // (the other two are held by the claim above, whose lease runs).
        let sender = ScriptedSender::default();
        let handled = worker(&app, &sender, support::NOW)
            .batch(16)
            .drain()
            .await
            .unwrap();
        assert_eq!(
            handled, 1,
            "the one left unclaimed; the two claimed are held"
        );
        for (first, second) in firsts.iter().zip(&seconds) {
            assert_eq!(status_of(&app, *first).await, "sent");
            let expected = if *second == seconds[2] {
                "sent"
            } else {
                "sending"
            };
            assert_eq!(status_of(&app, *second).await, expected);
        }
    }
}

/// On PostgreSQL a worker whose own process wrote nothing (another instance did) is woken by the
/// rows' announcement: it delivers them although its idle poll is an hour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_an_idle_worker_is_woken_by_rows_another_instance_committed() {
    if !backends().contains(&support::Backend::Postgres) {
        return;
    }
    let app = spawn_app(support::Backend::Postgres).await;
    let bell = Arc::new(tokio::sync::Notify::new());
    let announcements = store::outbox::Announcements::listen(&app.service.db)
        .await
        .unwrap()
        .expect("PostgreSQL announces");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(announcements.ring(bell.clone(), stopped.clone()));
    let sender = ScriptedSender::default();
    let senders: Vec<Arc<dyn Sender>> = vec![Arc::new(sender.clone())];
    let idle = Worker::new(
        app.service.db.clone(),
        senders,
        Clock::Fixed(at("2026-11-30T10:01:00-06:00")),
        RetryPolicy::default(),
    )
    .idle(Duration::from_secs(3600))
    .woken_by(bell);
    let running = tokio::spawn(idle.run(async move {
        let mut stopped = stopped;
        let _ = stopped.wait_for(|stop| *stop).await;
    }));
    // Let the worker find the queue empty and fall asleep.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(sender.sent.lock().unwrap().is_empty());

    // The turn's own service rings only its own bell, which this worker does not hear.
    app.turn("nora", "hola").await;
    let ids = outbox_ids(&app, "nora").await;
    for _ in 0..300 {
        if sender.sent.lock().unwrap().len() == ids.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert_eq!(*sender.sent.lock().unwrap(), ids, "delivered, in order");
    stop.send(true).unwrap();
    running.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_send_renews_its_lease_so_nobody_takes_it_over() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.turn("wendy", "hola").await;
        let sender = GatedSender::new();
        let senders: Vec<Arc<dyn Sender>> = vec![Arc::new(sender.clone())];
        let policy = RetryPolicy {
            lease: Duration::from_millis(300),
            ..RetryPolicy::default()
        };
        let slow = Worker::new(
            app.service.db.clone(),
            senders.clone(),
            Clock::System,
            policy.clone(),
        );
        let sending = tokio::spawn({
            let slow = slow.clone();
            async move { slow.try_execute_task().await }
        });
        sender.started.notified().await;
        let id = outbox_ids(&app, "wendy").await[0];
        let lease_until = |app: &support::TestApp| {
            let db = app.service.db.clone();
            async move {
                let mut reader = db.reader().await.unwrap();
                store::outbox::lease_until(&mut reader.conn(), id)
                    .await
                    .unwrap()
                    .unwrap()
            }
        };
        let first = lease_until(&app).await;

        // The worker renews the lease while its send is in flight.
        let mut renewed = first;
        for _ in 0..200 {
            renewed = lease_until(&app).await;
            if renewed > first {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        // A worker that looks after the first lease ran out finds nothing to take over.
        let after_first_lease = DateTime::from_timestamp_millis(first + 1).unwrap();
        let other = Worker::new(
            app.service.db.clone(),
            senders,
            Clock::Fixed(after_first_lease),
            policy,
        );
        let taken = other.drain().await.unwrap();
        sender.gate.send_replace(true);
        sending.await.unwrap().unwrap();

        assert!(renewed > first, "{backend:?}: the lease was renewed");
        assert_eq!(taken, 0, "nobody took the row over");
        assert_eq!(status_of(&app, id).await, "sent");
        let stats = |w: &Worker| {
            (
                w.stats.reclaimed.load(std::sync::atomic::Ordering::Relaxed),
                w.stats
                    .claims_lost
                    .load(std::sync::atomic::Ordering::Relaxed),
            )
        };
        assert_eq!(stats(&slow), (0, 0));
        assert_eq!(stats(&other), (0, 0));
    }
}

/// `GET path` on a local port: the status line and the body.
async fn get(port: u16, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn a_message_left_sending_by_a_dead_worker_is_reported_then_taken_over_and_counted() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.turn("ximena", "hola").await;
        // A worker claimed the first message and died; a minute later its 10 s lease is over.
        let now = at(support::NOW);
        let dead = store::outbox::claim(
            &app.service.db,
            &terminal_scope(),
            now,
            Duration::from_secs(10),
            1,
        )
        .await
        .unwrap()
        .remove(0);
        let later = Clock::Fixed(now + chrono::Duration::minutes(1));
        let mut service = app.service.clone();
        service.clock = later;
        let sender: Vec<Arc<dyn Sender>> = vec![Arc::new(ScriptedSender::default())];
        let worker = Worker::new(
            app.service.db.clone(),
            sender,
            later,
            RetryPolicy::default(),
        );
        worker.stats.heartbeat.store(
            Utc::now().timestamp_millis(),
            std::sync::atomic::Ordering::Relaxed,
        );
        let state = ventanilla::http::AppState {
            service,
            delivery: worker.stats.clone(),
            telegram_webhook: None,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(ventanilla::http::serve(
            listener,
            state,
            std::future::pending(),
        ));

        let health = get(port, "/healthz").await;
        let metrics = get(port, "/metrics").await;
        worker.drain().await.unwrap();
        let healed = get(port, "/healthz").await;
        let counted = get(port, "/metrics").await;

        assert!(health.starts_with("HTTP/1.1 200"), "{backend:?}: {health}");
        assert!(health.contains(r#""stuck_messages":1"#), "{health}");
        assert!(health.contains(r#""delivery":"degraded""#), "{health}");
        assert!(metrics.contains("ventanilla_outbox_stuck 1"), "{metrics}");
        assert_eq!(status_of(&app, dead.id).await, "sent");
        assert!(healed.contains(r#""stuck_messages":0"#), "{healed}");
        assert!(healed.contains(r#""delivery":"ok""#), "{healed}");
        assert!(
            counted.contains("ventanilla_outbox_reclaimed_total 1"),
            "{counted}"
        );
        assert!(counted.contains("ventanilla_outbox_stuck 0"), "{counted}");
    }
}

#[tokio::test]
async fn at_start_up_a_sole_worker_releases_what_a_dead_run_left_sending() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.turn("yola", "hola").await;
        let now = at(support::NOW);
        let dead = store::outbox::claim(
            &app.service.db,
            &terminal_scope(),
            now,
            Duration::from_secs(10),
            1,
        )
        .await
        .unwrap()
        .remove(0);

        let released = app.worker.release_claims_of_the_dead().await.unwrap();
        // Without waiting for the lease, both messages go out, in order.
        let handled = app.worker.drain().await.unwrap();

        assert_eq!(released, 1, "{backend:?}");
        assert_eq!(handled, 2);
        assert_eq!(status_of(&app, dead.id).await, "sent");
        assert_eq!(
            app.worker
                .stats
                .reclaimed
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
    }
}

#[tokio::test]
async fn an_important_notice_that_cannot_reach_the_chat_goes_to_the_e_mail_the_applicant_gave() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        support::console::booked(&app, "luz", "B123456789").await;
        let conversation = {
            let mut reader = app.service.db.reader().await.unwrap();
            store::conversations::find(&mut reader.conn(), "terminal", "luz")
                .await
                .unwrap()
                .unwrap()
                .id
        };
        let emails = || async {
            let mut reader = app.service.db.reader().await.unwrap();
            store::outbox::for_conversation(&mut reader.conn(), conversation)
                .await
                .unwrap()
                .into_iter()
                .filter(|row| row.channel == "email")
                .map(|row| {
                    let message: ventanilla::service::OutgoingMessage =
                        serde_json::from_str(&row.payload).unwrap();
                    (row.address, message)
                })
                .collect::<Vec<_>>()
        };
        // The day before, her chat is blocked: the reminder cannot reach it.
        let mut service = app.service.clone();
        service.clock = Clock::Fixed(at("2026-12-02T10:00:00-06:00"));
        ventanilla::scheduler::run_due(&service).await.unwrap();
        let sender = ScriptedSender::failing_with(vec![Err(SendError::Unreachable(
            "blocked by the user".into(),
        ))]);
        worker(&app, &sender, "2026-12-02T10:00:00-06:00")
            .drain()
            .await
            .unwrap();
        let rerouted = emails().await;
        assert_eq!(rerouted.len(), 1, "{backend:?}");
        let (address, message) = &rerouted[0];
        assert_eq!(address, "luz@example.mx");
        assert_eq!(message.template, "reminder_day_before");
        assert_eq!(message.rerouted_from.as_deref(), Some("terminal"));
        assert!(message.choices.is_empty(), "answers go to her own channel");
        // Her own answer to something else is not an important notice: it is not rerouted.
        app.turn("luz", "estado").await;
        worker(&app, &sender, "2026-12-02T11:00:00-06:00")
            .drain()
            .await
            .unwrap();
        assert_eq!(emails().await.len(), 1);
        // The morning reminder finds the chat already unreachable: by e-mail too.
        service.clock = Clock::Fixed(at("2026-12-03T07:30:00-06:00"));
        ventanilla::scheduler::run_due(&service).await.unwrap();
        worker(&app, &sender, "2026-12-03T07:30:00-06:00")
            .drain()
            .await
            .unwrap();
        let rerouted = emails().await;
        assert_eq!(rerouted.len(), 2);
        assert_eq!(rerouted[1].1.template, "reminder_same_day");
        // The office sees it on the case.
        let mut reader = app.service.db.reader().await.unwrap();
        let events =
            store::audit::by_event(&mut reader.conn(), store::audit::Event::NoticeRerouted)
                .await
                .unwrap();
        assert_eq!(events.len(), 2);
        assert!(events.iter().all(|e| e.application_id.is_some()));
        // The e-mail tells her why it came this way.
        let templates = ventanilla::templates::Templates::new();
        let body = serde_json::json!({
            "text": rerouted[0].1.text, "paragraphs": [], "choices": [], "subject": "x",
            "rerouted_from": "telegram",
        });
        let text = templates.render("email/message.txt", &body).unwrap();
        assert!(text.contains("por Telegram"), "{text}");
        let html = templates.render("email/message.html", &body).unwrap();
        assert!(html.contains("por Telegram"), "{html}");
    }
}
