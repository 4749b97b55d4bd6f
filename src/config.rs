//! Settings, built in layers and checked at start-up: the defaults compiled in from
//! `config/default.toml`, then the TOML file named by `VENTANILLA_CONFIG` (merged key by key),
//! then the environment variables (README.md, "Configuration").

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};
use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::calendar::{BookingRules, Office};
use crate::domain::fees::FeeTable;
use crate::domain::payment::PaymentKeyRule;
use crate::domain::procedure::Procedure;

const DEFAULTS: &str = include_str!("../config/default.toml");

/// Everything the service is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub data_dir: PathBuf,
    pub http_addr: SocketAddr,
    pub public_url: String,
    /// The instant the service starts at (`VENTANILLA_NOW`), for demos and tests; time runs on
    /// from it.
    pub now: Option<DateTime<Utc>>,
    pub telegram_bot_token: Option<SecretString>,
    pub telegram_api_url: Option<String>,
    /// Webhook mode: the public HTTPS address Telegram posts updates to (served by our HTTP
    /// server at `/telegram/webhook`), and the secret Telegram sends back with each update.
    pub telegram_webhook_url: Option<String>,
    pub telegram_webhook_secret: Option<SecretString>,
    pub smtp_url: Option<SecretString>,
    pub imap_url: Option<SecretString>,
    /// Who our e-mails come from; replies go to `local+TOKEN@domain` of this address.
    pub mail_from: lettre::message::Mailbox,
    pub mail: MailRules,
    pub inputs: InputRules,
    pub http: HttpRules,
    pub console: ConsoleRules,
    /// When appointments are reminded (`[reminders]`).
    pub reminders: crate::domain::reminders::ReminderRules,
    /// The cédula signing key (`VENTANILLA_SIGNING_KEY`; created by `staff keygen`).
    pub signing_key: PathBuf,
    pub procedure: Procedure,
}

/// Limits of the e-mail channel (`[mail]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailRules {
    pub max_message_bytes: usize,
    pub max_replies_per_hour: u32,
    pub imap_poll_seconds: u64,
    pub imap_idle_seconds: u64,
    pub maildir_poll_millis: u64,
    /// What one message may cost to read (see `channels::email::parse::Limits`).
    pub max_header_bytes: usize,
    pub max_recipients: usize,
    pub max_references: usize,
    pub max_text_bytes: usize,
    pub max_quote_depth: usize,
    pub max_attachments: usize,
    pub max_parts: usize,
    /// What is kept of the quoted part (history, signatures) of one message.
    pub max_quoted_bytes: usize,
    /// What is read of the new text as the answer.
    pub max_answer_bytes: usize,
    /// At most one notice about an unthreaded message per conversation in this many minutes
    /// (and never while one is waiting).
    pub unthreaded_notice_minutes: u32,
}

/// Rules for every inbound input, whatever its channel (`[inputs]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputRules {
    /// An input whose processing failed or crashed the service this many times is set aside.
    pub quarantine_after_failures: u32,
}

/// Limits of the HTTP server (`[http]`): what one client, or many, can hold open or ask for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRules {
    /// A connection must send a request's whole header within this time (also between
    /// requests on a kept-alive connection), or it is closed.
    pub header_read_timeout_millis: u64,
    /// A request (body included) must be answered within this time, or it gets 503.
    pub request_timeout_millis: u64,
    /// Connections open at once; capped further by the open-files limit, less a reserve for
    /// the database and the Maildir.
    pub max_connections: usize,
    /// Requests in progress at once (`/healthz` aside); more get 503 at once.
    pub max_concurrent_requests: usize,
    /// The largest request body read on any route.
    pub max_body_bytes: usize,
    /// Per client address: requests in a burst, and how many are given back per minute.
    pub rate_limit_burst: u32,
    pub rate_limit_per_minute: u32,
    /// Client addresses remembered by the rate limiter (the oldest are forgotten first).
    pub rate_limit_clients: usize,
    /// Take the client's address from the last `X-Forwarded-For` entry (only behind a proxy
    /// that sets it; anyone can send that header otherwise).
    pub trust_forwarded_for: bool,
}

