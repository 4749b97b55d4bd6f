//! Shared helpers for the integration tests: a fresh service on a fresh database (a temporary
//! SQLite file, or a new PostgreSQL database when `TEST_DATABASE_URL` is set), and typed ways
//! to talk to it.
#![allow(dead_code)]

pub mod answers;
pub mod console;
pub mod mail;
pub mod mail_styles;
pub mod seed;
pub mod telegram;

pub use answers::answers_to_review;

use std::sync::Arc;

use ventanilla::channels::terminal::TerminalSender;
use ventanilla::config::Settings;
use ventanilla::conversation::Input;
use ventanilla::conversation::state::State;
use ventanilla::delivery::{RetryPolicy, Sender, Worker};
use ventanilla::service::{
    Address, Clock, Inbound, OutgoingMessage, Service, TurnResult, UserName,
};
use ventanilla::store::{self, Db};

/// The fixed clock of the tests: Monday 30 November 2026, 10:00 in Mexico City.
pub const NOW: &str = "2026-11-30T10:00:00-06:00";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// SQLite always; PostgreSQL too when `TEST_DATABASE_URL` is set (CI sets it).
pub fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        backends.push(Backend::Postgres);
    }
    backends
}

pub struct TestApp {
    pub service: Service,
    pub sender: TerminalSender,
    pub worker: Worker,
    pub backend: Backend,
    /// `VENTANILLA_DATA_DIR` of this app.
    pub data_dir: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("vt_{nanos:x}_{}", std::process::id())
}

/// A fresh database URL for `backend`.
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("test.db").display()),
        Backend::Postgres => {
            use sqlx::Connection;
            let admin_url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
            let name = unique_name();
            let mut admin = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("connect to PostgreSQL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .expect("create test database");
            let (base, _) = admin_url.rsplit_once('/').expect("URL with a database");
            format!("{base}/{name}")
        }
    }
}

/// A service on a fresh database, with the clock frozen at `now` (the system clock when `None`)
/// and an optional settings file.
pub async fn spawn_app_with(backend: Backend, now: Option<&str>, config: Option<&str>) -> TestApp {
    spawn_app_env(backend, now, config, &[]).await
}

/// Like [`spawn_app_with`], with more environment variables.
pub async fn spawn_app_env(
    backend: Backend,
    now: Option<&str>,
    config: Option<&str>,
    extra: &[(String, String)],
) -> TestApp {
    build_app(backend, now, config, extra, true).await
}

/// A service whose clock starts at `now` and runs on, as `VENTANILLA_NOW` sets it for `serve`.
pub async fn spawn_app_running_from(backend: Backend, now: &str) -> TestApp {
    build_app(backend, Some(now), None, &[], false).await
}

async fn build_app(
    backend: Backend,
    now: Option<&str>,
    config: Option<&str>,
    extra: &[(String, String)],
    frozen: bool,
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, dir.path()).await;
    let config_path = dir.path().join("ventanilla.toml");
    let data_dir = dir.path().join("var");
    let mut env = vec![
        ("DATABASE_URL".to_string(), url),
        (
            "VENTANILLA_DATA_DIR".to_string(),
            data_dir.display().to_string(),
        ),
    ];
    if let Some(now) = now {
        env.push(("VENTANILLA_NOW".to_string(), now.to_string()));
    }
    if let Some(config) = config {
        std::fs::write(&config_path, config).unwrap();
        env.push((
            "VENTANILLA_CONFIG".to_string(),
            config_path.display().to_string(),
        ));
    }
    env.extend(extra.iter().cloned());
    let settings = Settings::from_env(&env).expect("settings");
    let db = Db::connect(&settings.database_url).await.expect("connect");
    db.migrate().await.expect("migrate");
    let frozen_at = settings.now.filter(|_| frozen);
    let mut service = Service::new(db.clone(), Arc::new(settings));
    // Tests pin time in code; `VENTANILLA_NOW` alone gives a running clock.
    if let Some(at) = frozen_at {
        service.clock = Clock::Fixed(at);
    }
    let sender = TerminalSender::default();
    let senders: Vec<Arc<dyn Sender>> = vec![Arc::new(sender.clone())];
    let worker = Worker::new(db, senders, service.clock, RetryPolicy::default());
    TestApp {
        service,
        sender,
        worker,
        backend,
        data_dir,
        _dir: dir,
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, Some(NOW), None).await
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A new external id.
pub fn next_id() -> String {
    format!(
        "t{}",
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

impl TestApp {
    /// Sends `input` from `user` with the given external id; returns what the turn did and the
    /// messages delivered to that user through the outbox.
    pub async fn send(
        &self,
        user: &str,
        external_id: &str,
        input: Input,
    ) -> (TurnResult, Vec<OutgoingMessage>) {
        let inbound = Inbound::new(terminal(user), external_id, input);
        let result = self.service.handle(&inbound).await.expect("turn");
        let messages = match result {
            TurnResult::Processed {
                conversation_id, ..
            } => {
                let worker = self.worker.clone().for_conversation(conversation_id);
                worker.drain().await.expect("drain");
                self.sender
                    .take()
                    .into_iter()
                    .filter(|d| d.address == user)
                    .map(|d| d.message)
                    .collect()
            }
            TurnResult::Duplicate => Vec::new(),
        };
        (result, messages)
    }

    /// Types `text` as `user`; returns the messages received.
    pub async fn say(&self, user: &str, text: &str) -> Vec<OutgoingMessage> {
        self.send(user, &next_id(), Input::Text(text.to_string()))
            .await
            .1
    }

    /// A turn without delivery (for concurrent tests): returns the rendered templates written.
    pub async fn turn(&self, user: &str, text: &str) -> TurnResult {
        let inbound = Inbound::new(terminal(user), next_id(), Input::Text(text.to_string()));
        self.service.handle(&inbound).await.expect("turn")
    }

    /// The stored state of `user`'s conversation.
    pub async fn state(&self, user: &str) -> State {
        let mut reader = self.service.db.reader().await.unwrap();
        let row = store::conversations::find(&mut reader.conn(), "terminal", user)
            .await
            .unwrap()
            .expect("conversation exists");
        State::from_json(&row.state).unwrap()
    }

    /// The payloads written to the outbox for `user`, oldest first, with their statuses.
    pub async fn outbox(&self, user: &str) -> Vec<(String, OutgoingMessage)> {
        let mut reader = self.service.db.reader().await.unwrap();
        let mut conn = reader.conn();
        let Some(row) = store::conversations::find(&mut conn, "terminal", user)
            .await
            .unwrap()
        else {
            return Vec::new();
        };
        store::outbox::for_conversation(&mut conn, row.id)
            .await
            .unwrap()
            .into_iter()
            .map(|row| {
                let status = row.status.as_str().to_string();
                (status, serde_json::from_str(&row.payload).unwrap())
            })
            .collect()
    }
}

/// Templates of a batch of messages.
pub fn templates(messages: &[OutgoingMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.template.as_str()).collect()
}

/// The terminal address of `user`.
pub fn terminal(user: &str) -> Address {
    Address::Terminal(UserName(user.to_string()))
}
