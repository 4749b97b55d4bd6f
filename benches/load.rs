//! A closed-loop load on `ventanilla serve` itself (the binary, as a child process, as it runs
//! in an office): N simulated applicants each replay a whole journey over Telegram (from "hola"
//! to a booked appointment, 21 answers) against the fake Bot API of the tests, which enforces
//! Telegram's rate limits (about 1 message/s per chat with a burst of 3, 30/s overall) by
//! answering 429 as Telegram does. Each applicant writes its next answer three seconds (the time
//! to read and type; the chat's burst is back by then) after the whole answer to the previous
//! one arrived. Printed per run: the answer latency (from the update to the first message of
//! its answer) p50/p99, journeys per minute, 429s received, and the resident memory of `serve`
//! idle and under the load, with 100,000 applications already in the database. Runs: SQLite; SQLite with 10,000 reminders queued before the applicants write (to
//! show that their answers keep priority); PostgreSQL when `TEST_DATABASE_URL` is set.
//!
//! `cargo bench --bench load`. `BENCH_APPLICANTS` (default 1,000), `BENCH_APPLICATIONS` in the
//! database (default 100,000), `BENCH_QUEUED` reminders (default 10,000), `BENCH_THINK_MS`
//! between answers (default 3,000), `BENCH_TURNS` (only the first answers of the journey; CI's
//! smoke run), `BENCH_BACKENDS` (`sqlite,postgres`). At Telegram's 30 messages/s a journey of about 50
//! messages bounds the rate at about 36 journeys a minute, whatever the software does: the run
//! prints that ceiling beside the figure.

#[path = "../tests/support/answers.rs"]
mod answers;
#[path = "../tests/support/telegram.rs"]
mod fake;
#[path = "../tests/support/seed.rs"]
mod seed;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use ventanilla::config::Settings;
use ventanilla::service::Service;
use ventanilla::store::Db;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone)]
struct Load {
    applicants: usize,
    applications: usize,
    think: Duration,
    turns: usize,
}

/// The answers of applicant `i`: the journey to the review, sent, the office, the first day
/// offered and a time of the day spread over its slots.
fn journey(i: usize, turns: usize) -> Vec<String> {
    let mut answers = answers::whole_journey(&format!("J{i:09}"), i % 12 + 1);
    answers.truncate(turns);
    answers
}

/// One office with room for the whole crowd on its first day.
const OFFICE: &str = "[[offices]]\nid = \"dgp-cdmx\"\nname = \"DGP\"\naddress = \"Viaducto 551\"\n\
    time_zone = \"America/Mexico_City\"\nopens_at = \"09:00:00\"\ncloses_at = \"15:00:00\"\n\
    slot_minutes = 30\ndaily_capacity = 2000\n";

#[derive(Clone, Copy, PartialEq, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database of `backend`, migrated.
async fn database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("load.db").display()),
        Backend::Postgres => {
            use sqlx::Connection;
            let admin_url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
            let name = format!("load_{}_{}", std::process::id(), rand_suffix());
            let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .unwrap();
            let (base, _) = admin_url.rsplit_once('/').unwrap();
            format!("{base}/{name}")
        }
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        % 1_000_000_007
}

/// Writes `applications` submitted applications and `queued` reminders (one per chat, in the
/// scheduled lane) before `serve` starts.
async fn seed_database(settings: &Arc<Settings>, applications: usize, queued: usize) {
    let db = Db::connect(&settings.database_url).await.unwrap();
    db.migrate().await.unwrap();
    let service = Service::new(db.clone(), settings.clone());
    let now = service.clock.now();
    let procedure = &settings.procedure;
    for chunk in (0..applications).collect::<Vec<_>>().chunks(2_000) {
        let mut tx = db.begin().await.unwrap();
        for i in chunk {
            seed::submitted(&mut tx.conn(), procedure, *i, now).await;
        }
        tx.commit().await.unwrap();
    }
    seed::reminders(&service, queued).await;
    db.close().await;
}

/// `ventanilla serve`, as a child process: HTTP on `port`, Telegram through the fake.
struct Serve {
    child: tokio::process::Child,
    port: u16,
}

