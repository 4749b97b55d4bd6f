//! `ventanilla serve` killed with SIGKILL while it is sending: the messages it had claimed are
//! not lost and do not hold their chats back for long. On SQLite the restarted process releases
//! them at start-up; on PostgreSQL another instance takes them over once their short lease runs
//! out (the dead instance no longer renews it). Real processes, the real teloxide client and
//! the fake Bot API; the waits are generous bounds on events, never timed assertions.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::telegram::{FakeBotApi, TOKEN};
use support::{Backend, fresh_database};
use ventanilla::store::Db;

/// Delivery loops of one `serve` (`DELIVERY_TASKS` in startup.rs): with one chat per loop, how
/// many sends one process has in flight at once.
const DELIVERY_TASKS: usize = 4;

/// One `ventanilla serve` process.
struct Serve {
    child: tokio::process::Child,
    port: u16,
    log: PathBuf,
}

impl Serve {
    /// Starts `serve` on `data_dir` with Telegram pointed at `fake`, on SQLite under the data
    /// dir or on `database_url`; returns once `/healthz` answers.
    async fn start(fake: &FakeBotApi, data_dir: &Path, database_url: Option<&str>) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::create_dir_all(data_dir).unwrap();
        let log = data_dir.join(format!("serve-{port}.log"));
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ventanilla"));
        command
            .arg("serve")
            .env("VENTANILLA_DATA_DIR", data_dir)
            .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env("TELEGRAM_BOT_TOKEN", TOKEN)
            .env("TELEGRAM_API_URL", &fake.url)
            .env("RUST_LOG", "info")
            .env_remove("VENTANILLA_NOW")
            .env_remove("VENTANILLA_CONFIG")
            .env_remove("SMTP_URL")
            .env_remove("IMAP_URL")
            .env_remove("TELEGRAM_WEBHOOK_URL")
            .env_remove("TELEGRAM_WEBHOOK_SECRET")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .kill_on_drop(true);
        match database_url {
            Some(url) => command.env("DATABASE_URL", url),
            None => command.env_remove("DATABASE_URL"),
        };
        let serve = Serve {
            child: command.spawn().unwrap(),
            port,
            log,
        };
        for _ in 0..600 {
            if get(port, "/healthz").await.is_some() {
                return serve;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("serve did not start: {}", serve.log_text());
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `kill -9`: no shutdown, no cleanup.
    async fn kill(&mut self) {
        self.child.kill().await.unwrap();
    }

    /// SIGTERM, then waits for the exit.
    async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = tokio::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
    }

    async fn metrics(&self) -> String {
        get(self.port, "/metrics").await.unwrap_or_default()
    }
}

/// `GET path` on a local port; `None` when nothing answers.
async fn get(port: u16, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        stream.read_to_string(&mut response),
    )
    .await
    .ok()?
    .ok()?;
    Some(response)
}

