//! The scheduler through whole weeks of an injected clock: reminders are scheduled with the
//! booking (at the office's local times), sent once each in the outbox's scheduled lane, never
//! for a cancelled appointment, and follow a moved one; on SQLite and PostgreSQL.

mod support;

use chrono::{DateTime, Duration, Utc};
use support::console::booked;
use support::{TestApp, backends, spawn_app};
use ventanilla::scheduler;
use ventanilla::service::{Clock, Service};
use ventanilla::store;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn at(app: &TestApp, when: DateTime<Utc>) -> Service {
    let mut service = app.service.clone();
    service.clock = Clock::Fixed(when);
    service
}

/// The reminders in `user`'s outbox, by template.
async fn reminders(app: &TestApp, user: &str) -> Vec<String> {
    app.outbox(user)
        .await
        .into_iter()
        .map(|(_, message)| message.template)
        .filter(|template| {
            ["reminder_day_before", "reminder_same_day"].contains(&template.as_str())
        })
        .collect()
}

async fn active_appointment(app: &TestApp, folio: &str) -> i64 {
    let mut reader = app.service.db.reader().await.unwrap();
    let case = store::cases::by_folio(&mut reader.conn(), folio)
        .await
        .unwrap()
        .unwrap();
    store::applications::view(&mut reader.conn(), case.id)
        .await
        .unwrap()
        .unwrap()
        .appointment
        .expect("an active appointment")
        .id
}

/// Runs the scheduler every hour from `from` to `to`.
async fn hourly(app: &TestApp, from: DateTime<Utc>, to: DateTime<Utc>) -> usize {
    let mut done = 0;
    let mut now = from;
    while now <= to {
        done += scheduler::run_due(&at(app, now)).await.unwrap().done;
        now += Duration::hours(1);
    }
    done
}

#[tokio::test]
async fn a_booked_applicant_receives_exactly_the_two_reminders_at_the_offices_times() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        // Booked on Monday 30 November for Thursday 3 December, 09:30 (Mexico City, UTC-6).
        booked(&app, "luz", "B123456789").await;
        let appointment = active_appointment(&app, "SOL-2026-000001").await;
        {
            let mut reader = app.service.db.reader().await.unwrap();
            let jobs = store::jobs::for_appointment(&mut reader.conn(), appointment)
                .await
                .unwrap();
            let kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
            assert_eq!(
                kinds,
                ["reminder_day_before", "reminder_same_day", "no_show_check"],
                "{backend:?}"
            );
            assert_eq!(
                jobs[0].due_at,
                utc("2026-12-02T16:00:00Z").timestamp_millis()
            );
            assert_eq!(
                jobs[1].due_at,
                utc("2026-12-03T13:30:00Z").timestamp_millis()
            );
        }
        // A minute before the day-before reminder: nothing.
        let early = scheduler::run_due(&at(&app, utc("2026-12-02T15:59:00Z")))
            .await
            .unwrap();
        assert_eq!(early.done, 0);
        assert!(reminders(&app, "luz").await.is_empty());
        // At 10:00 office time the day before: one, asking what to bring; twice is once.
        let due = at(&app, utc("2026-12-02T16:00:00Z"));
        assert_eq!(scheduler::run_due(&due).await.unwrap().done, 1);
        assert_eq!(scheduler::run_due(&due).await.unwrap().done, 0);
        let outbox = app.outbox("luz").await;
        let (_, message) = outbox.last().unwrap();
        assert_eq!(message.template, "reminder_day_before");
        assert!(
            message
                .text
                .contains("ma\u{f1}ana, jueves 3 de diciembre a las 09:30")
                && message.text.contains("T\u{ed}tulo original"),
            "{}",
            message.text
        );
        // It asks to confirm, change or cancel; confirming keeps the appointment.
        let ids: Vec<&str> = message.choices.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            ["confirm_appointment", "reschedule", "cancel_appointment"]
        );
        let answer = app.say("luz", "Confirmo mi cita").await;
        assert_eq!(answer[0].template, "appointment_confirmed", "{backend:?}");
        // The whole week, hour by hour: only the morning reminder is left.
        let rest = hourly(
            &app,
            utc("2026-12-02T17:00:00Z"),
            utc("2026-12-09T17:00:00Z"),
        )
        .await;
        // The morning reminder, then at closing time the no-show (nobody checked her in).
        assert_eq!(rest, 2);
        assert_eq!(
            reminders(&app, "luz").await,
            ["reminder_day_before", "reminder_same_day"]
        );
        let outbox = app.outbox("luz").await;
        let morning = outbox
            .iter()
            .find(|(_, m)| m.template == "reminder_same_day");
        assert!(morning.unwrap().1.text.starts_with("Hoy es tu cita"));
    }
}