impl Serve {
    async fn start(dir: &std::path::Path, database_url: &str, fake: &fake::FakeBotApi) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.join("serve.log")).unwrap();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ventanilla"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("VENTANILLA_DATA_DIR", dir)
            .env("VENTANILLA_CONFIG", dir.join("ventanilla.toml"))
            .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env("TELEGRAM_BOT_TOKEN", fake::TOKEN)
            .env("TELEGRAM_API_URL", &fake.url)
            .env("RUST_LOG", "warn")
            .env_remove("SMTP_URL")
            .env_remove("IMAP_URL")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("ventanilla serve starts");
        let serve = Serve { child, port };
        for _ in 0..600 {
            if serve.healthy().await {
                return serve;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "serve did not answer /healthz: {}",
            std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default()
        );
    }

    async fn healthy(&self) -> bool {
        let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        let request = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        if stream.write_all(request.as_bytes()).await.is_err() {
            return false;
        }
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response).await;
        response.starts_with("HTTP/1.1 200")
    }

    /// Resident memory and its peak so far, in MiB.
    fn memory(&self) -> (f64, f64) {
        memory_of(self.child.id().expect("serve runs"))
    }
}

/// Resident memory of process `pid` and its peak so far, in MiB (`/proc/PID/status`).
fn memory_of(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// How many messages each answer of the journey brings, learnt from one applicant alone: the
/// answer is complete when nothing more arrived for two seconds.
async fn calibrate(fake: &fake::FakeBotApi, answers: &[String]) -> Vec<usize> {
    let chat = 999_999;
    let mut counts = Vec::new();
    for answer in answers {
        let before = fake.messages_to(chat);
        fake.text(chat, answer);
        fake.wait_messages(chat, before + 1).await;
        let mut seen = fake.messages_to(chat);
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let now = fake.messages_to(chat);
            if now == seen {
                break;
            }
            seen = now;
        }
        counts.push(seen - before);
    }
    counts
}

/// What one applicant saw: the latency of each answer, and whether the journey ended.
struct Journey {
    latencies: Vec<Duration>,
    finished: bool,
}

/// The longest an applicant waits for one answer before the run gives up on it.
const GIVE_UP: Duration = Duration::from_secs(1800);

async fn applicant(
    fake: fake::FakeBotApi,
    chat: i64,
    answers: Vec<String>,
    counts: Arc<Vec<usize>>,
    think: Duration,
) -> Journey {
    let mut latencies = Vec::with_capacity(answers.len());
    let mut expected = 0;
    for (answer, count) in answers.iter().zip(counts.iter()) {
        let started = Instant::now();
        fake.text(chat, answer);
        let first = tokio::time::timeout(GIVE_UP, fake.wait_messages(chat, expected + 1)).await;
        latencies.push(started.elapsed());
        expected += count;
        let whole = tokio::time::timeout(GIVE_UP, fake.wait_messages(chat, expected)).await;
        if first.is_err() || whole.is_err() {
            return Journey {
                latencies,
                finished: false,
            };
        }
        tokio::time::sleep(think).await;
    }
    Journey {
        latencies,
        finished: true,
    }
}

struct Figures {
    latencies: Vec<Duration>,
    finished: usize,
    elapsed: Duration,
    messages: usize,
    over_limit: usize,
    idle_mib: f64,
    load_mib: f64,
    peak_mib: f64,
    reminders_sent: usize,
}

