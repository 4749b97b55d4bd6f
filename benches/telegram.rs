//! Updates per second through the whole Telegram path (long polling → turn → outbox → worker →
//! sendMessage) against the fake Bot API server of the tests, next to a plain teloxide echo bot
//! against the same fake server, in one run.
//!
//! `cargo bench --bench telegram` (`BENCH_UPDATES` sets how many updates, default 2,000, each
//! from a different chat: a first "hola", answered with two messages by Ventanilla and with one
//! echo by the echo bot). Telegram's own rate limits are lifted on both sides: this measures
//! the software, not the limits.
//!
//! A second run of Ventanilla times its two halves apart: the turns alone (poll → turn →
//! replies queued in the outbox, no worker running), then the delivery alone (the worker
//! started on the queue the turns left: claim → sendMessage ×2 → marked sent). The delivery
//! alone, next to the echo bot, is the ceiling of the whole path on this machine: the whole
//! path sends what the delivery sends and runs the turns besides.
//!
//! Each figure comes with the processor time the process spent per update (every thread, the
//! fake server's included): on this machine the path is bound by the processor, so that is
//! where a gain must come from. `BENCH_ONLY=whole|halves|echo` runs one of the three (to
//! profile it alone); the ratios are printed only when all three ran.

#[path = "../tests/support/telegram.rs"]
mod fake;

use std::sync::Arc;
use std::time::{Duration, Instant};

use teloxide::prelude::*;
use ventanilla::channels::telegram::{Limits, Receiver, TelegramSender, bot};
use ventanilla::config::Settings;
use ventanilla::delivery::{RetryPolicy, Sender, Worker};
use ventanilla::service::{Clock, Service};
use ventanilla::store::Db;