#[tokio::test]
async fn a_cancelled_appointment_is_not_reminded_and_a_moved_one_is_reminded_at_its_new_date() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        booked(&app, "luz", "B123456789").await;
        booked(&app, "eva", "C123456789").await;
        let cancelled = active_appointment(&app, "SOL-2026-000001").await;
        // Luz cancels her appointment in the conversation: its reminders go with it.
        app.say("luz", "cancelar").await;
        app.say("luz", "s\u{ed}").await;
        {
            let mut reader = app.service.db.reader().await.unwrap();
            let jobs = store::jobs::for_appointment(&mut reader.conn(), cancelled)
                .await
                .unwrap();
            assert!(jobs.is_empty(), "{backend:?}: {jobs:?}");
        }
        // Eva's is moved by the office to Monday 7 December at 10:00.
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let time = chrono::NaiveTime::from_hms_opt(10, 0, 0).unwrap();
        ventanilla::staff::calendar::reschedule(&app.service, None, "SOL-2026-000002", day, time)
            .await
            .unwrap()
            .unwrap();
        let done = hourly(
            &app,
            utc("2026-11-30T17:00:00Z"),
            utc("2026-12-08T17:00:00Z"),
        )
        .await;
        // Eva's two reminders and, at closing time on the 7th, her no-show.
        assert_eq!(done, 3, "{backend:?}");
        assert!(reminders(&app, "luz").await.is_empty());
        let outbox = app.outbox("eva").await;
        let texts: Vec<&str> = outbox
            .iter()
            .filter(|(_, m)| {
                m.template.starts_with("reminder_") && m.template != "reminder_question"
            })
            .map(|(_, m)| m.text.as_str())
            .collect();
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(
            texts[0].contains("lunes 7 de diciembre a las 10:00"),
            "{}",
            texts[0]
        );
    }
}

#[tokio::test]
async fn one_runner_leads_at_a_time_and_another_takes_over_when_it_lets_go() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let first = scheduler::try_lead(&app.service.db).await.unwrap();
        assert!(first.is_some());
        if backend == support::Backend::Postgres {
            // The advisory lock: a second instance waits while the first holds it.
            let second = scheduler::try_lead(&app.service.db).await.unwrap();
            assert!(second.is_none(), "two runners on one PostgreSQL");
            scheduler::release(first.unwrap()).await;
            let third = scheduler::try_lead(&app.service.db).await.unwrap();
            assert!(third.is_some(), "the lock is free again");
            scheduler::release(third.unwrap()).await;
        }
    }
}

#[tokio::test]
async fn a_failing_job_is_retried_later_then_set_aside_and_the_others_run() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        booked(&app, "luz", "B123456789").await;
        let now = utc("2026-12-01T12:00:00Z");
        {
            let mut tx = app.service.db.begin().await.unwrap();
            let job = store::jobs::NewJob {
                kind: "from_a_newer_version",
                key: "from_a_newer_version:1".into(),
                due_at: now,
                appointment_id: None,
                payload: "{}".into(),
            };
            assert!(
                store::jobs::schedule(&mut tx.conn(), &job, now)
                    .await
                    .unwrap()
            );
            assert!(
                !store::jobs::schedule(&mut tx.conn(), &job, now)
                    .await
                    .unwrap(),
                "once"
            );
            tx.commit().await.unwrap();
        }
        let ran = scheduler::run_due(&at(&app, now)).await.unwrap();
        assert_eq!((ran.done, ran.failed), (0, 1), "{backend:?}");
        // Retried with a growing delay; after the last attempt it is failed and stays so.
        let (mut later, mut done) = (now, 0);
        for _ in 1..scheduler::MAX_ATTEMPTS {
            later += Duration::days(1);
            let ran = scheduler::run_due(&at(&app, later)).await.unwrap();
            assert_eq!(ran.failed, 1);
            done += ran.done;
        }
        later += Duration::days(1);
        let ran = scheduler::run_due(&at(&app, later)).await.unwrap();
        assert_eq!(ran.failed, 0, "set aside");
        // The reminders and the closing-time check around it ran all the same.
        assert_eq!(done + ran.done, 3);
        assert_eq!(reminders(&app, "luz").await.len(), 2);
    }
}

