//! The applicant's journey through the turn service, on SQLite and (when `TEST_DATABASE_URL`
//! is set) PostgreSQL: the same assertions on both backends.

mod support;

use std::sync::Arc;

use chrono::NaiveDate;
use support::{Backend, TestApp, answers_to_review, backends, spawn_app, templates};
use ventanilla::conversation::Input;
use ventanilla::conversation::state::State;
use ventanilla::service::TurnResult;
use ventanilla::store;

/// Drives `user` to the review, asserting each answer moved the conversation on.
async fn to_review(app: &TestApp, user: &str, key: &str) {
    for answer in answers_to_review(key) {
        let messages = app.say(user, &answer).await;
        assert!(
            !messages.is_empty(),
            "{:?}: no reply to {answer:?}",
            app.backend
        );
        let errors = [
            "curp_invalid",
            "name_invalid",
            "date_invalid",
            "choice_not_understood",
            "yes_no_expected",
        ];
        for message in &messages {
            assert!(
                !errors.contains(&message.template.as_str()),
                "{answer:?} was refused: {}",
                message.text
            );
        }
    }
    assert!(matches!(app.state(user).await, State::Reviewing(_)));
}

#[tokio::test]
async fn a_full_journey_ends_in_a_confirmed_appointment() {
    for backend in backends() {
        // Arrange
        let app = spawn_app(backend).await;
        to_review(&app, "ana", "AB12CD34EF").await;

        // Act
        let submitted = app.say("ana", "Enviar solicitud").await;
        let office = app.say("ana", "dirección general de profesiones").await;
        let day = app.say("ana", "jue 3 dic").await;
        let booked = app.say("ana", "9:30").await;

        // Assert
        assert_eq!(
            templates(&submitted),
            ["submitted", "choose_office"],
            "{backend:?}"
        );
        assert!(
            submitted[0].text.contains("SOL-2026-000001"),
            "{}",
            submitted[0].text
        );
        assert_eq!(templates(&office), ["choose_day"]);
        let calendar = office[0]
            .calendar
            .as_ref()
            .expect("the day question carries the month");
        assert_eq!(
            calendar.month,
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
        assert_eq!(templates(&day), ["choose_slot"]);
        assert_eq!(templates(&booked), ["booked", "status"]);
        assert!(booked[0].text.contains("09:30"), "{}", booked[0].text);
        assert!(matches!(app.state("ana").await, State::Tracking(_)));

        let mut reader = app.service.db.reader().await.unwrap();
        let mut conn = reader.conn();
        let day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(
            store::appointments::active_count(&mut conn, "dgp-cdmx", day)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store::appointments::day_taken(&mut conn, "dgp-cdmx", day)
                .await
                .unwrap(),
            1
        );
        let view = store::applications::view(&mut conn, 1)
            .await
            .unwrap()
            .expect("application 1");
        assert_eq!(view.status.as_str(), "scheduled");
        let events: Vec<String> = store::audit::list(&mut conn, None, Some(1))
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect();
        assert!(events.contains(&"submitted".to_string()), "{events:?}");
        assert!(
            events.contains(&"appointment_booked".to_string()),
            "{events:?}"
        );
        // Everything went out through the outbox, and nothing is left in it.
        assert!(
            app.outbox("ana")
                .await
                .iter()
                .all(|(status, _)| status == "sent")
        );
        assert_eq!(store::outbox::depth(&mut conn).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn the_same_inbound_twice_changes_nothing_and_sends_nothing() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.say("beto", "hola").await;
        let (first, replies) = app
            .send("beto", "update-42", Input::Text("sí".into()))
            .await;
        let state_after_first = app.state("beto").await;
        let outbox_after_first = app.outbox("beto").await.len();

        let (second, again) = app
            .send("beto", "update-42", Input::Text("sí".into()))
            .await;

        assert!(matches!(first, TurnResult::Processed { .. }), "{backend:?}");
        assert!(!replies.is_empty());
        assert_eq!(second, TurnResult::Duplicate);
        assert!(again.is_empty());
        assert_eq!(app.state("beto").await, state_after_first);
        assert_eq!(app.outbox("beto").await.len(), outbox_after_first);
    }
}

#[tokio::test]
async fn bad_input_is_explained_and_loses_nothing() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        for answer in ["hola", "si"] {
            app.say("caro", answer).await;
        }
        let before = app.state("caro").await;
        let cases: [(&str, Input, &str); 5] = [
            (
                "a wrong check digit",
                Input::Text("PEGL890909MJCRMS09".into()),
                "curp_invalid",
            ),
            (
                "a sticker",
                Input::Unsupported("sticker".into()),
                "unsupported_input",
            ),
            (
                "a photo",
                Input::Unsupported("photo".into()),
                "unsupported_input",
            ),
            (
                "an empty message",
                Input::Text("   ".into()),
                "unsupported_input",
            ),
            (
                "control characters",
                Input::Text("\u{0}\u{7}".into()),
                "unsupported_input",
            ),
        ];
        for (description, input, expected) in cases {
            let (_, messages) = app.send("caro", &support::next_id(), input).await;
            assert_eq!(messages[0].template, expected, "{backend:?}: {description}");
            assert_eq!(
                messages.last().unwrap().template,
                "ask_curp",
                "{description}: the question again"
            );
            assert_eq!(
                app.state("caro").await,
                before,
                "{description}: state unchanged"
            );
        }
    }
}

