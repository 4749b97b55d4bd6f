//! The waitlist against the real store, on SQLite and PostgreSQL: freed seats are held for the
//! first in line and offered, accepted through the conversation, let go or expired to the next;
//! under concurrent cancellations, acceptances and expiries no seat is held twice or lost.

mod support;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures_util::future::join_all;
use support::{TestApp, backends, spawn_app};
use ventanilla::conversation::state::{AppRef, State, Tracking};
use ventanilla::domain::application::Status;
use ventanilla::scheduler;
use ventanilla::service::{Clock, Service};
use ventanilla::store;
use ventanilla::store::appointments::{Booking, SeatRequest};

const OFFICE: &str = "dgp-cdmx";

fn day() -> NaiveDate {
    // A Monday a week after the tests' now (Monday 30 November 2026).
    NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
}

fn at(app: &TestApp, when: DateTime<Utc>) -> Service {
    let mut service = app.service.clone();
    service.clock = Clock::Fixed(when);
    service
}

struct Applicant {
    user: String,
    application_id: i64,
}

/// A submitted application whose conversation follows it (written straight to the store: the
/// journey itself is tested elsewhere), booked on `seat`'s slot when given.
async fn applicant(app: &TestApp, i: usize, slot: Option<usize>) -> Applicant {
    let service = &app.service;
    let now = service.clock.now();
    let mut tx = service.db.begin().await.unwrap();
    let support::seed::Submitted {
        user,
        conversation_id: conversation,
        application_id,
        folio,
    } = support::seed::submitted(&mut tx.conn(), &service.settings.procedure, i, now).await;
    let app_ref = AppRef {
        id: application_id,
        folio,
    };
    let state = State::Tracking(Tracking { app: app_ref });
    let row = store::conversations::get(&mut tx.conn(), conversation)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store::conversations::update_state(
            &mut tx.conn(),
            conversation,
            row.version,
            &state.to_json(),
            now
        )
        .await
        .unwrap()
    );
    if let Some(slot) = slot {
        let office = service.settings.procedure.office(OFFICE).unwrap();
        let slots = office.slots();
        let seat = SeatRequest {
            application_id,
            office_id: OFFICE,
            day: day(),
            slot: slots[slot % slots.len()],
            day_capacity: office.capacity_on(day()),
            slot_capacity: office.slot_capacity_on(day()),
            jobs: Vec::new(),
        };
        let booked = store::appointments::book(&mut tx.conn(), &seat, now)
            .await
            .unwrap();
        assert!(matches!(booked, Booking::Booked(_)), "a seat for {i}");
        store::applications::set_status(&mut tx.conn(), application_id, Status::Scheduled, now)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    Applicant {
        user,
        application_id,
    }
}