#[tokio::test]
async fn cancelling_from_the_day_before_reminder_frees_the_seat_and_stops_the_morning_one() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        booked(&app, "eva", "C123456789").await;
        let appointment = active_appointment(&app, "SOL-2026-000001").await;
        let due = at(&app, utc("2026-12-02T16:00:00Z"));
        assert_eq!(scheduler::run_due(&due).await.unwrap().done, 1);
        // An unclear answer asks again, with the same three choices.
        let unclear = app.say("eva", "quiz\u{e1}s").await;
        let templates: Vec<&str> = unclear.iter().map(|r| r.template.as_str()).collect();
        assert!(templates.contains(&"reminder_question"), "{templates:?}");
        // The third choice by its number, then yes: cancelled like the command.
        let question = app.say("eva", "3").await;
        assert!(
            question[0].choices.iter().any(|c| c.id == "yes"),
            "{backend:?}: {:?}",
            question.iter().map(|r| &r.template).collect::<Vec<_>>()
        );
        app.say("eva", "s\u{ed}").await;
        let mut reader = app.service.db.reader().await.unwrap();
        let row = store::appointments::get(&mut reader.conn(), appointment)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            row.status,
            store::appointments::AppointmentStatus::Cancelled
        );
        let jobs = store::jobs::for_appointment(&mut reader.conn(), appointment)
            .await
            .unwrap();
        assert!(jobs.iter().all(|j| j.status == "done"), "{jobs:?}");
        drop(reader);
        let rest = hourly(
            &app,
            utc("2026-12-02T17:00:00Z"),
            utc("2026-12-05T17:00:00Z"),
        )
        .await;
        assert_eq!(rest, 0);
        assert_eq!(reminders(&app, "eva").await, ["reminder_day_before"]);
    }
}

#[tokio::test]
async fn at_closing_time_an_applicant_nobody_checked_in_is_a_no_show_and_told() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        booked(&app, "luz", "B123456789").await;
        booked(&app, "eva", "C123456789").await;
        let luz = active_appointment(&app, "SOL-2026-000001").await;
        // Eva came.
        ventanilla::staff::checkin(&app.service, None, "SOL-2026-000002")
            .await
            .unwrap()
            .unwrap();
        // The office closes at 15:00 (21:00 UTC): a minute before, nothing.
        hourly(
            &app,
            utc("2026-11-30T17:00:00Z"),
            utc("2026-12-03T20:00:00Z"),
        )
        .await;
        let before = scheduler::run_due(&at(&app, utc("2026-12-03T20:59:00Z")))
            .await
            .unwrap();
        assert_eq!(before.done, 0);
        let closing = scheduler::run_due(&at(&app, utc("2026-12-03T21:00:00Z")))
            .await
            .unwrap();
        assert_eq!(closing.done, 2, "{backend:?}: both closing checks ran");
        let mut reader = app.service.db.reader().await.unwrap();
        let row = store::appointments::get(&mut reader.conn(), luz)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.status, store::appointments::AppointmentStatus::NoShow);
        let status = |folio: &'static str| {
            let service = app.service.clone();
            async move {
                let mut reader = service.db.reader().await.unwrap();
                store::cases::by_folio(&mut reader.conn(), folio)
                    .await
                    .unwrap()
                    .unwrap()
                    .status
            }
        };
        use ventanilla::domain::application::Status;
        assert_eq!(status("SOL-2026-000001").await, Status::Submitted);
        assert_eq!(
            status("SOL-2026-000002").await,
            Status::Attended,
            "she came"
        );
        let events = store::audit::by_event(&mut reader.conn(), store::audit::Event::NoShow)
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        drop(reader);
        let outbox = app.outbox("luz").await;
        assert_eq!(outbox.last().unwrap().1.template, "no_show");
        assert!(
            app.outbox("eva")
                .await
                .iter()
                .all(|(_, m)| m.template != "no_show")
        );
        // She may book again as the notice says (the turn's answer is in the outbox).
        app.turn("luz", "Agendar mi cita").await;
        let outbox = app.outbox("luz").await;
        let last = &outbox.last().unwrap().1.template;
        assert!(last == "choose_office" || last == "choose_day", "{last}");
    }
}

