//! The office's calendar in the console, over HTTP on SQLite and PostgreSQL: a clerk is refused
//! the capacity page and its forms (403); a change of hours or of one day's capacity that would
//! leave appointments out is refused with their list and changes nothing; a day's own capacity
//! binds the applicants' bookings; closing a day with 30 appointments moves each applicant to
//! the first free days after it (the earliest appointments first), tells each on their channel
//! with the updated receipt and invitation and a choice, and the closure's page shows who was
//! moved and told.

mod support;

use axum::http::{Method, StatusCode};
use chrono::NaiveDate;
use support::console::{add, call, cli, get, login};
use support::{TestApp, answers_to_review, backends, spawn_app, templates};
use ventanilla::conversation::state::State;
use ventanilla::domain::staff::Role;
use ventanilla::staff::calendar;
use ventanilla::store;
use ventanilla::store::audit::Event;

const TIMES: [&str; 6] = ["9:00", "9:30", "10:00", "10:30", "11:00", "11:30"];

fn d(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, day).unwrap()
}

/// Takes `user` to a booked appointment on Thursday 3 December at `time`.
async fn book(app: &TestApp, user: &str, n: usize, time: &str) {
    for answer in answers_to_review(&format!("B{:09}", 200_000 + n)) {
        app.say(user, &answer).await;
    }
    app.say(user, "Enviar solicitud").await;
    for answer in ["1", "jue 3 dic", time] {
        app.say(user, answer).await;
    }
    assert!(
        matches!(app.state(user).await, State::Tracking(_)),
        "{user} booked"
    );
}

async fn taken(app: &TestApp, day: NaiveDate) -> i64 {
    let mut reader = app.service.db.reader().await.unwrap();
    store::appointments::day_taken(&mut reader.conn(), "dgp-cdmx", day)
        .await
        .unwrap()
}

/// The appointment (day, "HH:MM") of `user`'s application.
async fn appointment_of(app: &TestApp, user: &str) -> Option<(NaiveDate, String)> {
    let state = app.state(user).await;
    let id = state.app().expect("an application").id;
    let mut reader = app.service.db.reader().await.unwrap();
    let view = store::applications::view(&mut reader.conn(), id)
        .await
        .unwrap()
        .unwrap();
    view.appointment
        .map(|a| (a.day, a.slot.format("%H:%M").to_string()))
}

async fn session(app: &TestApp, name: &str) -> Vec<String> {
    let (_, session) = login(&app.service, name, support::console::PASSWORD).await;
    vec![session.expect("a session")]
}

/// The form of the hours, as the page sends it, with `changes` over the configured values.
fn hours_form<'a>(csrf: &'a str, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("csrf", csrf),
        ("oficina", "dgp-cdmx"),
        ("lun", "1"),
        ("mar", "1"),
        ("mie", "1"),
        ("jue", "1"),
        ("vie", "1"),
        ("abre", "09:00"),
        ("cierra", "15:00"),
        ("minutos", "30"),
        ("capacidad", "50"),
    ];
    // An empty value leaves the field out (an unticked weekday).
    for (key, value) in changes {
        form.retain(|(k, _)| k != key);
        if !value.is_empty() {
            form.push((key, value));
        }
    }
    form
}