async fn join(app: &TestApp, who: &Applicant, latest: NaiveDate) {
    let mut tx = app.service.db.begin().await.unwrap();
    let now = app.service.clock.now();
    assert!(
        store::waitlist::join(&mut tx.conn(), who.application_id, OFFICE, latest, now)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
}

async fn places(app: &TestApp, status: &str) -> Vec<store::waitlist::Place> {
    let mut reader = app.service.db.reader().await.unwrap();
    store::waitlist::places(&mut reader.conn(), OFFICE, status)
        .await
        .unwrap()
}

async fn templates(app: &TestApp, user: &str) -> Vec<String> {
    app.outbox(user)
        .await
        .into_iter()
        .map(|(_, m)| m.template)
        .collect()
}

/// The day's seats as the counters have them and as the appointments have them.
async fn seats(app: &TestApp) -> (i64, Vec<(String, i64)>) {
    let mut reader = app.service.db.reader().await.unwrap();
    let taken = store::appointments::day_taken(&mut reader.conn(), OFFICE, day())
        .await
        .unwrap();
    let statuses = store::appointments::status_counts(&mut reader.conn(), OFFICE, day())
        .await
        .unwrap();
    (taken, statuses)
}

fn count(statuses: &[(String, i64)], status: &str) -> i64 {
    statuses
        .iter()
        .find(|(s, _)| s == status)
        .map_or(0, |(_, n)| *n)
}

#[tokio::test]
async fn a_freed_seat_is_held_for_the_first_in_line_taken_let_go_or_expired_to_the_next() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let office = app.service.settings.procedure.office(OFFICE).unwrap();
        let capacity = office.capacity_on(day()) as usize;
        let mut booked = Vec::new();
        for i in 0..capacity {
            booked.push(applicant(&app, i, Some(i)).await);
        }
        let ana = applicant(&app, 1000, None).await;
        let beto = applicant(&app, 1001, None).await;
        let caro = applicant(&app, 1002, None).await;
        // Beto waits only until the day before: the seat is no use to him.
        join(&app, &beto, day() - Duration::days(1)).await;
        join(&app, &ana, day() + Duration::days(7)).await;
        join(&app, &caro, day() + Duration::days(7)).await;

        // A cancellation frees a seat: the offer job runs and holds it for Ana.
        app.turn(&booked[0].user, "cancelar mi cita").await;
        app.turn(&booked[0].user, "s\u{ed}").await;
        assert_eq!(scheduler::run_due(&app.service).await.unwrap().done, 1);
        assert!(matches!(app.state(&ana.user).await, State::Offered(_)));
        let offer = app.outbox(&ana.user).await.pop().unwrap().1;
        assert_eq!(offer.template, "waitlist_offer");
        assert!(offer.text.contains("10:30"), "{}", offer.text);
        let (taken, statuses) = seats(&app).await;
        assert_eq!(taken as usize, capacity, "the hold counts: {backend:?}");
        assert_eq!(count(&statuses, "held"), 1);
        assert!(templates(&app, &beto.user).await.is_empty());
        // Ana lets it go: held for Caro at once.
        app.turn(&ana.user, "No, d\u{e9}jalo para otra persona")
            .await;
        assert!(matches!(app.state(&ana.user).await, State::Tracking(_)));
        scheduler::run_due(&app.service).await.unwrap();
        assert!(matches!(app.state(&caro.user).await, State::Offered(_)));
        // Caro does not answer: 30 minutes later the hold expires, she is told, and the seat
        // goes back to the calendar (nobody else waits for it).
        let later = at(&app, app.service.clock.now() + Duration::minutes(31));
        assert_eq!(scheduler::run_due(&later).await.unwrap().done, 1);
        assert_eq!(
            templates(&app, &caro.user).await,
            ["waitlist_offer", "offer_expired"]
        );
        let (taken, statuses) = seats(&app).await;
        assert_eq!(taken as usize, capacity - 1, "{statuses:?}");
        assert_eq!(count(&statuses, "held"), 0);
        // Answering after the expiry: the seat is gone, said plainly.
        app.turn(&caro.user, "Quiero ese lugar").await;
        assert!(matches!(app.state(&caro.user).await, State::Tracking(_)));
        let expired = places(&app, "expired").await;
        let declined = places(&app, "declined").await;
        assert_eq!(expired.len(), 1);
        assert_eq!(declined.len(), 1);
        assert_eq!(declined[0].application_id, ana.application_id);

        // Ana joins again and another seat frees: she takes it, and the seat she took is hers.
        join(&app, &ana, day() + Duration::days(7)).await;
        app.turn(&booked[1].user, "cancelar mi cita").await;
        app.turn(&booked[1].user, "s\u{ed}").await;
        scheduler::run_due(&app.service).await.unwrap();
        app.turn(&ana.user, "Quiero ese lugar").await;
        let last = templates(&app, &ana.user).await;
        assert_eq!(last[last.len() - 2..], ["booked", "status"], "{backend:?}");
        let mut reader = app.service.db.reader().await.unwrap();
        let view = store::applications::view(&mut reader.conn(), ana.application_id)
            .await
            .unwrap()
            .unwrap();
        drop(reader);
        assert_eq!(view.appointment.map(|a| a.day), Some(day()));
        assert_eq!(view.status, Status::Scheduled);
        assert_eq!(places(&app, "accepted").await.len(), 1);
        // Her new appointment has its reminders; the hold's expiry is gone.
        let id = {
            let mut reader = app.service.db.reader().await.unwrap();
            store::applications::view(&mut reader.conn(), ana.application_id)
                .await
                .unwrap()
                .unwrap()
                .appointment
                .unwrap()
                .id
        };
        let mut reader = app.service.db.reader().await.unwrap();
        let jobs = store::jobs::for_appointment(&mut reader.conn(), id)
            .await
            .unwrap();
        let pending: Vec<&str> = jobs
            .iter()
            .filter(|j| j.status == "pending")
            .map(|j| j.kind.as_str())
            .collect();
        assert_eq!(
            pending,
            ["reminder_day_before", "reminder_same_day", "no_show_check"]
        );
    }
}