#[tokio::test]
async fn after_two_no_shows_a_new_booking_waits_for_a_supervisor_and_then_goes_ahead() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let last_template = |user: &'static str| {
            let app = &app;
            async move { app.outbox(user).await.pop().unwrap().1.template }
        };
        // First appointment on Thursday 3 December, missed.
        booked(&app, "luz", "B123456789").await;
        scheduler::run_due(&at(&app, utc("2026-12-03T21:00:00Z")))
            .await
            .unwrap();
        assert_eq!(last_template("luz").await, "no_show");
        // Booked again for Friday 4 December, missed again.
        for answer in ["Agendar mi cita", "1", "vie 4 dic", "9:30"] {
            app.turn("luz", answer).await;
        }
        assert_eq!(last_template("luz").await, "status");
        scheduler::run_due(&at(&app, utc("2026-12-04T21:00:00Z")))
            .await
            .unwrap();
        assert_eq!(last_template("luz").await, "no_show", "{backend:?}");
        // A third booking waits for the office: said plainly, no calendar shown.
        app.turn("luz", "Agendar mi cita").await;
        let outbox = app.outbox("luz").await;
        let templates: Vec<&str> = outbox.iter().map(|(_, m)| m.template.as_str()).collect();
        assert_eq!(
            templates[templates.len() - 2..],
            ["booking_needs_approval", "status"]
        );
        // The office sees the count and approves; she is told and may book.
        let mut reader = app.service.db.reader().await.unwrap();
        let case = store::cases::by_folio(&mut reader.conn(), "SOL-2026-000001")
            .await
            .unwrap()
            .unwrap();
        let view = store::applications::view(&mut reader.conn(), case.id)
            .await
            .unwrap()
            .unwrap();
        drop(reader);
        assert_eq!((view.no_shows, view.no_shows_approved), (2, 0));
        let approved = ventanilla::staff::approve_booking(&app.service, None, "SOL-2026-000001")
            .await
            .unwrap();
        assert_eq!(approved, Ok(("SOL-2026-000001".to_string(), 2)));
        assert_eq!(last_template("luz").await, "booking_approved");
        let again = ventanilla::staff::approve_booking(&app.service, None, "SOL-2026-000001")
            .await
            .unwrap();
        assert_eq!(again, Err(ventanilla::staff::Refusal::NothingToApprove));
        app.turn("luz", "Agendar mi cita").await;
        let last = last_template("luz").await;
        assert!(last == "choose_office" || last == "choose_day", "{last}");
        let mut reader = app.service.db.reader().await.unwrap();
        let events = store::audit::by_event(
            &mut reader.conn(),
            store::audit::Event::BookingRefusedNoShows,
        )
        .await
        .unwrap();
        assert_eq!(
            events.len(),
            0,
            "refused up front, before any booking request"
        );
        let approvals =
            store::audit::by_event(&mut reader.conn(), store::audit::Event::BookingApproved)
                .await
                .unwrap();
        assert_eq!(approvals.len(), 1);
    }
}

/// Types `text` as `user` at `when` (the turn's clock there).
async fn say_at(app: &TestApp, when: DateTime<Utc>, user: &str, text: &str) {
    use ventanilla::conversation::Input;
    use ventanilla::service::Inbound;
    let inbound = Inbound::new(
        support::terminal(user),
        support::next_id(),
        Input::Text(text.to_string()),
    );
    at(app, when).handle(&inbound).await.unwrap();
}

fn templates_of(outbox: &[(String, ventanilla::service::OutgoingMessage)]) -> Vec<&str> {
    outbox.iter().map(|(_, m)| m.template.as_str()).collect()
}

