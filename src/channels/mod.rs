//! Channel adapters: each turns its channel's input into [`crate::service::Inbound`] and
//! delivers outbox messages through a [`crate::delivery::Sender`]. No rule of the procedure
//! lives here.
//!
//! - `email`: IMAP, the MTA pipe and the Maildir inbox in; SMTP or `.eml` files out (lettre).
//! - `telegram`: the Telegram bot (teloxide): long polling, inline keyboards, the outbox sender.
//! - `terminal`: `ventanilla chat`, for a person or (with `--jsonl`) for scripts.

pub mod email;
pub mod telegram;
pub mod terminal;