async fn run(
    backend: Backend,
    load: &Load,
    queued: usize,
    counts: Option<Arc<Vec<usize>>>,
) -> (Figures, Arc<Vec<usize>>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ventanilla.toml"), OFFICE).unwrap();
    let database_url = database(backend, dir.path()).await;
    let settings = Arc::new(
        Settings::from_env(&[
            ("DATABASE_URL", database_url.as_str()),
            ("VENTANILLA_DATA_DIR", dir.path().to_str().unwrap()),
            (
                "VENTANILLA_CONFIG",
                dir.path().join("ventanilla.toml").to_str().unwrap(),
            ),
        ])
        .unwrap(),
    );
    let seeding = Instant::now();
    seed_database(&settings, load.applications, queued).await;
    println!(
        "  {backend:?}: {} applications and {queued} reminders written in {:.1} s",
        load.applications,
        seeding.elapsed().as_secs_f64()
    );

    let fake = fake::FakeBotApi::start_limited(fake::TelegramLimits::default()).await;
    let serve = Serve::start(dir.path(), &database_url, &fake).await;
    // Idle: started, its first polls done, nobody has written yet.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (idle_mib, _) = serve.memory();
    let counts = match counts {
        Some(counts) => counts,
        None => Arc::new(calibrate(&fake, &journey(0, load.turns)).await),
    };
    let before = fake.delivered();

    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = tokio::spawn({
        let sampling = sampling.clone();
        let pid = serve.child.id().unwrap();
        async move {
            let mut highest: f64 = 0.0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                highest = highest.max(memory_of(pid).0);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            highest
        }
    });
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..load.applicants {
        tasks.spawn(applicant(
            fake.clone(),
            1_000_000 + i as i64,
            journey(i + 1, load.turns),
            counts.clone(),
            load.think,
        ));
    }
    let mut latencies = Vec::new();
    let mut finished = 0;
    while let Some(journey) = tasks.join_next().await {
        let journey = journey.unwrap();
        latencies.extend(journey.latencies);
        finished += usize::from(journey.finished);
    }
    let elapsed = started.elapsed();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let load_mib = sampler.await.unwrap();
    let (_, peak_mib) = serve.memory();
    let applicants_messages: usize = (0..load.applicants)
        .map(|i| fake.messages_to(1_000_000 + i as i64))
        .sum();
    let messages = fake.delivered() - before;
    latencies.sort();
    drop(serve);
    (
        Figures {
            latencies,
            finished,
            elapsed,
            messages: applicants_messages,
            over_limit: fake.over_limit(),
            idle_mib,
            load_mib,
            peak_mib,
            reminders_sent: messages.saturating_sub(applicants_messages),
        },
        counts,
    )
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn main() {
    let load = Load {
        applicants: env_number("BENCH_APPLICANTS", 1_000),
        applications: env_number("BENCH_APPLICATIONS", 100_000),
        think: Duration::from_millis(env_number("BENCH_THINK_MS", 3_000) as u64),
        turns: env_number("BENCH_TURNS", usize::MAX),
    };
    let queued = env_number("BENCH_QUEUED", 10_000);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let postgres = backends.contains("postgres")
        && std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty());
    let mut runs = Vec::new();
    if backends.contains("sqlite") {
        runs.push((Backend::Sqlite, 0));
        runs.push((Backend::Sqlite, queued));
    }
    if postgres {
        runs.push((Backend::Postgres, 0));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let turns = journey(0, load.turns).len();
        println!(
            "closed loop on `ventanilla serve`: {} applicants × {turns} answers over Telegram \
             (limits enforced by the fake Bot API), think time {} ms",
            load.applicants,
            load.think.as_millis()
        );
        let mut counts = None;
        for (backend, queued) in runs {
            let (figures, learnt) = run(backend, &load, queued, counts.clone()).await;
            let per_journey: usize = learnt.iter().sum();
            counts = Some(learnt);
            let minutes = figures.elapsed.as_secs_f64() / 60.0;
            println!(
                "{backend:?}, {queued} reminders queued: answer latency p50 {:.0} ms, p99 {:.0} ms; \
                 {:.1} journeys/min ({} of {} finished in {:.1} min; ceiling at 30 messages/s with \
                 {per_journey} messages a journey: {:.1}/min); {} messages to applicants, {} \
                 reminders sent meanwhile, {} refused with 429",
                percentile(&figures.latencies, 0.50),
                percentile(&figures.latencies, 0.99),
                figures.finished as f64 / minutes,
                figures.finished,
                load.applicants,
                minutes,
                30.0 * 60.0 / per_journey.max(1) as f64,
                figures.messages,
                figures.reminders_sent,
                figures.over_limit,
            );
            println!(
                "  serve's memory with {} applications: {:.1} MiB idle, {:.1} MiB at most under load \
                 (peak RSS {:.1} MiB)",
                load.applications, figures.idle_mib, figures.load_mib, figures.peak_mib
            );
        }
    });
}
