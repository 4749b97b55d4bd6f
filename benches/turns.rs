//! Durable turns per second on SQLite with 1,000 concurrent simulated applicants, next to the
//! rate of a bare durable one-row insert transaction on the same database, in one run.
//!
//! `cargo bench --bench turns` (set `BENCH_APPLICANTS` to change the number of applicants).
//! Each applicant goes through the whole journey, from the greeting to a booked appointment,
//! typed the way people type; every turn is a committed transaction with the same SQLite
//! settings as the service (WAL, synchronous = NORMAL, one writer).

#[path = "../tests/support/answers.rs"]
mod answers;

use std::sync::Arc;
use std::time::Instant;

use ventanilla::config::Settings;
use ventanilla::conversation::Input;
use ventanilla::service::{Address, Inbound, Service, TurnResult, UserName};
use ventanilla::store::{Db, Tx};

fn journey(i: usize) -> Vec<String> {
    answers::whole_journey(&format!("B{i:09}"), i % 12 + 1)
}

async fn turns(service: Arc<Service>, applicants: usize) -> (usize, f64) {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..applicants {
        let service = service.clone();
        tasks.spawn(async move {
            let mut done = 0;
            for (n, text) in journey(i).into_iter().enumerate() {
                let address = Address::Terminal(UserName(format!("applicant-{i}")));
                let inbound = Inbound::new(address, format!("{i}-{n}"), Input::Text(text));
                match service.handle(&inbound).await.expect("turn") {
                    TurnResult::Processed { .. } => done += 1,
                    TurnResult::Duplicate => panic!("unexpected duplicate"),
                }
            }
            done
        });
    }
    let mut total = 0;
    while let Some(done) = tasks.join_next().await {
        total += done.expect("applicant task");
    }
    (total, started.elapsed().as_secs_f64())
}

async fn bare_inserts(db: Db, tasks_count: usize, per_task: usize) -> (usize, f64) {
    {
        let mut tx = db.begin().await.unwrap();
        if let Tx::Sqlite(tx) = &mut tx {
            sqlx::query("CREATE TABLE IF NOT EXISTS bench_rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
                .execute(&mut **tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..tasks_count {
        let db = db.clone();
        tasks.spawn(async move {
            for n in 0..per_task {
                let mut tx = db.begin().await.unwrap();
                if let Tx::Sqlite(tx) = &mut tx {
                    sqlx::query("INSERT INTO bench_rows (body) VALUES ($1)")
                        .bind(format!("{t}-{n}"))
                        .execute(&mut **tx)
                        .await
                        .unwrap();
                }
                tx.commit().await.unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    (tasks_count * per_task, started.elapsed().as_secs_f64())
}

fn main() {
    let applicants: usize = std::env::var("BENCH_APPLICANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        // A capacity large enough that every applicant books on the first day offered.
        let config = dir.path().join("bench.toml");
        std::fs::write(&config, "[[offices]]\nid = \"bench\"\nname = \"Oficina\"\naddress = \"Calle 1\"\ntime_zone = \"America/Mexico_City\"\nopens_at = \"09:00:00\"\ncloses_at = \"15:00:00\"\nslot_minutes = 30\ndaily_capacity = 100000\n").unwrap();
        let env: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), url.clone()),
            ("VENTANILLA_NOW".into(), "2026-11-30T10:00:00-06:00".into()),
            ("VENTANILLA_CONFIG".into(), config.display().to_string()),
        ];
        let settings = Settings::from_env(&env).expect("settings");
        let db = Db::connect(&url).await.expect("connect");
        db.migrate().await.expect("migrate");
        let service = Arc::new(Service::new(db.clone(), Arc::new(settings)));

        let (turn_count, turn_secs) = turns(service.clone(), applicants).await;
        let phases = &service.metrics.phases;
        let turn_rate = turn_count as f64 / turn_secs;
        let per_task = (turn_count / applicants).max(1);
        let (insert_count, insert_secs) = bare_inserts(db.clone(), applicants, per_task).await;
        let insert_rate = insert_count as f64 / insert_secs;

        println!("SQLite (WAL, synchronous=NORMAL), {applicants} concurrent applicants");
        println!("durable turns:        {turn_count} in {turn_secs:.2} s = {turn_rate:.0} turns/s");
        println!("bare one-row inserts: {insert_count} in {insert_secs:.2} s = {insert_rate:.0} transactions/s");
        println!("a turn costs {:.2} bare insert transactions", insert_rate / turn_rate);
        // Time inside each phase, per committed turn (turns overlap: the sum exceeds the wall
        // time per turn).
        let per_turn = |total: &std::sync::atomic::AtomicU64| {
            total.load(std::sync::atomic::Ordering::Relaxed) as f64 / turn_count as f64 / 1000.0
        };
        println!(
            "per turn: read {:.0} µs, step {:.0} µs, render {:.0} µs, waiting for the writer \
             {:.0} µs, writing {:.0} µs, commit {:.0} µs",
            per_turn(&phases.read),
            per_turn(&phases.step),
            per_turn(&phases.render),
            per_turn(&phases.lock),
            per_turn(&phases.write),
            per_turn(&phases.commit),
        );
        db.close().await;
    });
}
