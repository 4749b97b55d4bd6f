//! The console's agenda page of one day with 500 appointments: server time per render (the
//! session check, the day's query, the template), through the service's own router, on SQLite.
//! `cargo bench --bench console` (set `BENCH_APPOINTMENTS`, `BENCH_RENDERS`).

#[path = "../tests/support/seed.rs"]
mod seed;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::NaiveDate;
use tower::ServiceExt;
use ventanilla::config::Settings;
use ventanilla::domain::application::Status;
use ventanilla::domain::staff::Role;
use ventanilla::http::{AppState, router};
use ventanilla::service::Service;
use ventanilla::staff::accounts::{self, Login};
use ventanilla::store::appointments::{Booking, SeatRequest};
use ventanilla::store::{self, Db};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let appointments = env_number("BENCH_APPOINTMENTS", 500);
    let renders = env_number("BENCH_RENDERS", 200);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(run(appointments, renders));
}

async fn run(appointments: usize, renders: usize) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ventanilla.toml");
    // Room for the day: 12 slots of 30 minutes.
    let capacity = appointments.max(1);
    std::fs::write(
        &config,
        format!(
            "[[offices]]\nid = \"dgp-cdmx\"\nname = \"DGP\"\naddress = \"Viaducto 551\"\n\
             time_zone = \"America/Mexico_City\"\nopens_at = \"09:00:00\"\n\
             closes_at = \"15:00:00\"\nslot_minutes = 30\ndaily_capacity = {capacity}\n"
        ),
    )
    .unwrap();
    let database = format!("sqlite://{}", dir.path().join("db").display());
    let settings = Settings::from_env(&[
        ("DATABASE_URL", database.as_str()),
        ("VENTANILLA_DATA_DIR", dir.path().to_str().unwrap()),
        ("VENTANILLA_CONFIG", config.to_str().unwrap()),
        ("VENTANILLA_NOW", "2026-12-03T08:00:00-06:00"),
    ])
    .unwrap();
    let db = Db::connect(&settings.database_url).await.unwrap();
    db.migrate().await.unwrap();
    let service = Service::new(db.clone(), Arc::new(settings));
    let day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
    let office = service.settings.procedure.offices[0].clone();
    let slots = office.slots();
    let started = Instant::now();
    let now = service.clock.now();
    let mut tx = db.begin().await.unwrap();
    for i in 0..appointments {
        let application_id = seed::submitted(&mut tx.conn(), &service.settings.procedure, i, now)
            .await
            .application_id;
        let seat = SeatRequest {
            application_id,
            office_id: &office.id,
            day,
            slot: slots[i % slots.len()],
            day_capacity: office.daily_capacity,
            slot_capacity: office.slot_capacity(),
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
    println!(
        "{appointments} appointments on {day} written in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    accounts::add_user(
        &service,
        None,
        "ana",
        Role::Clerk,
        None,
        Some("una clave de prueba larga"),
    )
    .await
    .unwrap()
    .unwrap();
    let Login::Opened(session) =
        accounts::login(&service, "ana", "una clave de prueba larga", "127.0.0.1")
            .await
            .unwrap()
    else {
        panic!("login");
    };
    let app = router(AppState {
        service: service.clone(),
        delivery: Arc::default(),
        telegram_webhook: None,
    });
    let cookie = format!("ventanilla_sesion={}", session.token);
    let render = || async {
        let request = Request::get("/oficina/agenda?fecha=2026-12-03&oficina=dgp-cdmx")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), 16 << 20)
            .await
            .unwrap();
        body.len()
    };
    let size = render().await;
    let mut times = Vec::with_capacity(renders);
    for _ in 0..renders {
        let started = Instant::now();
        render().await;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "agenda page, {appointments} appointments ({} KiB): {renders} renders, mean {mean:.2} ms, \
         p50 {:.2} ms, p99 {:.2} ms per render",
        size / 1024,
        at(0.5),
        at(0.99),
    );
}
