//! Ventanilla: the cédula profesional without a queue.
//!
//! # Layout (ARCHITECTURE.md has the whole map)
//! - [`config`]: settings from defaults, an optional TOML file and the environment.
//! - [`domain`]: pure rules of the procedure (CURP, fees, calendar, lifecycle…).
//! - [`conversation`]: the dialogue as a pure function of state, input and context.
//! - [`templates`]: every sentence the applicant reads, rendered from `templates/`.
//! - [`service`]: one turn = one transaction (receipt, step, store, outbox).
//! - [`store`]: sqlx persistence on SQLite (default) or PostgreSQL.
//! - [`channels`]: adapters that turn channel input into turns and deliver replies.
//! - [`delivery`]: the outbox worker (retries, backoff, statuses).
//! - [`guard`]: every input's attempts counted; one that fails or crashes twice is set aside.
//! - [`files`]: owner-only folders and files under the data folder.
//! - [`documents`]: PDFs (typst), QR codes, the cédula's signature and its verification.
//! - [`staff`]: the office side: agenda, check-in, issuing or rejecting.
//! - [`http`]: health, metrics, the verification page.
//! - [`console`]: the office's web console at `/oficina` (sessions, roles, pages).
//! - [`startup`]: connecting and serving (what `ventanilla serve` runs).
//! - [`telemetry`]: logging set-up.

pub mod channels;
pub mod config;
pub mod console;
pub mod conversation;
pub mod delivery;
pub mod documents;
pub mod domain;
pub mod files;
pub mod guard;
pub mod http;
pub mod scheduler;
pub mod service;
pub mod staff;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod templates;
