//! The dialogue, as a pure function: `(state, input, context) → (state, replies, effects,
//! request)`. It knows no channel, no database and no clock of its own; the turn
//! (`crate::service`) loads the context, applies what the step asks for, and stores the result.
//!
//! It depends on `domain` only: never on the store, the configuration loader, the templates
//! or a channel.
//!
//! - `state`: what is collected and what is awaited (serde, versioned): one struct per state.
//! - `step`: `step()`, which only dispatches to the state's file under `steps/` (its prompt,
//!   its answers, the outcomes of its requests) or to `commands` (the words that work
//!   everywhere).
//! - `offer`, `field`: the choices a step offers and the fields of the draft, as enums.
//! - `read`: reading a value of a kind (CURP, key, address, date) from a whole answer or a
//!   sentence; `explain`: domain errors turned into replies.
//! - `input/`: normalising what people type, one file per kind (dates, yes/no, commands,
//!   choices, values inside a sentence, free text).
//! - `vocabulary`, `labels`: the words `input` reads (`templates/es-MX/vocabulary.toml`) and
//!   the labels shown (`templates/es-MX/labels.toml`).
//! - `reply`: channel-neutral messages.

mod commands;
mod explain;
mod field;
pub mod input;
pub mod labels;
mod offer;
mod read;
pub mod reply;
pub mod state;
pub mod step;
mod steps;
pub mod vocabulary;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::application::{ApplicationData, ApplicationView, AppointmentView, Folio};
use crate::domain::calendar::Availability;
use crate::domain::email::EmailAddress;
use crate::domain::payment::PaymentKey;
use crate::domain::procedure::Procedure;
use labels::Labels;
use reply::Reply;
use state::State;

pub use step::step;
pub use steps::moved::office_moved;
pub use steps::reminded::reminded;
pub use steps::stalled::{draft_expired, draft_reminded, unbooked_reminded};
pub use steps::tracking::{booking_approved, office_reopened};
pub use steps::waitlist::{hold_expired, offered};

/// What arrived from the applicant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Input {
    /// Typed text.
    Text(String),
    /// A button press carrying a choice id.
    Choice(String),
    /// Something that is not text (a sticker, a photo, a voice note…): its kind.
    Unsupported(String),
    /// The outcome of the request made by the previous step of this same turn.
    Outcome(RequestOutcome),
}

/// The channel the conversation happens on, as far as the dialogue cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelKind {
    Terminal,
    Telegram,
    /// E-mail: the sender's address is the one to confirm.
    Email(EmailAddress),
}

/// Everything a step may read, loaded by the turn before the step.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub now: DateTime<Utc>,
    pub procedure: &'a Procedure,
    pub labels: &'a Labels,
    pub public_url: &'a str,
    pub channel: ChannelKind,
    pub conversation_id: i64,
    /// The application as the store has it (staff may have moved it on).
    pub application: Option<ApplicationView>,
    pub availability: Availability,
}

impl Context<'_> {
    /// The words the dialogue reads.
    pub fn vocabulary(&self) -> &vocabulary::Vocabulary {
        self.labels.vocabulary()
    }

    /// The procedure's date now (a draft's dates are checked against it).
    pub fn today(&self) -> NaiveDate {
        self.procedure.today(self.now)
    }
}

/// Something only the store can answer, asked by a step and answered within the same turn:
/// the outcome comes back to the step as [`Input::Outcome`] with the state unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "request")]
pub enum Request {
    /// Bind a llave de pago to this conversation (one application per key).
    ClaimPaymentKey { key: PaymentKey },
    /// Create the application and give it a folio.
    Submit { data: Box<ApplicationData> },
    /// Take a seat (and free `replacing`'s seat in the same transaction).
    Book {
        application_id: i64,
        office_id: String,
        day: NaiveDate,
        slot: NaiveTime,
        replacing: Option<i64>,
    },
    /// Take the seat held for the application (a waitlist offer): its appointment moves there.
    TakeHeldSeat { application_id: i64, hold_id: i64 },
}

/// The store's answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum RequestOutcome {
    PaymentKeyClaimed {
        key: PaymentKey,
    },
    PaymentKeyTaken {
        key: PaymentKey,
    },
    Submitted {
        application_id: i64,
        folio: Folio,
    },
    Booked {
        appointment: AppointmentView,
    },
    DayFull {
        day: NaiveDate,
    },
    SlotFull {
        day: NaiveDate,
        slot: NaiveTime,
    },
    /// The application can no longer be booked (withdrawn, rejected, issued meanwhile).
    NotOpen,
    /// The held seat is no longer held (the offer expired, or the office closed that day).
    HoldGone,
    /// The applicant missed too many appointments: a new one waits for the office's approval.
    NeedsApproval,
}

/// Changes to the store that always succeed within the turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum Effect {
    /// The applicant changed or abandoned the key: free it for another application.
    ReleasePaymentKey { key: PaymentKey },
    /// Cancel the active appointment, freeing its seat.
    CancelAppointment {
        application_id: i64,
        appointment_id: i64,
    },
    /// Withdraw the application (and cancel its appointment).
    Withdraw { application_id: i64 },
    /// Put the application on `office_id`'s waitlist, up to `latest_day`.
    JoinWaitlist {
        application_id: i64,
        office_id: String,
        latest_day: NaiveDate,
    },
    /// Take the application off the waitlist.
    LeaveWaitlist { application_id: i64 },
    /// Let the held seat go (to the next in line).
    ReleaseHold { application_id: i64, hold_id: i64 },
}

/// The result of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub state: State,
    pub replies: Vec<Reply>,
    pub effects: Vec<Effect>,
    pub request: Option<Request>,
}
