//! Helpers for the e-mail tests: unique mailboxes on the local mail stack
//! (`scripts/mail-servers.sh`: Postfix on 127.0.0.1:2525, Dovecot IMAP on 127.0.0.1:1143, every
//! address of ventanilla.test and correo.test exists, password "secret"), sending over SMTP,
//! reading a mailbox over IMAP, and running the e-mail channel of a test app.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use lettre::AsyncTransport;
use tokio::sync::watch;
use ventanilla::channels::email::imap::{self, ImapConfig};
use ventanilla::channels::email::outbound::EmailSender;
use ventanilla::channels::email::parse::{self, Mail};
use ventanilla::delivery::{RetryPolicy, Sender, Worker};

use super::{Backend, NOW, TestApp, spawn_app_env};

pub const SMTP: &str = "smtp://127.0.0.1:2525";
const IMAP_HOST: (&str, u16) = ("127.0.0.1", 1143);

/// A fresh address such as `luz.5f3a1.7@correo.test`: each test has mailboxes of its own.
pub fn unique_address(name: &str, domain: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    format!(
        "{name}.{stamp:x}.{}.{}@{domain}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The environment of an app whose e-mail address is `service`.
pub fn mail_env(service: &str, smtp: bool) -> Vec<(String, String)> {
    let mut env = vec![
        ("MAIL_FROM".to_string(), format!("Ventanilla <{service}>")),
        (
            "IMAP_URL".to_string(),
            format!(
                "imap://{}:secret@{}:{}/INBOX",
                service.replace('@', "%40"),
                IMAP_HOST.0,
                IMAP_HOST.1
            ),
        ),
    ];
    if smtp {
        env.push(("SMTP_URL".to_string(), SMTP.to_string()));
    }
    env
}

/// Sends raw bytes through Postfix with the given envelope.
pub async fn smtp_send(raw: &[u8], from: &str, to: &str) {
    let transport =
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(2525)
            .build();
    let envelope =
        lettre::address::Envelope::new(Some(from.parse().unwrap()), vec![to.parse().unwrap()])
            .unwrap();
    transport
        .send_raw(&envelope, raw)
        .await
        .expect("Postfix accepts the message (is scripts/mail-servers.sh running?)");
}

/// A first message, as a person writes to an address they were given.
pub fn first_message(from: &str, to: &str, subject: &str, text: &str) -> Vec<u8> {
    static N: AtomicU64 = AtomicU64::new(0);
    let id = format!(
        "first.{}.{}@correo.test",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Mon, 30 Nov 2026 09:00:00 -0600\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"
    )
    .into_bytes()
}

/// One message read from a mailbox.
#[derive(Debug, Clone)]
pub struct Received {
    pub raw: Vec<u8>,
    pub mail: Mail,
}

impl Received {
    /// A header's raw value (first occurrence), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let text = String::from_utf8_lossy(&self.raw);
        let head = text.split("\r\n\r\n").next().unwrap_or_default();
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        let prefix = format!("{}:", name.to_lowercase());
        unfolded
            .split("\r\n")
            .find(|line| line.to_lowercase().starts_with(&prefix))
            .map(|line| line[prefix.len()..].trim().to_string())
    }
}

/// Reads `address`'s INBOX over IMAP.
pub async fn mailbox(address: &str) -> Vec<Received> {
    let tcp = tokio::net::TcpStream::connect(IMAP_HOST)
        .await
        .expect("Dovecot listens");
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.unwrap();
    let mut session = client
        .login(address, "secret")
        .await
        .map_err(|(e, _)| e)
        .expect("IMAP login");
    let selected = session.select("INBOX").await.unwrap();
    let mut messages = Vec::new();
    if selected.exists > 0 {
        let mut fetches = session.fetch("1:*", "BODY.PEEK[]").await.unwrap();
        while let Some(fetch) = fetches.next().await {
            let fetch = fetch.unwrap();
            if let Some(body) = fetch.body() {
                messages.push((fetch.message, body.to_vec()));
            }
        }
    }
    session.logout().await.ok();
    messages.sort_by_key(|(n, _)| *n);
    messages
        .into_iter()
        .map(|(_, raw)| Received {
            mail: parse::parse(&raw).expect("our e-mails parse"),
            raw,
        })
        .collect()
}

/// Waits until `address`'s INBOX holds `count` messages; returns them in arrival order.
pub async fn wait_for_mail(address: &str, count: usize) -> Vec<Received> {
    for _ in 0..600 {
        let messages = mailbox(address).await;
        if messages.len() >= count {
            return messages;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{address}: fewer than {count} messages after 60 s");
}

/// The e-mail channel of a test app, running: the outbox worker with the e-mail sender, and
/// the IMAP poller when asked.
pub struct Running {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            task.await.unwrap();
        }
    }
}

/// The e-mail sender of `app` (SMTP or files, as its settings say).
pub fn email_sender(app: &TestApp) -> Arc<EmailSender> {
    Arc::new(EmailSender::new(&app.service).unwrap())
}

/// A worker that delivers `app`'s e-mail.
pub fn email_worker(app: &TestApp) -> Worker {
    let sender: Arc<dyn Sender> = email_sender(app);
    Worker::new(
        app.service.db.clone(),
        vec![sender],
        app.service.clock,
        RetryPolicy::default(),
    )
    .idle(Duration::from_millis(50))
}

pub fn run_email(app: &TestApp, with_imap: bool) -> Running {
    let (stop, rx) = watch::channel(false);
    let mut tasks = vec![tokio::spawn(email_worker(app).run_many(2, rx.clone()))];
    if with_imap {
        use secrecy::ExposeSecret;
        let url = app.service.settings.imap_url.as_ref().expect("IMAP_URL");
        let config = ImapConfig::parse(url.expose_secret()).unwrap();
        tasks.push(tokio::spawn(imap::run(app.service.clone(), config, rx)));
    }
    Running { stop, tasks }
}

/// The `.eml` files written by the file transport, in outbox order.
pub fn written_mail(app: &TestApp) -> Vec<Received> {
    let dir = app.data_dir.join("outbox");
    let mut files: Vec<(i64, std::path::PathBuf)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter_map(|p| {
                    let id = p.file_stem()?.to_str()?.parse().ok()?;
                    (p.extension()? == "eml").then_some((id, p))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .map(|(_, path)| {
            let raw = std::fs::read(path).unwrap();
            Received {
                mail: parse::parse(&raw).expect("our e-mails parse"),
                raw,
            }
        })
        .collect()
}

/// A test app whose e-mail address is `service` (SMTP through Postfix when `smtp`, else `.eml`
/// files), with the clock at [`NOW`].
pub async fn mail_app(
    backend: Backend,
    service: &str,
    smtp: bool,
    config: Option<&str>,
) -> TestApp {
    spawn_app_env(backend, Some(NOW), config, &mail_env(service, smtp)).await
}

/// The e-mail conversation of `address`.
pub async fn conversation(
    app: &TestApp,
    address: &str,
) -> ventanilla::store::conversations::ConversationRow {
    let mut reader = app.service.db.reader().await.unwrap();
    ventanilla::store::conversations::find(&mut reader.conn(), "email", address)
        .await
        .unwrap()
        .expect("the conversation exists")
}

/// Pipes `raw` to `ventanilla mail receive` with the app's settings; returns the exit code.
pub async fn through_pipe(app: &TestApp, raw: &[u8], database_url: &str) -> i32 {
    let settings = &app.service.settings;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ventanilla"))
        .args(["mail", "receive"])
        .env_clear()
        .env("DATABASE_URL", database_url)
        .env("VENTANILLA_DATA_DIR", &settings.data_dir)
        .env("VENTANILLA_NOW", NOW)
        .env("MAIL_FROM", settings.mail_from.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, raw)
        .await
        .unwrap();
    drop(stdin);
    child.wait().await.unwrap().code().unwrap()
}

/// A reply to `message` as `client` writes it, from `from` (a mailbox, "Name <addr>" or bare) to
/// the message's Reply-To; returns the raw message and where it goes.
pub fn answer_as(
    client: super::mail_styles::Client,
    from: &str,
    message: &Received,
    text: &str,
) -> (Vec<u8>, String) {
    let to = message
        .mail
        .reply_to
        .clone()
        .expect("our e-mails have a Reply-To");
    let original = super::mail_styles::Original {
        from: &message.header("From").unwrap(),
        date: &message.header("Date").unwrap(),
        text: &message.mail.text,
        message_id: message.mail.message_id.as_deref().unwrap(),
        references: &message.mail.references,
        subject: &message.mail.subject,
    };
    let raw = super::mail_styles::reply(client, from, &to, text, &original);
    (raw, to)
}

/// A conversation's outbox rows, oldest first: (status, template).
pub async fn outbox_rows(app: &TestApp, conversation_id: i64) -> Vec<(String, String)> {
    let mut reader = app.service.db.reader().await.unwrap();
    ventanilla::store::outbox::for_conversation(&mut reader.conn(), conversation_id)
        .await
        .unwrap()
        .into_iter()
        .map(|row| {
            let message: ventanilla::service::OutgoingMessage =
                serde_json::from_str(&row.payload).unwrap();
            (row.status.as_str().to_string(), message.template)
        })
        .collect()
}