/// The staff console (`[console]`): sessions, login throttling, the counter's checklist.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleRules {
    /// A session unused for this long ends.
    pub idle_minutes: u32,
    /// A session ends this long after the login, used or not.
    pub absolute_hours: u32,
    /// Failed logins counted within this window.
    pub failure_window_minutes: u32,
    /// Beyond this many failures in the window, the account cannot log in until it ends.
    pub max_failures_per_account: u32,
    /// Beyond this many failures from one client address in the window, it cannot log in.
    pub max_failures_per_address: u32,
    /// What the clerk checks at the counter (keys of `[checklist]` in the labels).
    pub checklist: Vec<String>,
    /// Whether a cédula is issued only once every item of the checklist was seen.
    pub checklist_before_issuing: bool,
    /// The common reasons offered when rejecting (the applicant receives them as written).
    pub rejection_reasons: Vec<String>,
}

/// `MAIL_FROM` when unset: good for the embedded defaults (`.eml` files), not for real mail.
pub const DEFAULT_MAIL_FROM: &str = "Ventanilla <tramites@localhost>";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    procedure: FileProcedure,
    booking: BookingRules,
    mail: MailRules,
    inputs: InputRules,
    http: HttpRules,
    console: ConsoleRules,
    reminders: crate::domain::reminders::ReminderRules,
    #[serde(default)]
    fees: FeeTable,
    offices: Vec<Office>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileProcedure {
    eligibility_cutoff: NaiveDate,
    min_age_years: u32,
    earliest_year: i32,
    payment_key_pattern: String,
    agency: String,
    clave_referencia: String,
    cadena_dependencia: String,
}

/// `MAIL_FROM` must be one mailbox whose local part leaves room for `+TOKEN`.
fn parse_mail_from(value: &str) -> anyhow::Result<lettre::message::Mailbox> {
    let mailbox: lettre::message::Mailbox = value
        .parse()
        .with_context(|| format!("MAIL_FROM must be an address such as \"{DEFAULT_MAIL_FROM}\""))?;
    if mailbox.email.user().contains('+') {
        bail!("MAIL_FROM: the local part must not contain '+' (replies go to local+TOKEN@domain)");
    }
    Ok(mailbox)
}

/// Where the environment comes from: the process's, or a map in tests.
pub trait Env {
    fn get(&self, key: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.trim().is_empty())
    }
}

/// Owned pairs, as tests and benchmarks build them.
impl Env for Vec<(String, String)> {
    fn get(&self, key: &str) -> Option<String> {
        self.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn get(&self, key: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
    }
}

impl Settings {
    /// Loads the settings from the process environment.
    pub fn load() -> anyhow::Result<Settings> {
        Settings::from_env(&ProcessEnv)
    }

    /// Builds the settings from defaults, the optional file and `env`.
    pub fn from_env(env: &dyn Env) -> anyhow::Result<Settings> {
        let mut merged: toml::Table = DEFAULTS.parse().context("built-in defaults are invalid")?;
        if let Some(path) = env.get("VENTANILLA_CONFIG") {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("VENTANILLA_CONFIG: cannot read {path}"))?;
            let overlay: toml::Table = text
                .parse()
                .with_context(|| format!("VENTANILLA_CONFIG: {path} is not valid TOML"))?;
            merge(&mut merged, overlay);
        }
        let file: FileSettings = toml::Value::Table(merged)
            .try_into()
            .context("VENTANILLA_CONFIG: invalid settings")?;
        let payment_key = PaymentKeyRule::new(&file.procedure.payment_key_pattern)
            .context("procedure.payment_key_pattern is not a valid regular expression")?;

