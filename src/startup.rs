//! Starting the service: `connect` opens the data folder and the database (migrated), and
//! `serve` runs everything `ventanilla serve` runs — HTTP, the outbox workers per channel, the
//! Maildir and IMAP readers, the Telegram bot (polling or webhook) — until a shutdown signal,
//! then stops them in order. `main.rs` only parses the command line and calls these.

use std::sync::Arc;

use anyhow::Context;
use secrecy::ExposeSecret;
use teloxide::payloads::SetWebhookSetters;
use teloxide::prelude::Requester;
use tokio::sync::watch;

use crate::channels::{email, telegram};
use crate::config::Settings;
use crate::delivery::{RetryPolicy, Sender, Worker};
use crate::service::Service;
use crate::store::Db;
use crate::{documents, http};

/// Delivery loops sharing the outbox: sends to different chats overlap.
const DELIVERY_TASKS: usize = 4;

/// Opens the data folder (owner-only when created) and the database, migrated.
pub async fn connect(settings: Arc<Settings>) -> anyhow::Result<Service> {
    // The data folder holds personal data: owner-only when we create it.
    crate::files::create_private_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create VENTANILLA_DATA_DIR {}",
            settings.data_dir.display()
        )
    })?;
    let db = Db::connect(&settings.database_url).await?;
    db.migrate().await?;
    Ok(Service::new(db, settings))
}