async fn wait_until(fake: &fake::FakeBotApi, delivered: usize) {
    while fake.delivered() < delivered {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until the turns have queued `messages` replies (no worker is delivering them).
async fn wait_until_queued(db: &Db, messages: usize) {
    loop {
        let mut reader = db.reader().await.unwrap();
        let queued = ventanilla::store::outbox::depth(&mut reader.conn())
            .await
            .unwrap();
        if queued as usize >= messages {
            return;
        }
        drop(reader);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The processor time this process has used so far (user and system, every thread): the
/// fake Bot API server runs in it too, as it would beside the bot on one machine.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// What one measured stretch of a run did: updates per second, and the processor time it
/// took per update (µs), every thread of the process counted.
#[derive(Clone, Copy)]
struct Rate {
    per_second: f64,
    cpu_us: f64,
}

/// The wall clock and the processor time at the start of a measured stretch.
struct Stopwatch {
    wall: Instant,
    cpu: Duration,
}

impl Stopwatch {
    fn start() -> Stopwatch {
        Stopwatch {
            wall: Instant::now(),
            cpu: cpu_time(),
        }
    }

    /// The rate of `updates` handled since the start.
    fn rate(&self, updates: usize) -> Rate {
        let cpu = (cpu_time() - self.cpu).as_secs_f64();
        Rate {
            per_second: updates as f64 / self.wall.elapsed().as_secs_f64(),
            cpu_us: cpu * 1e6 / updates as f64,
        }
    }
}

/// The rates of one run of Ventanilla's path.
enum Rates {
    /// The whole path at once.
    Whole(Rate),
    /// Its turns alone, then its delivery alone.
    Halves { turns: Rate, delivery: Rate },
}

async fn ventanilla_rate(updates: usize, halves: bool) -> Rates {
    let fake = fake::FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let settings = Settings::from_env(&vec![("DATABASE_URL".to_string(), url.clone())]).unwrap();
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let service = Service::new(db.clone(), Arc::new(settings));
    let bot = bot(fake::TOKEN, Some(&fake.url)).unwrap();
    let unlimited = Limits::unlimited();
    let sender: Vec<Arc<dyn Sender>> = vec![Arc::new(TelegramSender::new(
        bot.clone(),
        service.templates.clone(),
        unlimited,
        ventanilla::documents::Documents::new(
            db.clone(),
            service.templates.clone(),
            &service.settings,
        ),
    ))];
    // As `serve` runs it: the default idle poll, woken when a turn commits its replies
    // (`BENCH_POLL_MS` polls every that many milliseconds instead, without the wake).
    let worker = Worker::new(db.clone(), sender, Clock::System, RetryPolicy::default());
    let worker = match std::env::var("BENCH_POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(ms) => worker.idle(Duration::from_millis(ms)),
        None => worker.woken_by(service.outbox_ready.clone()),
    };
    let (_keep, stop) = tokio::sync::watch::channel(false);
    std::mem::forget(_keep);
    if !halves {
        tokio::spawn(worker.clone().run_many(8, stop.clone()));
    }
    let receiver = Receiver { bot, service };
    tokio::spawn(receiver.poll(std::future::pending()));

    let started = Stopwatch::start();
    for chat in 0..updates {
        fake.text(1_000_000 + chat as i64, "hola");
    }
    if !halves {
        wait_until(&fake, updates * 2).await;
        return Rates::Whole(started.rate(updates));
    }
    wait_until_queued(&db, updates * 2).await;
    let turns = started.rate(updates);
    let started = Stopwatch::start();
    tokio::spawn(worker.run_many(8, stop));
    wait_until(&fake, updates * 2).await;
    let delivery = started.rate(updates);
    Rates::Halves { turns, delivery }
}

async fn echo_rate(updates: usize) -> Rate {
    let fake = fake::FakeBotApi::start().await;
    let bot = bot(fake::TOKEN, Some(&fake.url)).unwrap();
    let echo = tokio::spawn(async move {
        let handler = Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
            bot.send_message(msg.chat.id, msg.text().unwrap_or_default())
                .await?;
            respond(())
        });
        Dispatcher::builder(bot, handler).build().dispatch().await;
    });

    let started = Stopwatch::start();
    for chat in 0..updates {
        fake.text(2_000_000 + chat as i64, "hola");
    }
    wait_until(&fake, updates).await;
    let rate = started.rate(updates);
    echo.abort();
    rate
}

fn main() {
    let updates: usize = std::env::var("BENCH_UPDATES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let only = std::env::var("BENCH_ONLY").ok();
    let runs = |name: &str| only.as_deref().is_none_or(|only| only == name);
    runtime.block_on(async {
        let ours = if runs("whole") {
            match ventanilla_rate(updates, false).await {
                Rates::Whole(rate) => Some(rate),
                Rates::Halves { .. } => unreachable!("a whole run"),
            }
        } else {
            None
        };
        let halves = if runs("halves") {
            match ventanilla_rate(updates, true).await {
                Rates::Halves { turns, delivery } => Some((turns, delivery)),
                Rates::Whole(_) => unreachable!("a run in halves"),
            }
        } else {
            None
        };
        let echo = if runs("echo") {
            Some(echo_rate(updates).await)
        } else {
            None
        };
        println!(
            "Telegram path against the fake Bot API server, {updates} updates from {updates} chats"
        );
        println!("(processor time per update: every thread of the process, the fake server's too)");
        let line = |name: &str, rate: Rate| {
            println!(
                "{name:<51} {:>6.0} updates/s, {:>4.0} µs of processor per update",
                rate.per_second, rate.cpu_us
            )
        };
        if let Some(ours) = ours {
            line("ventanilla (poll → turn → outbox → sendMessage ×2):", ours);
        }
        if let Some((turns, delivery)) = halves {
            line("  its turns alone (poll → turn → outbox):", turns);
            line("  its delivery alone (outbox → sendMessage ×2):", delivery);
        }
        if let Some(echo) = echo {
            line("plain teloxide echo bot (poll → sendMessage ×1):", echo);
        }
        if let (Some(ours), Some((_, delivery)), Some(echo)) = (ours, halves, echo) {
            println!(
                "ventanilla / echo: {:.2}× (the delivery alone: {:.2}×, the ceiling of the whole path)",
                ours.per_second / echo.per_second,
                delivery.per_second / echo.per_second
            );
        }
    });
}
