//! The `ventanilla` command: loads the settings, sets up logging, and runs what was asked.

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use tokio::sync::watch;

use teloxide::payloads::SetWebhookSetters;
use teloxide::prelude::Requester;
use ventanilla::channels::telegram;
use ventanilla::config::Settings;
use ventanilla::delivery::{RetryPolicy, Sender, Worker};
use ventanilla::service::Service;
use ventanilla::store::Db;
use ventanilla::{channels, http, telemetry};

#[derive(Parser)]
#[command(
    name = "ventanilla",
    version,
    about = "Ventanilla: professional licences (cedulas) without a queue"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: workers, channels and the HTTP server.
    Serve,
    /// Talk to Ventanilla in the terminal.
    Chat {
        /// Who you are: each id is a distinct applicant; the same id resumes its conversation.
        #[arg(long, default_value = "terminal")]
        user: String,
        /// One JSON line in, one JSON line out per turn (for scripts).
        #[arg(long)]
        jsonl: bool,
    },
    /// Apply the database migrations and exit.
    Migrate,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Arc::new(Settings::load()?);
    match cli.command {
        Command::Serve => {
            telemetry::init("info");
            serve(settings).await
        }
        Command::Chat { user, jsonl } => {
            telemetry::init("warn");
            let service = connect(settings).await?;
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            let result =
                channels::terminal::run(&service, &user, jsonl, stdin, tokio::io::stdout()).await;
            service.db.close().await;
            result
        }
        Command::Migrate => {
            telemetry::init("info");
            let service = connect(settings).await?;
            service.db.close().await;
            tracing::info!("migrations applied");
            Ok(())
        }
    }
}

/// Delivery loops sharing the outbox: sends to different chats overlap.
const DELIVERY_TASKS: usize = 4;

async fn connect(settings: Arc<Settings>) -> anyhow::Result<Service> {
    let db = Db::connect(&settings.database_url).await?;
    db.migrate().await?;
    Ok(Service::new(db, settings))
}

async fn serve(settings: Arc<Settings>) -> anyhow::Result<()> {
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
    let worker = Worker::new(
        service.db.clone(),
        senders,
        service.clock,
        RetryPolicy::default(),
    );
    let stats = worker.stats.clone();
    let worker_task = tokio::spawn(worker.run_many(DELIVERY_TASKS, stop_rx.clone()));

    let listener = tokio::net::TcpListener::bind(settings.http_addr)
        .await
        .with_context(|| format!("HTTP_ADDR: cannot listen on {}", settings.http_addr))?;
    tracing::info!(addr = %settings.http_addr, "HTTP server on: /healthz, /metrics");
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
    service.db.close().await;
    Ok(())
}

/// Says what is on and off, and how to turn things on.
fn log_channels(settings: &Settings) {
    tracing::info!("terminal channel: on (`ventanilla chat`)");
    if settings.telegram_bot_token.is_none() {
        tracing::info!("Telegram: off (set TELEGRAM_BOT_TOKEN to turn it on)");
    }
    if settings.imap_url.is_some() || settings.smtp_url.is_some() {
        tracing::warn!(
            "e-mail: IMAP_URL/SMTP_URL are set but this build has no e-mail channel yet"
        );
    } else {
        tracing::info!("e-mail: off (not in this build yet)");
    }
    if settings.now.is_some() {
        tracing::warn!("clock fixed by VENTANILLA_NOW");
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
