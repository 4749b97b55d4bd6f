//! The `ventanilla` command: parses the command line, loads the settings, sets up logging, and
//! runs what was asked (`serve` and connecting live in `ventanilla::startup`).

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use ventanilla::config::Settings;
use ventanilla::startup::{connect, serve};
use ventanilla::{channels, documents, telemetry};

/// The subcommands with handlers of their own (this binary's modules, not the library's).
mod cli {
    pub mod mail;
    pub mod staff;
    pub mod users;
}

use cli::mail::{MailCommand, mail_receive};
use cli::staff::{StaffCommand, staff_command};

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
    /// The e-mail channel's commands.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// The office's commands.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Check a cédula PDF: its signature, the office's key and the registry. Prints VALID or
    /// INVALID with the reason; exits 1 when invalid.
    Verify {
        /// The cédula PDF.
        file: std::path::PathBuf,
    },
    /// Apply the database migrations and exit.
    Migrate,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Mail {
        command: MailCommand::Receive,
    } = cli.command
    {
        telemetry::init("warn");
        std::process::exit(mail_receive().await.into());
    }
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
        Command::Mail { .. } => unreachable!("handled above"),
        Command::Staff { command } => {
            telemetry::init("warn");
            let service = connect(settings).await?;
            let result = staff_command(&service, command).await;
            service.db.close().await;
            match result? {
                true => Ok(()),
                false => std::process::exit(1),
            }
        }
        Command::Verify { file } => {
            telemetry::init("warn");
            // One byte more than the cap means the file is too large, and `verify` says so.
            let bytes = ventanilla::files::read_at_most(&file, documents::MAX_PDF_BYTES + 1)
                .await
                .with_context(|| format!("cannot read {}", file.display()))?;
            let service = connect(settings.clone()).await?;
            let office_key = documents::signature::Signer::load(&settings.signing_key)
                .ok()
                .map(|s| s.public_key());
            let renderer =
                documents::Documents::new(service.db.clone(), service.templates.clone(), &settings);
            let verdict = documents::verify_pdf(&renderer, office_key.as_deref(), &bytes).await;
            service.db.close().await;
            let (valid, reason, signed) = match verdict? {
                documents::Verdict::Valid { signed } => (true, None, Some(signed)),
                documents::Verdict::Invalid { reason, signed } => (false, Some(reason), signed),
            };
            let holder = signed.map(|payload| {
                serde_json::json!({
                    "number": payload.number.to_string(),
                    "name": payload.full_name(),
                    "level": format!("level.{}", payload.level),
                    "program": payload.program,
                    "institution": payload.institution,
                })
            });
            let context = serde_json::json!({ "valid": valid, "reason": reason, "holder": holder });
            print!("{}", service.templates.render("staff/verify.txt", context)?);
            if !valid {
                std::process::exit(1);
            }
            Ok(())
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