        let data_dir = PathBuf::from(
            env.get("VENTANILLA_DATA_DIR")
                .unwrap_or_else(|| "./var".into()),
        );
        let database_url = env
            .get("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("ventanilla.db").display()));
        let http_addr = env
            .get("HTTP_ADDR")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .context("HTTP_ADDR must be an address such as 127.0.0.1:8080")?;
        let now = env
            .get("VENTANILLA_NOW")
            .map(|v| DateTime::parse_from_rfc3339(&v).map(|t| t.with_timezone(&Utc)))
            .transpose()
            .context("VENTANILLA_NOW must be an RFC 3339 time such as 2026-11-30T10:00:00-06:00")?;
        let public_url = env
            .get("PUBLIC_URL")
            .unwrap_or_else(|| format!("http://{http_addr}"))
            .trim_end_matches('/')
            .to_string();

        let signing_key = env
            .get("VENTANILLA_SIGNING_KEY")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("cedula-signing.key"));
        let settings = Settings {
            database_url,
            data_dir,
            http_addr,
            public_url,
            now,
            telegram_bot_token: env.get("TELEGRAM_BOT_TOKEN").map(SecretString::from),
            telegram_api_url: env.get("TELEGRAM_API_URL"),
            telegram_webhook_url: env.get("TELEGRAM_WEBHOOK_URL"),
            telegram_webhook_secret: env.get("TELEGRAM_WEBHOOK_SECRET").map(SecretString::from),
            smtp_url: env.get("SMTP_URL").map(SecretString::from),
            imap_url: env.get("IMAP_URL").map(SecretString::from),
            mail_from: parse_mail_from(
                &env.get("MAIL_FROM")
                    .unwrap_or_else(|| DEFAULT_MAIL_FROM.into()),
            )?,
            mail: file.mail,
            inputs: file.inputs,
            http: file.http,
            console: file.console,
            reminders: file.reminders,
            signing_key,
            procedure: Procedure {
                eligibility_cutoff: file.procedure.eligibility_cutoff,
                min_age_years: file.procedure.min_age_years,
                earliest_year: file.procedure.earliest_year,
                payment_key,
                agency: file.procedure.agency,
                clave_referencia: file.procedure.clave_referencia,
                cadena_dependencia: file.procedure.cadena_dependencia,
                booking: file.booking,
                fees: file.fees,
                offices: file.offices,
            },
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Checks across fields, failing fast with the setting to fix.
    fn validate(&self) -> anyhow::Result<()> {
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            bail!("DATABASE_URL must start with sqlite: or postgres://");
        }
        if self.telegram_webhook_url.is_some() {
            use secrecy::ExposeSecret;
            let secret = self
                .telegram_webhook_secret
                .as_ref()
                .map(|s| s.expose_secret().to_string());
            let valid = secret.as_deref().is_some_and(|s| {
                (1..=256).contains(&s.len())
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            });
            if !valid {
                bail!(
                    "TELEGRAM_WEBHOOK_URL is set: TELEGRAM_WEBHOOK_SECRET must be set too \
                     (1-256 characters: letters, digits, _ and -)"
                );
            }
        }
        if self.procedure.offices.is_empty() {
            bail!("VENTANILLA_CONFIG: at least one [[offices]] entry is needed");
        }
        for office in &self.procedure.offices {
            if office.slots().is_empty() {
                bail!(
                    "office {}: opens_at, closes_at and slot_minutes leave no slot",
                    office.id
                );
            }
            if office.daily_capacity == 0 {
                bail!("office {}: daily_capacity must be at least 1", office.id);
            }
            if office.opening_days.is_empty() {
                bail!("office {}: opening_days is empty", office.id);
            }
        }
        let mut ids: Vec<&str> = self
            .procedure
            .offices
            .iter()
            .map(|o| o.id.as_str())
            .collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            bail!("VENTANILLA_CONFIG: office ids must be unique");
        }
        let http = &self.http;
        if http.header_read_timeout_millis == 0 || http.request_timeout_millis == 0 {
            bail!(
                "http.header_read_timeout_millis and http.request_timeout_millis must be above 0"
            );
        }
        if http.max_connections == 0 || http.max_concurrent_requests == 0 {
            bail!("http.max_connections and http.max_concurrent_requests must be at least 1");
        }
        if http.rate_limit_burst == 0
            || http.rate_limit_per_minute == 0
            || http.rate_limit_clients == 0
        {
            bail!(
                "http.rate_limit_burst, http.rate_limit_per_minute and http.rate_limit_clients \
                 must be at least 1"
            );
        }
        if self.procedure.booking.window_days == 0 {
            bail!("booking.window_days must be at least 1");
        }
        if !(1..=24 * 60).contains(&self.procedure.booking.hold_minutes) {
            bail!("booking.hold_minutes must be between 1 and 1440");
        }
        let reminders = &self.reminders;
        if reminders.draft_reminder_days == 0
            || reminders.draft_expiry_days <= reminders.draft_reminder_days
        {
            bail!("reminders.draft_expiry_days must be after draft_reminder_days (at least 1)");
        }
        if reminders.unbooked_every_days == 0 {
            bail!("reminders.unbooked_every_days must be at least 1");
        }
        let checklist = &self.console.checklist;
        let key = |k: &String| {
            (1..=40).contains(&k.len())
                && k.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if checklist.len() > 20 || !checklist.iter().all(key) {
            bail!(
                "console.checklist: at most 20 keys of 1-40 lower-case letters, digits or '_' \
                 (each named in templates/es-MX/labels.toml, [checklist])"
            );
        }
        let reasons = &self.console.rejection_reasons;
        if reasons.len() > 30
            || reasons
                .iter()
                .any(|r| r.trim().is_empty() || r.chars().count() > 200)
        {
            bail!("console.rejection_reasons: at most 30 reasons of 1-200 characters");
        }
        let mut keys: Vec<&String> = checklist.iter().collect();
        keys.sort_unstable();
        if keys.windows(2).any(|w| w[0] == w[1]) {
            bail!("console.checklist: each item once");
        }
        Ok(())
    }
}

/// Merges `overlay` into `base`: tables key by key, anything else replaced.
fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base_table)), toml::Value::Table(overlay_table)) => {
                merge(base_table, overlay_table)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::academic::Level;
    use crate::domain::fees::Concept;

    #[test]
    fn defaults_load_with_domain_figures() {
        let settings = Settings::from_env(&[("VENTANILLA_DATA_DIR", "/tmp/v")]).unwrap();
        assert_eq!(settings.database_url, "sqlite:///tmp/v/ventanilla.db");
        let fee = settings
            .procedure
            .fees
            .fee(2026, Level::Licenciatura, Concept::Registration);
        assert_eq!(fee.map(|c| c.payable_pesos()), Some(1773));
        assert_eq!(settings.procedure.offices[0].daily_capacity, 50);
        assert_eq!(
            settings.procedure.eligibility_cutoff.to_string(),
            "2018-10-01"
        );
    }

    #[test]
    fn a_file_overrides_keys_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.toml");
        std::fs::write(
            &path,
            "[procedure]\neligibility_cutoff = \"2018-04-16\"\n[fees.2026]\ncotejo = 250.5\n",
        )
        .unwrap();
        let path = path.to_str().unwrap();
        let settings = Settings::from_env(&[("VENTANILLA_CONFIG", path)]).unwrap();
        assert_eq!(
            settings.procedure.eligibility_cutoff.to_string(),
            "2018-04-16"
        );
        assert_eq!(settings.procedure.clave_referencia, "0141");
        let cotejo = settings
            .procedure
            .fees
            .fee(2026, Level::Licenciatura, Concept::Cotejo);
        assert_eq!(cotejo.map(|c| c.payable_pesos()), Some(250));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = Settings::from_env(&[("VENTANILLA_NOW", "tomorrow")]).unwrap_err();
        assert!(format!("{err:#}").contains("VENTANILLA_NOW"));
        let err = Settings::from_env(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert!(format!("{err:#}").contains("DATABASE_URL"));
    }
}