/// Runs the service until a shutdown signal (Ctrl-C, SIGTERM).
pub async fn serve(settings: Arc<Settings>) -> anyhow::Result<()> {
    // Before anything opens a file: idle connections must not leave the Maildir reader and the
    // database without descriptors.
    match http::server::raise_open_files_limit() {
        Ok((soft, hard)) => tracing::info!(soft, hard, "open files limit"),
        Err(error) => tracing::warn!(error.message = %error, "cannot raise the open files limit"),
    }
    let service = connect(settings.clone()).await?;
    tracing::info!(backend = service.db.backend(), "database ready");
    log_channels(&settings);

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    // Each channel that is on adds its sender; the terminal delivers its own rows.
    let mut senders: Vec<Arc<dyn Sender>> = Vec::new();
    let mut receivers = Vec::new();
    let mut telegram_webhook = None;
    if let Some(token) = settings
        .telegram_bot_token
        .as_ref()
        .filter(|t| !t.expose_secret().is_empty())
    {
        let bot = telegram::bot(token.expose_secret(), settings.telegram_api_url.as_deref())?;
        if let Err(error) = telegram::set_commands(&bot, &service.templates).await {
            tracing::warn!(error.message = %error, "Telegram: could not publish the command menu");
        }
        senders.push(Arc::new(telegram::TelegramSender::new(
            bot.clone(),
            service.templates.clone(),
            telegram::Limits::default(),
            documents::Documents::new(service.db.clone(), service.templates.clone(), &settings),
        )));
        let receiver = telegram::Receiver {
            bot: bot.clone(),
            service: service.clone(),
        };
        // Exactly one receiver: the webhook when configured, long polling otherwise.
        match (
            &settings.telegram_webhook_url,
            &settings.telegram_webhook_secret,
        ) {
            (Some(url), Some(secret)) => {
                let url = url.parse().context("TELEGRAM_WEBHOOK_URL is not a URL")?;
                bot.set_webhook(url)
                    .secret_token(secret.expose_secret().to_string())
                    .await
                    .context("Telegram: setWebhook failed")?;
                telegram_webhook = Some(http::TelegramWebhook {
                    receiver,
                    secret: secret.expose_secret().to_string(),
                });
                tracing::info!("Telegram: on (webhook at /telegram/webhook)");
            }
            _ => {
                if let Err(error) = bot.delete_webhook().await {
                    tracing::warn!(error.message = %error, "Telegram: could not remove a previous webhook");
                }
                receivers.push(tokio::spawn(receiver.poll(stopped(stop_rx.clone()))));
                tracing::info!(
                    "Telegram: on (long polling; set TELEGRAM_WEBHOOK_URL for a webhook)"
                );
            }
        }
    }
    // E-mail: always on (the embedded default reads the Maildir inbox and writes .eml files).
    let mail_sender = email::outbound::EmailSender::new(&service)?;
    tracing::info!(out = %mail_sender.describe(), from = %settings.mail_from.email, "e-mail: on");
    senders.push(Arc::new(mail_sender));
    let maildir = email::maildir::Maildir::open(settings.data_dir.join("inbox"))
        .context("cannot create the Maildir inbox under VENTANILLA_DATA_DIR")?;
    tracing::info!(inbox = %maildir.root().display(), "e-mail: reading the Maildir inbox (new/)");
    receivers.push(tokio::spawn(maildir.run(
        service.clone(),
        std::time::Duration::from_millis(settings.mail.maildir_poll_millis),
        stop_rx.clone(),
    )));
    match &settings.imap_url {
        Some(url) => {
            let config = email::imap::ImapConfig::parse(url.expose_secret())?;
            tracing::info!(host = %config.host, port = config.port, tls = config.tls, "e-mail: reading IMAP");
            receivers.push(tokio::spawn(email::imap::run(
                service.clone(),
                config,
                stop_rx.clone(),
            )));
        }
        None => tracing::info!("e-mail: IMAP off (set IMAP_URL to read a mailbox)"),
    }
    let worker = Worker::new(
        service.db.clone(),
        senders,
        service.clock,
        RetryPolicy::default(),
    )
    .woken_by(service.outbox_ready.clone());
    // On SQLite this process is the only one delivering: a message still `sending` was left by a
    // run that died mid-send, and goes out again now rather than when its lease runs out.
    if matches!(service.db, Db::Sqlite { .. }) {
        worker
            .release_claims_of_the_dead()
            .await
            .context("cannot release the messages of a previous run")?;
    }
    // On PostgreSQL, rows committed by other instances wake this one's workers too.
    if let Some(announcements) = crate::store::outbox::Announcements::listen(&service.db)
        .await
        .context("cannot listen for the outbox's announcements on PostgreSQL")?
    {
        tokio::spawn(announcements.ring(service.outbox_ready.clone(), stop_rx.clone()));
    }
    let stats = worker.stats.clone();
    let worker_task = tokio::spawn(worker.run_many(DELIVERY_TASKS, stop_rx.clone()));
    let scheduler_task = tokio::spawn(crate::scheduler::run(service.clone(), stop_rx.clone()));

    let listener = tokio::net::TcpListener::bind(settings.http_addr)
        .await
        .with_context(|| format!("HTTP_ADDR: cannot listen on {}", settings.http_addr))?;
    tracing::info!(addr = %settings.http_addr, "HTTP server on: /healthz, /metrics, /verificar/NUMBER, /clave-publica");
    let state = http::AppState {
        service: service.clone(),
        delivery: stats,
        telegram_webhook,
    };
    let http_task = tokio::spawn(http::serve(listener, state, stopped(stop_rx.clone())));

    shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    match http_task.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::error!(error.message = %error, "HTTP server exited with an error")
        }
        Err(error) => tracing::error!(error.message = %error, "HTTP server task failed"),
    }
    for receiver in receivers {
        if let Err(error) = receiver.await {
            tracing::error!(error.message = %error, "a channel receiver failed");
        }
    }
    if let Err(error) = worker_task.await {
        tracing::error!(error.message = %error, "outbox worker task failed");
    }
    if let Err(error) = scheduler_task.await {
        tracing::error!(error.message = %error, "scheduler task failed");
    }
    service.db.close().await;
    Ok(())
}

/// Says what is on and off, and how to turn things on.
fn log_channels(settings: &Settings) {
    tracing::info!("terminal channel: on (`ventanilla chat`)");
    if settings.telegram_bot_token.is_none() {
        tracing::info!("Telegram: off (set TELEGRAM_BOT_TOKEN to turn it on)");
    }
    if settings.signing_key.exists() {
        tracing::info!("cédula signing key: present (staff approve can issue)");
    } else {
        tracing::info!("cédula signing key: missing (create it with `ventanilla staff keygen`)");
    }
    if settings.smtp_url.is_none() {
        tracing::info!("e-mail: writing .eml files (set SMTP_URL to send through a server)");
    }
    if settings.now.is_some() {
        tracing::warn!("clock started at VENTANILLA_NOW (it runs on from there)");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