#[tokio::test]
async fn a_payment_key_serves_one_application_only() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        to_review(&app, "dani", "ZZ11YY22XX").await;
        let answers = answers_to_review("zz11-yy22-xx");
        for answer in &answers[..8] {
            app.say("eva", answer).await;
        }

        let refused = app.say("eva", &answers[8]).await;

        assert_eq!(
            templates(&refused),
            ["payment_key_taken", "ask_payment_key"],
            "{backend:?}"
        );
        assert!(matches!(app.state("eva").await, State::Collecting(_)));
        // Changing the key frees it: the other applicant can then use it.
        app.say("dani", "corregir").await;
        app.say("dani", "llave de pago").await;
        app.say("dani", "QQ11YY22XX").await;
        let accepted = app.say("eva", &answers[8]).await;
        assert_eq!(templates(&accepted), ["ask_institution"]);
    }
}

#[tokio::test]
async fn cancelling_an_appointment_frees_the_seat_and_rescheduling_moves_it() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        to_review(&app, "flor", "FL0R000001").await;
        for answer in ["1", "1", "1", "1"] {
            app.say("flor", answer).await;
        }
        let first_day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let taken = |app: &TestApp, day| {
            let db = app.service.db.clone();
            async move {
                let mut reader = db.reader().await.unwrap();
                store::appointments::day_taken(&mut reader.conn(), "dgp-cdmx", day)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(taken(&app, first_day).await, 1, "{backend:?}");

        // Reschedule to the second day offered.
        app.say("flor", "cambiar mi cita").await;
        app.say("flor", "1").await;
        app.say("flor", "2").await;
        let moved = app.say("flor", "10:00").await;
        assert_eq!(templates(&moved), ["booked", "status"]);
        let second_day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        assert_eq!(taken(&app, first_day).await, 0);
        assert_eq!(taken(&app, second_day).await, 1);

        // Cancel: asked to confirm, then the seat is free.
        let asked = app.say("flor", "cancelar").await;
        assert_eq!(templates(&asked), ["confirm"]);
        let cancelled = app.say("flor", "sí").await;
        assert_eq!(templates(&cancelled), ["appointment_cancelled", "status"]);
        assert_eq!(taken(&app, second_day).await, 0);
        let status = app.say("flor", "estado").await;
        assert!(status[0].text.contains("sin cita"), "{}", status[0].text);
    }
}

#[tokio::test]
async fn a_restarted_service_resumes_at_the_same_question() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        for answer in &answers_to_review("GG11HH22JJ")[..5] {
            app.say("gil", answer).await;
        }
        let state = app.state("gil").await;

        // A new service on the same database (as after a restart).
        let restarted =
            ventanilla::service::Service::new(app.service.db.clone(), app.service.settings.clone());
        let inbound = ventanilla::service::Inbound::new(
            support::terminal("gil"),
            support::next_id(),
            Input::Text("Pérez".into()),
        );
        restarted.handle(&inbound).await.unwrap();

        assert!(matches!(
            state,
            State::Collecting(ventanilla::conversation::state::Collecting {
                question: ventanilla::conversation::state::Question::FirstSurname,
                ..
            })
        ));
        assert!(
            matches!(
                app.state("gil").await,
                State::Collecting(ventanilla::conversation::state::Collecting {
                    question: ventanilla::conversation::state::Question::SecondSurname,
                    ..
                })
            ),
            "{backend:?}"
        );
    }
}

