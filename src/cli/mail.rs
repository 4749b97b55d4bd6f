//! `ventanilla mail …`: the e-mail channel's commands (an MTA's pipe delivery).

use std::sync::Arc;

use clap::Subcommand;

use ventanilla::channels::email;
use ventanilla::config::Settings;
use ventanilla::startup::connect;

#[derive(Subcommand)]
pub enum MailCommand {
    /// Read one RFC 5322 message on stdin (for an MTA pipe, procmail, fetchmail). Exit codes
    /// follow sysexits: 0 accepted, 65 unusable data, 75 temporary failure (retry later),
    /// 78 configuration error.
    Receive,
}

/// `ventanilla mail receive`: one message on stdin; the exit code tells the MTA what to do.
pub async fn mail_receive() -> u8 {
    const EX_TEMPFAIL: u8 = 75;
    const EX_CONFIG: u8 = 78;
    let settings = match Settings::load() {
        Ok(settings) => Arc::new(settings),
        Err(error) => {
            eprintln!("ventanilla: configuration error: {error:#}");
            return EX_CONFIG;
        }
    };
    // More than this is never parsed (a larger message is answered from its headers): the rest
    // of the input is read and dropped, so that the MTA sees it taken.
    let max_read = settings.mail.max_message_bytes.saturating_add(1);
    let mut raw = Vec::new();
    let read = async {
        use tokio::io::AsyncReadExt as _;
        let mut stdin = tokio::io::stdin();
        (&mut stdin)
            .take(max_read as u64)
            .read_to_end(&mut raw)
            .await?;
        tokio::io::copy(&mut stdin, &mut tokio::io::sink()).await
    };
    if let Err(error) = read.await {
        eprintln!("ventanilla: cannot read the message: {error}");
        return EX_TEMPFAIL;
    }
    let service = match connect(settings).await {
        Ok(service) => service,
        Err(error) => {
            eprintln!("ventanilla: the database is unavailable: {error:#}");
            return EX_TEMPFAIL;
        }
    };
    let outcome = email::receive_guarded(&service, &raw).await;
    match &outcome {
        email::Outcome::Done(Ok(_)) => {}
        email::Outcome::Done(Err(error)) => eprintln!("ventanilla: unusable message: {error}"),
        email::Outcome::Retry(error) => eprintln!("ventanilla: {error}"),
        email::Outcome::Quarantined(reason) => {
            eprintln!("ventanilla: message set aside after repeated failures ({reason})")
        }
    }
    let code = outcome.exit_code();
    service.db.close().await;
    code
}
