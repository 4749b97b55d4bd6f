//! The outbox's lanes under load: how long an applicant who writes waits for the answer
//! (update → turn → outbox → sendMessage, first message delivered), with the outbox empty and
//! with 10,000 reminders queued in the scheduled lane, against the fake Bot API server with
//! Telegram's real rate limits on (30 messages/s overall, 1/s per chat).
//!
//! `cargo bench --bench lanes` (`BENCH_QUEUED` sets the reminders queued, default 10,000;
//! `BENCH_PROBES` the applicants who write, one every 200 ms, default 50).

#[path = "../tests/support/telegram.rs"]
mod fake;
#[path = "../tests/support/seed.rs"]
mod seed;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ventanilla::channels::telegram::{Limits, Receiver, TelegramSender, bot};
use ventanilla::config::Settings;
use ventanilla::delivery::{RetryPolicy, Sender, Worker};
use ventanilla::service::{Clock, Service};
use ventanilla::store::Db;

struct Run {
    latencies: Vec<Duration>,
    reminders_sent: usize,
}

async fn run(queued: usize, probes: usize) -> Run {
    let fake = fake::FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let settings = Settings::from_env(&vec![("DATABASE_URL".to_string(), url.clone())]).unwrap();
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let service = Service::new(db.clone(), Arc::new(settings));

    seed::reminders(&service, queued).await;

    let bot = bot(fake::TOKEN, Some(&fake.url)).unwrap();
    let sender: Vec<Arc<dyn Sender>> = vec![Arc::new(TelegramSender::new(
        bot.clone(),
        service.templates.clone(),
        Limits::default(),
        ventanilla::documents::Documents::new(
            db.clone(),
            service.templates.clone(),
            &service.settings,
        ),
    ))];
    // As `serve` runs it: the default idle poll, woken when a turn commits its replies
    // (`BENCH_POLL_MS` polls every that many milliseconds instead, without the wake).
    let worker = Worker::new(db, sender, Clock::System, RetryPolicy::default());
    let worker = match std::env::var("BENCH_POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(ms) => worker.idle(Duration::from_millis(ms)),
        None => worker.woken_by(service.outbox_ready.clone()),
    };
    let (_keep, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(worker.run_many(8, stop));
    std::mem::forget(_keep);
    let receiver = Receiver { bot, service };
    tokio::spawn(receiver.poll(std::future::pending()));
    // Let the reminders flow at the overall limit before the first applicant writes.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut latencies = Vec::with_capacity(probes);
    for probe in 0..probes {
        let chat = 9_000_000 + probe as i64;
        let started = Instant::now();
        fake.text(chat, "hola");
        while fake.sent_to(chat).is_empty() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        latencies.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let probe_messages = (0..probes)
        .map(|p| fake.sent_to(9_000_000 + p as i64).len())
        .sum::<usize>();
    Run {
        latencies,
        reminders_sent: fake.delivered().saturating_sub(probe_messages),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn main() {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (queued, probes) = (env("BENCH_QUEUED", 10_000), env("BENCH_PROBES", 50));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!("interactive reply latency, Telegram's limits on, {probes} applicants writing");
        for queued in [0, queued] {
            let mut run = run(queued, probes).await;
            run.latencies.sort();
            println!(
                "{queued:>6} reminders queued: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} reminders sent meanwhile)",
                percentile(&run.latencies, 0.50),
                percentile(&run.latencies, 0.99),
                percentile(&run.latencies, 1.0),
                run.reminders_sent,
            );
        }
    });
}