#[tokio::test]
async fn a_draft_left_unanswered_is_reminded_once_then_expires_and_its_payment_key_is_freed() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        // Luz stops right after giving her payment key (Monday 30 November, 10:00).
        let answers = support::answers_to_review("B123456789");
        for answer in &answers[..9] {
            app.turn("luz", answer).await;
        }
        let start = app.service.clock.now();
        let count = |template: &'static str| {
            let app = &app;
            async move {
                let outbox = app.outbox("luz").await;
                templates_of(&outbox)
                    .iter()
                    .filter(|t| **t == template)
                    .count()
            }
        };
        // Two days of silence: nothing yet.
        scheduler::run_due(&at(&app, start + Duration::days(2)))
            .await
            .unwrap();
        assert_eq!(count("draft_reminder").await, 0);
        // After three: one reminder, saying where she stopped, in the scheduled lane.
        scheduler::run_due(&at(&app, start + Duration::days(3) + Duration::minutes(1)))
            .await
            .unwrap();
        assert_eq!(count("draft_reminder").await, 1, "{backend:?}");
        let outbox = app.outbox("luz").await;
        let reminder = &outbox.last().unwrap().1;
        assert!(
            reminder.text.contains("paso 8 de 19") && reminder.text.contains("30 de diciembre"),
            "{}",
            reminder.text
        );
        // Every day after that: no second reminder.
        for day in 4..30 {
            scheduler::run_due(&at(&app, start + Duration::days(day)))
                .await
                .unwrap();
        }
        assert_eq!(count("draft_reminder").await, 1);
        // Meanwhile her key is hers: another applicant giving it is refused.
        for answer in &answers[..9] {
            app.turn("ana", answer).await;
        }
        let ana = app.outbox("ana").await;
        assert!(templates_of(&ana).contains(&"payment_key_taken"));
        // Thirty days of silence: the draft expires, she is told, the key is free.
        scheduler::run_due(&at(&app, start + Duration::days(30) + Duration::minutes(1)))
            .await
            .unwrap();
        assert_eq!(count("draft_expired").await, 1, "{backend:?}");
        assert!(matches!(
            app.state("luz").await,
            ventanilla::conversation::state::State::Closed(_)
        ));
        app.turn("eva", "hola").await;
        for answer in &answers[1..9] {
            app.turn("eva", answer).await;
        }
        let eva = app.outbox("eva").await;
        assert!(
            !templates_of(&eva).contains(&"payment_key_taken"),
            "{:?}",
            templates_of(&eva)
        );
        let mut reader = app.service.db.reader().await.unwrap();
        let expired = store::audit::by_event(&mut reader.conn(), store::audit::Event::DraftExpired)
            .await
            .unwrap();
        assert_eq!(expired.len(), 1);
        assert!(
            expired[0].detail.contains("no_answer"),
            "{}",
            expired[0].detail
        );
        assert!(
            !expired[0].detail.contains("B123456789"),
            "no personal data"
        );
    }
}

#[tokio::test]
async fn an_answer_after_the_reminder_starts_the_watch_again() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let answers = support::answers_to_review("B123456789");
        for answer in &answers[..9] {
            app.turn("luz", answer).await;
        }
        let start = app.service.clock.now();
        scheduler::run_due(&at(&app, start + Duration::days(3) + Duration::minutes(1)))
            .await
            .unwrap();
        // She answers on day 20; on day 30 nothing expires, and three days after her answer she
        // is reminded again.
        say_at(&app, start + Duration::days(20), "luz", &answers[9]).await;
        for _ in 0..2 {
            scheduler::run_due(&at(&app, start + Duration::days(30) + Duration::minutes(1)))
                .await
                .unwrap();
        }
        let outbox = app.outbox("luz").await;
        let templates = templates_of(&outbox);
        assert!(
            !templates.contains(&"draft_expired"),
            "{backend:?} {templates:?}"
        );
        assert_eq!(
            templates.iter().filter(|t| **t == "draft_reminder").count(),
            2
        );
        assert!(matches!(
            app.state("luz").await,
            ventanilla::conversation::state::State::Collecting(_)
        ));
    }
}

#[tokio::test]
async fn a_submitted_application_without_an_appointment_is_reminded_weekly_three_times() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        for answer in support::answers_to_review("B123456789") {
            app.turn("luz", &answer).await;
        }
        app.turn("luz", "Enviar solicitud").await;
        // She leaves the calendar without a day.
        app.turn("luz", "cancelar").await;
        // Eva books: she is never reminded to.
        booked(&app, "eva", "C123456789").await;
        let start = app.service.clock.now();
        for day in 1..=40 {
            scheduler::run_due(&at(&app, start + Duration::days(day)))
                .await
                .unwrap();
        }
        let reminded = |user: &'static str| {
            let app = &app;
            async move {
                let outbox = app.outbox(user).await;
                templates_of(&outbox)
                    .iter()
                    .filter(|t| **t == "unbooked_reminder")
                    .count()
            }
        };
        assert_eq!(reminded("luz").await, 3, "{backend:?}");
        assert_eq!(reminded("eva").await, 0);
        // The reminder offers to book; choosing it opens the calendar.
        let outbox = app.outbox("luz").await;
        let reminder = outbox
            .iter()
            .rev()
            .find(|(_, m)| m.template == "unbooked_reminder")
            .unwrap();
        assert!(reminder.1.choices.iter().any(|c| c.id == "book"));
    }
}