#[tokio::test]
async fn clerks_are_refused_and_changes_that_leave_appointments_out_are_refused_with_the_list() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        add(&app, "ana", Role::Clerk, Some("dgp-cdmx")).await;
        add(&app, "sara", Role::Supervisor, Some("dgp-cdmx")).await;
        for n in 0..5 {
            book(&app, &format!("p{n}"), n, "9:00").await;
        }
        book(&app, "late", 5, "14:30").await;
        let configured = app.service.settings.procedure.offices[0].hours();
        let hours_now = || async {
            calendar::calendar(&app.service, "dgp-cdmx")
                .await
                .unwrap()
                .unwrap()
                .office
                .hours()
        };

        // A clerk: the page and its forms are refused, saying why; nothing changes.
        let clerk = session(&app, "ana").await;
        let page = get(&app.service, "/oficina/capacidad", &clerk).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{backend:?}");
        assert!(page.body.contains("son de supervisión"), "{}", page.body);
        let agenda = get(&app.service, "/oficina/agenda", &clerk).await;
        assert!(
            !agenda.body.contains("Capacidad y cierres"),
            "no link for clerks"
        );
        let csrf = agenda.csrf();
        let form = hours_form(&csrf, &[("capacidad", "80")]);
        let post = call(
            &app.service,
            Method::POST,
            "/oficina/capacidad/horario",
            &clerk,
            Some(&form),
        )
        .await;
        assert_eq!(post.status, StatusCode::FORBIDDEN);
        assert_eq!(hours_now().await, configured);

        // A supervisor sees the page with the office's values.
        let supervisor = session(&app, "sara").await;
        let page = get(&app.service, "/oficina/capacidad", &supervisor).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(page.body.matches("<h1>").count(), 1);
        for expected in [
            "<title>Capacidad de ",
            "name=\"capacidad\" value=\"50\"",
            "name=\"cierra\" value=\"15:00\"",
            "Guardar el horario</button>",
            "Guardar la capacidad del día</button>",
            "Ver las citas afectadas</button>",
        ] {
            assert!(page.body.contains(expected), "{expected}");
        }
        let csrf = page.csrf();
        let post_hours = |changes: Vec<(&'static str, &'static str)>| {
            let form = hours_form(&csrf, &changes);
            let cookies = supervisor.clone();
            let service = app.service.clone();
            async move {
                call(
                    &service,
                    Method::POST,
                    "/oficina/capacidad/horario",
                    &cookies,
                    Some(&form),
                )
                .await
            }
        };

        // Closing at 14:00 would leave the 14:30 appointment out.
        let refused = post_hours(vec![("cierra", "14:00")]).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
        assert!(
            refused.body.contains("dejaría fuera 1 citas"),
            "{}",
            refused.body
        );
        assert!(refused.body.contains("SOL-2026-000006"));
        assert!(refused.body.contains("esa hora ya no sería de cita"));
        assert!(!refused.body.contains("SOL-2026-000001"));
        // 24 seats a day are two a slot: the five at 9:00 would not fit.
        let refused = post_hours(vec![("capacidad", "24")]).await;
        assert_eq!(refused.status, StatusCode::CONFLICT);
        assert_eq!(
            refused
                .body
                .matches("la hora tendría más citas que lugares")
                .count(),
            5
        );
        // Not opening on Thursdays leaves all six out.
        let refused = post_hours(vec![("jue", "")]).await;
        assert_eq!(refused.status, StatusCode::CONFLICT);
        assert_eq!(refused.body.matches("ese día no abriría").count(), 6);
        assert_eq!(hours_now().await, configured, "nothing changed");

        // Hours that can be used: saved, audited with the supervisor's id.
        let saved = post_hours(vec![("capacidad", "60"), ("cierra", "15:00")]).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        assert_eq!(hours_now().await.daily_capacity, 60);
        let mut reader = app.service.db.reader().await.unwrap();
        let events = store::audit::by_event(&mut reader.conn(), Event::HoursChanged)
            .await
            .unwrap();
        drop(reader);
        assert_eq!(events.len(), 1);
        assert!(events[0].staff_id.is_some());
        let page = get(
            &app.service,
            "/oficina/capacidad?hecho=horario",
            &supervisor,
        )
        .await;
        assert!(page.body.contains("Horario guardado"));
        assert!(page.body.contains("name=\"capacidad\" value=\"60\""));

        // One day's capacity below its appointments: refused with the six.
        let day_form = |fecha: &'static str, capacidad: &'static str| {
            vec![
                ("csrf", csrf.clone()),
                ("oficina", "dgp-cdmx".to_string()),
                ("fecha", fecha.to_string()),
                ("capacidad", capacidad.to_string()),
            ]
        };
        let post_day = |fields: Vec<(&'static str, String)>| {
            let cookies = supervisor.clone();
            let service = app.service.clone();
            async move {
                let form: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                call(
                    &service,
                    Method::POST,
                    "/oficina/capacidad/dia",
                    &cookies,
                    Some(&form),
                )
                .await
            }
        };
        let refused = post_day(day_form("2026-12-03", "5")).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
        assert_eq!(
            refused
                .body
                .matches("el día tendría más citas que lugares")
                .count(),
            6
        );
        let refused = post_day(day_form("2026-12-03", "0")).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("ciérralo"));

        // Friday 4 December gets one seat: the first applicant takes it, the second is told
        // the day is full.
        let done = post_day(day_form("2026-12-04", "1")).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        for (n, user) in [(6, "first"), (7, "second")] {
            for answer in answers_to_review(&format!("B{:09}", 200_000 + n)) {
                app.say(user, &answer).await;
            }
            app.say(user, "Enviar solicitud").await;
            app.say(user, "1").await;
            // Typed as a date: a full day is not among the choices.
            let replies = app.say(user, "4 dic").await;
            if user == "first" {
                assert!(
                    matches!(app.state(user).await, State::ChoosingSlot(_)),
                    "{:?}",
                    templates(&replies)
                );
                app.say(user, "9:00").await;
                assert_eq!(
                    appointment_of(&app, user).await,
                    Some((d(4), "09:00".into()))
                );
            } else {
                assert!(
                    templates(&replies).contains(&"day_not_bookable"),
                    "{:?}",
                    templates(&replies)
                );
                assert!(matches!(app.state(user).await, State::ChoosingDay(_)));
            }
        }
        assert_eq!(taken(&app, d(4)).await, 1);
        // The override shows on the page; an empty capacity gives the day back its usual one.
        let page = get(&app.service, "/oficina/capacidad", &supervisor).await;
        assert!(
            page.body.contains("viernes 4 de diciembre"),
            "{}",
            page.body
        );
        let done = post_day(day_form("2026-12-04", "")).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        let current = calendar::calendar(&app.service, "dgp-cdmx")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(current.office.capacity_on(d(4)), 60);
    }
}