#[tokio::test]
async fn two_hundred_waiting_and_fifty_seats_freed_concurrently_end_in_fifty_accepted_offers() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let office = app.service.settings.procedure.office(OFFICE).unwrap();
        let capacity = office.capacity_on(day()) as usize;
        let mut booked = Vec::new();
        for i in 0..capacity {
            booked.push(applicant(&app, i, Some(i)).await);
        }
        let mut waiting = Vec::new();
        for i in 0..200 {
            let who = applicant(&app, 1000 + i, None).await;
            join(&app, &who, day() + Duration::days(7)).await;
            waiting.push(who);
        }
        let user_of = |application_id: i64| {
            waiting
                .iter()
                .find(|w| w.application_id == application_id)
                .map(|w| w.user.clone())
                .unwrap()
        };
        let now = app.service.clock.now();
        // Every booked applicant cancels at once; meanwhile the scheduler runs, offers are
        // accepted as they arrive, and a second runner half an hour ahead expires the holds
        // not yet accepted (racing the acceptances).
        let cancellations = join_all(booked.iter().map(|b| async {
            app.turn(&b.user, "cancelar mi cita").await;
            app.turn(&b.user, "s\u{ed}").await;
        }));
        let offers_and_answers = async {
            for round in 0..5000 {
                let service = if round % 7 == 6 {
                    at(&app, now + Duration::minutes(31))
                } else {
                    app.service.clone()
                };
                scheduler::run_due(&service).await.unwrap();
                let offered = places(&app, "offered").await;
                join_all(offered.iter().map(|place| {
                    let user = user_of(place.application_id);
                    let app = &app;
                    async move {
                        app.turn(&user, "Quiero ese lugar").await;
                    }
                }))
                .await;
                if places(&app, "accepted").await.len() == capacity {
                    break;
                }
                tokio::task::yield_now().await;
            }
        };
        tokio::join!(cancellations, offers_and_answers);

        let accepted = places(&app, "accepted").await;
        assert_eq!(accepted.len(), capacity, "{backend:?}");
        assert!(places(&app, "offered").await.is_empty());
        let (taken, statuses) = seats(&app).await;
        assert_eq!(
            count(&statuses, "active") as usize,
            capacity,
            "{statuses:?}"
        );
        assert_eq!(count(&statuses, "held"), 0, "{statuses:?}");
        assert_eq!(taken as usize, capacity, "counters match the appointments");
        // Every slot's counter matches its appointments and stays within its capacity.
        let mut reader = app.service.db.reader().await.unwrap();
        let availability = store::appointments::availability(&mut reader.conn(), day(), day())
            .await
            .unwrap();
        drop(reader);
        let mut per_slot = std::collections::BTreeMap::new();
        for who in &waiting {
            let mut reader = app.service.db.reader().await.unwrap();
            let view = store::applications::view(&mut reader.conn(), who.application_id)
                .await
                .unwrap()
                .unwrap();
            if let Some(appointment) = view.appointment {
                assert_eq!(appointment.day, day());
                *per_slot.entry(appointment.slot).or_insert(0u32) += 1;
            }
        }
        assert_eq!(per_slot.values().sum::<u32>() as usize, capacity);
        for (slot, count) in &per_slot {
            assert_eq!(availability.slot_taken(OFFICE, day(), *slot), *count);
            assert!(*count <= office.slot_capacity_on(day()));
        }
        // Each accepted applicant was told once that the seat is theirs.
        for place in &accepted {
            let told = templates(&app, &user_of(place.application_id)).await;
            assert_eq!(
                told.iter().filter(|t| *t == "booked").count(),
                1,
                "{told:?}"
            );
        }
    }
}

#[tokio::test]
async fn more_seats_from_new_hours_or_a_days_own_capacity_are_offered_to_whoever_waits() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let office = app
            .service
            .settings
            .procedure
            .office(OFFICE)
            .unwrap()
            .clone();
        let capacity = office.capacity_on(day()) as usize;
        for i in 0..capacity {
            applicant(&app, i, Some(i)).await;
        }
        let ana = applicant(&app, 1000, None).await;
        let beto = applicant(&app, 1001, None).await;
        join(&app, &ana, day()).await;
        join(&app, &beto, day()).await;
        // Nothing is free: no offer.
        scheduler::run_due(&app.service).await.unwrap();
        assert!(places(&app, "offered").await.is_empty());
        // The office opens one more seat on that day: Ana is offered it.
        let more = Some(capacity as u32 + 1);
        ventanilla::staff::calendar::set_day_capacity(&app.service, None, OFFICE, day(), more)
            .await
            .unwrap()
            .unwrap();
        scheduler::run_due(&app.service).await.unwrap();
        let offered = places(&app, "offered").await;
        assert_eq!(offered.len(), 1, "{backend:?}");
        assert_eq!(offered[0].application_id, ana.application_id);
        // Its daily capacity raised for good: Beto is offered one too.
        let mut hours = office.hours();
        hours.daily_capacity += 10;
        ventanilla::staff::calendar::set_day_capacity(&app.service, None, OFFICE, day(), None)
            .await
            .unwrap()
            .unwrap();
        ventanilla::staff::calendar::set_hours(&app.service, None, OFFICE, &hours)
            .await
            .unwrap()
            .unwrap();
        scheduler::run_due(&app.service).await.unwrap();
        let offered = places(&app, "offered").await;
        assert_eq!(offered.len(), 2, "{backend:?}");
        assert_eq!(offered[1].application_id, beto.application_id);
        // His seat is the first one free up to his day (the new hours opened them all).
        let mut reader = app.service.db.reader().await.unwrap();
        let hold = store::appointments::held_of(&mut reader.conn(), beto.application_id)
            .await
            .unwrap()
            .expect("a seat held for Beto");
        let hold = store::appointments::get(&mut reader.conn(), hold)
            .await
            .unwrap()
            .unwrap();
        assert!(hold.day <= day(), "{:?}", hold.day);
        let taken = store::appointments::day_taken(&mut reader.conn(), OFFICE, hold.day)
            .await
            .unwrap();
        assert!(taken as u32 <= hours.daily_capacity);
    }
}