/// Waits until every chat has received at least `count` messages; the bound (well under the
/// two minutes a crashed send used to cost) only keeps a broken build from hanging.
async fn wait_for_all(fake: &FakeBotApi, chats: &[i64], count: usize, bound: Duration) {
    let start = Instant::now();
    while start.elapsed() < bound {
        if chats.iter().all(|&chat| fake.sent_to(chat).len() >= count) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got: Vec<(i64, usize)> = chats
        .iter()
        .map(|&chat| (chat, fake.sent_to(chat).len()))
        .collect();
    panic!("after {bound:?}, messages per chat: {got:?} (expected {count} each)");
}

/// Waits until the fake holds `count` stalled sends.
/// Every chat writes again and gets its answer from `serve`, which is then stopped; returns
/// its metrics and log.
async fn next_message_answered(fake: &FakeBotApi, chats: &[i64], serve: Serve) -> (String, String) {
    for &chat in chats {
        fake.text(chat, "sí");
    }
    wait_for_all(fake, chats, 3, Duration::from_secs(30)).await;
    let metrics = serve.metrics().await;
    let log = serve.log_text();
    serve.stop().await;
    (metrics, log)
}

async fn wait_for_stalled(fake: &FakeBotApi, count: usize) {
    for _ in 0..600 {
        if fake.stalled() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("only {} sends in flight", fake.stalled());
}

/// Outbox rows still `sending`.
async fn sending_rows(url: &str) -> usize {
    let db = Db::connect(url).await.unwrap();
    let count = {
        let mut reader = db.reader().await.unwrap();
        ventanilla::store::outbox::counts(&mut reader.conn())
            .await
            .unwrap()
            .into_iter()
            .filter(|row| row.status == ventanilla::store::outbox::Status::Sending)
            .map(|row| row.count as usize)
            .sum()
    };
    db.close().await;
    count
}

/// The value of a metric line `name value`.
fn metric(metrics: &str, name: &str) -> Option<u64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_serve_killed_mid_send_answers_every_chat_within_seconds_of_its_restart() {
    let fake = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("var");
    let url = format!("sqlite://{}", data_dir.join("ventanilla.db").display());
    // More chats than delivery loops: the loops claim in batches, so every chat's first message
    // is in flight when the process dies.
    let chats: Vec<i64> = (0..6).map(|i| 7100 + i).collect();
    let mut first = Serve::start(&fake, &data_dir, None).await;

    // Telegram stops answering; every chat writes; the process dies with its sends in flight.
    fake.stall_sends(true);
    for &chat in &chats {
        fake.text(chat, "/start");
    }
    wait_for_stalled(&fake, chats.len()).await;
    first.kill().await;
    fake.stall_sends(false);
    let left_sending = sending_rows(&url).await;

    let restarted = Instant::now();
    let second = Serve::start(&fake, &data_dir, None).await;
    let healthy = restarted.elapsed();
    // The welcome and the privacy notice of every chat arrive…
    wait_for_all(&fake, &chats, 2, Duration::from_secs(60)).await;
    let recovery = restarted.elapsed();
    // …and so does the answer to the next message of every chat.
    let (metrics, log) = next_message_answered(&fake, &chats, second).await;
    eprintln!(
        "SQLite: {left_sending} sends left in flight; after the restart, healthy in {healthy:?}, \
         every chat served in {recovery:?}"
    );

    assert_eq!(left_sending, chats.len(), "the kill left sends in flight");
    assert_eq!(
        metric(&metrics, "ventanilla_outbox_reclaimed_total"),
        Some(left_sending as u64),
        "{metrics}"
    );
    assert!(
        log.contains("reclaimed messages left being sent by a previous run"),
        "{log}"
    );
    for &chat in &chats {
        let texts: Vec<String> = fake
            .sent_to(chat)
            .iter()
            .map(|m| m["text"].as_str().unwrap_or_default().to_string())
            .collect();
        assert!(texts[0].contains("Ventanilla"), "welcome first: {texts:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_instance_killed_mid_send_is_taken_over_by_the_other_within_seconds() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL takeover not tested");
        return;
    }
    let fake = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(Backend::Postgres, dir.path()).await;
    // One chat per send in flight: the first instance holds the head of every chat.
    let chats: Vec<i64> = (0..DELIVERY_TASKS as i64).map(|i| 8100 + i).collect();
    let mut first = Serve::start(&fake, &dir.path().join("a"), Some(&url)).await;
    fake.stall_sends(true);
    for &chat in &chats {
        fake.text(chat, "/start");
    }
    wait_for_stalled(&fake, DELIVERY_TASKS).await;
    let second = Serve::start(&fake, &dir.path().join("b"), Some(&url)).await;

    first.kill().await;
    let killed = Instant::now();
    fake.stall_sends(false);
    wait_for_all(&fake, &chats, 2, Duration::from_secs(60)).await;
    let recovery = killed.elapsed();
    let (metrics, log) = next_message_answered(&fake, &chats, second).await;
    eprintln!("PostgreSQL: all chats served {recovery:?} after the kill");

    assert_eq!(
        metric(&metrics, "ventanilla_outbox_reclaimed_total"),
        Some(DELIVERY_TASKS as u64),
        "the second instance took the dead one's sends over: {metrics}"
    );
    assert!(
        log.contains("took over a message whose lease ran out"),
        "{log}"
    );
}