/// 200 applicants race for one day of capacity 50: exactly 50 get it, every other one is told
/// and books another day; no day or slot goes over its capacity.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_bookers_fill_a_day_of_fifty_exactly() {
    for backend in backends() {
        let app = Arc::new(spawn_app(backend).await);
        let users: Vec<String> = (0..200).map(|i| format!("u{i:03}")).collect();

        // Everyone gets to the choice of a time on the first bookable day.
        let mut tasks = tokio::task::JoinSet::new();
        for (i, user) in users.iter().enumerate() {
            let (app, user) = (app.clone(), user.clone());
            tasks.spawn(async move {
                let mut answers = answers_to_review(&format!("K{i:09}"));
                answers.extend(["enviar", "1", "1"].map(String::from));
                for answer in answers {
                    app.turn(&user, &answer).await;
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        for user in &users {
            assert!(
                matches!(app.state(user).await, State::ChoosingSlot(_)),
                "{backend:?} {user}"
            );
        }

        // All choose a time at once; whoever is refused keeps taking the first option offered.
        let mut tasks = tokio::task::JoinSet::new();
        for (i, user) in users.iter().enumerate() {
            let (app, user) = (app.clone(), user.clone());
            tasks.spawn(async move {
                app.turn(&user, &format!("{}", i % 12 + 1)).await;
                for _ in 0..40 {
                    if matches!(app.state(&user).await, State::Tracking(_)) {
                        return;
                    }
                    app.turn(&user, "1").await;
                }
                panic!("{user} never got an appointment");
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }

        let mut reader = app.service.db.reader().await.unwrap();
        let mut conn = reader.conn();
        let first_day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(
            store::appointments::active_count(&mut conn, "dgp-cdmx", first_day)
                .await
                .unwrap(),
            50,
            "{backend:?}"
        );
        assert_eq!(
            store::appointments::day_taken(&mut conn, "dgp-cdmx", first_day)
                .await
                .unwrap(),
            50
        );
        let mut total = 0;
        for offset in 0..60 {
            let day = first_day + chrono::Duration::days(offset);
            let active = store::appointments::active_count(&mut conn, "dgp-cdmx", day)
                .await
                .unwrap();
            assert!(active <= 50, "{day}: {active} appointments");
            assert_eq!(
                active,
                store::appointments::day_taken(&mut conn, "dgp-cdmx", day)
                    .await
                    .unwrap()
            );
            total += active;
        }
        assert_eq!(total, 200, "every applicant has exactly one appointment");
        let over_slot: i64 = match &mut conn {
            store::Conn::Sqlite(c) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM slot_seats WHERE taken > 5")
                    .fetch_one(&mut **c)
                    .await
                    .unwrap()
            }
            store::Conn::Postgres(c) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM slot_seats WHERE taken > 5")
                    .fetch_one(&mut **c)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(over_slot, 0, "no slot over its capacity");
        let _ = Backend::Sqlite;
    }
}

#[tokio::test]
async fn turns_of_one_conversation_at_once_are_each_written_once() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.turn("ana", "hola").await;
        app.turn("ana", "si").await;
        let version = |app: &TestApp| {
            let service = app.service.clone();
            async move {
                let mut reader = service.db.reader().await.unwrap();
                store::conversations::find(&mut reader.conn(), "terminal", "ana")
                    .await
                    .unwrap()
                    .unwrap()
                    .version
            }
        };
        let before = version(&app).await;
        let outbox_before = app.outbox("ana").await.len();
        let results =
            futures_util::future::join_all((0..10).map(|_| app.turn("ana", "ayuda"))).await;
        let mut written = 0;
        for result in results {
            match result {
                TurnResult::Processed { messages, .. } => written += messages,
                TurnResult::Duplicate => panic!("{backend:?}: a new input is not a duplicate"),
            }
        }
        // Each turn lost its race at most for a while, and was redone, never lost or doubled.
        assert_eq!(version(&app).await, before + 10, "{backend:?}");
        assert_eq!(app.outbox("ana").await.len(), outbox_before + written);
    }
}

#[tokio::test]
async fn a_conversation_another_instance_wrote_is_read_again_not_overwritten() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let db = store::Db::connect(&app.service.settings.database_url)
            .await
            .unwrap();
        let other = ventanilla::service::Service::new(db, app.service.settings.clone());
        // This instance asked for the CURP (and remembers its state)...
        app.turn("luz", "hola").await;
        app.turn("luz", "si").await;
        // ...the other instance took the answer...
        let inbound = ventanilla::service::Inbound::new(
            support::terminal("luz"),
            support::next_id(),
            Input::Text("PEGL890909MJCRMS08".into()),
        );
        other.handle(&inbound).await.unwrap();
        // ...so this instance's next turn finds its state stale and is redone from the stored
        // one: the CURP is confirmed, not read as a wrong CURP.
        app.turn("luz", "si").await;
        let State::Collecting(collecting) = app.state("luz").await else {
            panic!("{backend:?}: still collecting");
        };
        assert_eq!(
            collecting.question,
            ventanilla::conversation::state::Question::GivenNames,
            "{backend:?}"
        );
    }
}

/// How many inputs are recorded under the conversation `id`.
async fn receipts_of(app: &TestApp, id: i64) -> i64 {
    let mut reader = app.service.db.reader().await.unwrap();
    let sql = "SELECT COUNT(*) FROM receipts WHERE conversation_id = $1";
    match reader.conn() {
        store::Conn::Sqlite(c) => sqlx::query_scalar(sql).bind(id).fetch_one(c).await,
        store::Conn::Postgres(c) => sqlx::query_scalar(sql).bind(id).fetch_one(c).await,
    }
    .unwrap()
}

#[tokio::test]
async fn first_turns_at_once_each_create_their_conversation_once() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        // Thirty new applicants write at once, and one more sends five first messages at once.
        let users: Vec<String> = (0..30).map(|i| format!("nuevo-{i}")).collect();
        let turns = users
            .iter()
            .map(String::as_str)
            .chain(std::iter::repeat_n("prisa", 5))
            .map(|user| app.turn(user, "hola"));
        let results = futures_util::future::join_all(turns).await;
        let mut reader = app.service.db.reader().await.unwrap();
        let mut ids = std::collections::HashSet::new();
        for (user, result) in users.iter().zip(&results) {
            let TurnResult::Processed {
                conversation_id,
                messages,
            } = *result
            else {
                panic!("{backend:?}: a first turn is not a duplicate");
            };
            let row = store::conversations::find(&mut reader.conn(), "terminal", user)
                .await
                .unwrap()
                .expect("the first turn created its conversation");
            assert_eq!(row.id, conversation_id, "{backend:?}");
            assert_eq!(row.version, 1, "{backend:?}");
            assert!(ids.insert(row.id), "{backend:?}: one conversation each");
            assert!(messages > 0);
            assert_eq!(app.outbox(user).await.len(), messages, "{backend:?}");
            assert_eq!(receipts_of(&app, row.id).await, 1, "{backend:?}");
            let events = store::audit::list(&mut reader.conn(), Some(row.id), None)
                .await
                .unwrap();
            assert!(!events.is_empty(), "{backend:?}: the first turn is audited");
            assert!(
                events.iter().all(|e| e.conversation_id == Some(row.id)),
                "{backend:?}: {events:?}"
            );
        }
        // The hurried applicant has one conversation, and each of the five turns in it once.
        let written: usize = results[users.len()..]
            .iter()
            .map(|result| match result {
                TurnResult::Processed { messages, .. } => *messages,
                TurnResult::Duplicate => panic!("{backend:?}: a new input is not a duplicate"),
            })
            .sum();
        let prisa = store::conversations::find(&mut reader.conn(), "terminal", "prisa")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(prisa.version, 5, "{backend:?}");
        assert_eq!(receipts_of(&app, prisa.id).await, 5, "{backend:?}");
        assert_eq!(app.outbox("prisa").await.len(), written, "{backend:?}");
        // A first update delivered twice is a duplicate the second time.
        let (first, _) = app
            .send("otra", "primera", Input::Text("hola".into()))
            .await;
        let (again, replies) = app
            .send("otra", "primera", Input::Text("hola".into()))
            .await;
        assert!(matches!(first, TurnResult::Processed { .. }), "{backend:?}");
        assert_eq!(again, TurnResult::Duplicate, "{backend:?}");
        assert!(replies.is_empty());
    }
}

#[tokio::test]
async fn every_sqlite_connection_plans_its_statements_once() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        // A whole turn first, so that the pools have opened their connections.
        app.turn("luz", "hola").await;
        let plans_once = app.service.db.plans_once().await.unwrap();
        match backend {
            Backend::Sqlite => assert_eq!(plans_once, Some(true)),
            Backend::Postgres => assert_eq!(plans_once, None),
        }
    }
}
