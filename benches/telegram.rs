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

/// The rates (updates/s) of one run of Ventanilla's path.
enum Rates {
    /// The whole path at once.
    Whole(f64),
    /// Its turns alone, then its delivery alone.
    Halves { turns: f64, delivery: f64 },
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

    let started = Instant::now();
    for chat in 0..updates {
        fake.text(1_000_000 + chat as i64, "hola");
    }
    if !halves {
        wait_until(&fake, updates * 2).await;
        return Rates::Whole(updates as f64 / started.elapsed().as_secs_f64());
    }
    wait_until_queued(&db, updates * 2).await;
    let turns = updates as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    tokio::spawn(worker.run_many(8, stop));
    wait_until(&fake, updates * 2).await;
    let delivery = updates as f64 / started.elapsed().as_secs_f64();
    Rates::Halves { turns, delivery }
}

async fn echo_rate(updates: usize) -> f64 {
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

    let started = Instant::now();
    for chat in 0..updates {
        fake.text(2_000_000 + chat as i64, "hola");
    }
    wait_until(&fake, updates).await;
    let rate = updates as f64 / started.elapsed().as_secs_f64();
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
    runtime.block_on(async {
        let Rates::Whole(ours) = ventanilla_rate(updates, false).await else {
            unreachable!("a whole run")
        };
        let Rates::Halves { turns, delivery } = ventanilla_rate(updates, true).await else {
            unreachable!("a run in halves")
        };
        let echo = echo_rate(updates).await;
        println!(
            "Telegram path against the fake Bot API server, {updates} updates from {updates} chats"
        );
        println!("ventanilla (poll → turn → outbox → sendMessage ×2): {ours:.0} updates/s");
        println!("  its turns alone (poll → turn → outbox):           {turns:.0} updates/s");
        println!("  its delivery alone (outbox → sendMessage ×2):     {delivery:.0} updates/s");
        println!("plain teloxide echo bot (poll → sendMessage ×1):    {echo:.0} updates/s");
        println!(
            "ventanilla / echo: {:.2}× (the delivery alone: {:.2}×, the ceiling of the whole path)",
            ours / echo,
            delivery / echo
        );
    });
}