#[tokio::test]
async fn closing_a_day_moves_thirty_applicants_to_the_first_free_days_and_tells_each() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        add(&app, "sara", Role::Supervisor, Some("dgp-cdmx")).await;
        let users: Vec<String> = (0..30).map(|n| format!("p{n:02}")).collect();
        for (n, user) in users.iter().enumerate() {
            book(&app, user, n, TIMES[n / 5]).await;
        }
        assert_eq!(taken(&app, d(3)).await, 30);
        let supervisor = session(&app, "sara").await;
        let page = get(&app.service, "/oficina/capacidad", &supervisor).await;
        let csrf = page.csrf();
        // Friday has room for ten only.
        let day = [
            ("csrf", csrf.as_str()),
            ("oficina", "dgp-cdmx"),
            ("fecha", "2026-12-04"),
            ("capacidad", "10"),
        ];
        let done = call(
            &app.service,
            Method::POST,
            "/oficina/capacidad/dia",
            &supervisor,
            Some(&day),
        )
        .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);

        // The preview lists the thirty and changes nothing.
        let closure = [
            ("csrf", csrf.as_str()),
            ("oficina", "dgp-cdmx"),
            ("desde", "2026-12-03"),
            ("hasta", ""),
            ("motivo", "mantenimiento eléctrico"),
        ];
        let preview = call(
            &app.service,
            Method::POST,
            "/oficina/cierres",
            &supervisor,
            Some(&closure),
        )
        .await;
        assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
        assert!(
            preview.body.contains("30 citas se moverán"),
            "{}",
            preview.body
        );
        for n in 1..=30 {
            assert!(preview.body.contains(&format!("SOL-2026-{n:06}")), "{n}");
        }
        assert!(preview.body.contains("Confirmar el cierre</button>"));
        assert_eq!(taken(&app, d(3)).await, 30, "a preview changes nothing");
        // A reversed range, a closure without a reason: refused, saying why.
        let reversed = [
            ("csrf", csrf.as_str()),
            ("oficina", "dgp-cdmx"),
            ("desde", "2026-12-04"),
            ("hasta", "2026-12-03"),
            ("motivo", "x"),
        ];
        let refused = call(
            &app.service,
            Method::POST,
            "/oficina/cierres",
            &supervisor,
            Some(&reversed),
        )
        .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("Revisa las fechas"));

        // Confirmed: the closure's page.
        let confirmed = call(
            &app.service,
            Method::POST,
            "/oficina/cierres/confirmar",
            &supervisor,
            Some(&closure),
        )
        .await;
        assert_eq!(
            confirmed.status,
            StatusCode::SEE_OTHER,
            "{}",
            confirmed.body
        );
        let location = confirmed.location.clone().expect("to the closure's page");
        assert!(location.starts_with("/oficina/cierres/"));

        // Nobody is left on the closed day; ten go to Friday (the ten earliest), twenty to
        // Monday 7 December, no slot over its capacity.
        assert_eq!(taken(&app, d(3)).await, 0);
        assert_eq!(taken(&app, d(4)).await, 10);
        assert_eq!(taken(&app, d(7)).await, 20);
        let mut per_slot = std::collections::HashMap::new();
        for (n, user) in users.iter().enumerate() {
            let (day, slot) = appointment_of(&app, user)
                .await
                .expect("moved, not dropped");
            assert_eq!(day, if n < 10 { d(4) } else { d(7) }, "{user}");
            *per_slot.entry((day, slot)).or_insert(0) += 1;
            assert!(matches!(app.state(user).await, State::Moved(_)), "{user}");
            // Told on their channel, with the new receipt and invitation and a choice.
            let outbox = app.outbox(user).await;
            let (_, notice) = outbox
                .iter()
                .rev()
                .find(|(_, m)| m.template == "appointment_moved")
                .expect("the notice is in the outbox");
            assert!(
                notice.text.contains("mantenimiento eléctrico"),
                "{}",
                notice.text
            );
            let ids: Vec<&str> = notice.choices.iter().map(|c| c.id.as_str()).collect();
            assert_eq!(ids, ["keep_appointment", "reschedule"]);
            assert_eq!(notice.attachments.len(), 2);
        }
        for ((day, _), count) in &per_slot {
            assert!(*count <= if *day == d(4) { 1 } else { 5 }, "{per_slot:?}");
        }
        // p00 kept the 9:00 time on Friday.
        assert_eq!(
            appointment_of(&app, "p00").await,
            Some((d(4), "09:00".into()))
        );

        // Before delivery the page shows thirty moved and their notices queued; after, told.
        let report = get(&app.service, &location, &supervisor).await;
        assert_eq!(report.status, StatusCode::OK, "{}", report.body);
        assert!(
            report.body.contains("Movidas: <strong>30</strong>"),
            "{}",
            report.body
        );
        assert!(
            report
                .body
                .contains("Avisos entregados: <strong>0</strong>")
        );
        assert_eq!(report.body.matches("en cola").count(), 30);
        app.worker.drain().await.unwrap();
        let report = get(&app.service, &location, &supervisor).await;
        assert!(
            report
                .body
                .contains("Avisos entregados: <strong>30</strong>"),
            "{}",
            report.body
        );
        assert!(report.body.contains("Avisos con falla: <strong>0</strong>"));
        let id = location.rsplit('/').next().unwrap();
        let out = cli(&app, &["staff", "closure", id], "");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("30 citas"), "{stdout}");
        assert_eq!(stdout.matches("entregado").count(), 30);

        // One keeps the new appointment; another chooses another day, and the closed day is
        // not offered.
        let replies = app.say("p00", "Me queda bien").await;
        assert!(
            templates(&replies).contains(&"move_accepted"),
            "{:?}",
            templates(&replies)
        );
        assert!(matches!(app.state("p00").await, State::Tracking(_)));
        app.say("p29", "2").await;
        assert!(matches!(app.state("p29").await, State::ChoosingOffice(_)));
        app.say("p29", "1").await;
        let state = app.state("p29").await;
        let State::ChoosingDay(choosing) = state else {
            panic!("choosing a day: {state:?}");
        };
        assert!(!choosing.offered.contains(&d(3)), "{:?}", choosing.offered);
        assert!(choosing.offered.contains(&d(8)));
        // A new applicant cannot book the closed day.
        for answer in answers_to_review("B000999999") {
            app.say("new", &answer).await;
        }
        app.say("new", "Enviar solicitud").await;
        app.say("new", "1").await;
        let replies = app.say("new", "3 de diciembre").await;
        assert!(
            templates(&replies).contains(&"day_not_bookable"),
            "{:?}",
            templates(&replies)
        );

        // The closure is in the audit trail, with each move.
        let mut reader = app.service.db.reader().await.unwrap();
        let conn = &mut reader.conn();
        let closed = store::audit::by_event(conn, Event::OfficeClosed)
            .await
            .unwrap();
        assert_eq!(closed.len(), 1);
        assert!(closed[0].staff_id.is_some());
        let moves = store::audit::by_event(conn, Event::AppointmentMoved)
            .await
            .unwrap();
        assert_eq!(moves.len(), 30);
    }
}
