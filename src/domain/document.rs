//! Names of the documents a message carries. A document is named by the records it is rendered
//! from, never stored as bytes: rendering it again gives the same file.

use serde::{Deserialize, Serialize};

/// A document, by the records that make it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DocumentRef {
    /// A payment help sheet: one concept, for the level chosen, with the fees of `year`.
    PaymentSheet {
        conversation_id: i64,
        level: String,
        concept: String,
        year: i32,
    },
    /// The request as submitted.
    Request { application_id: i64 },
    /// The appointment receipt.
    AppointmentReceipt { appointment_id: i64 },
    /// The calendar invitation: the request when booked, the cancellation when cancelled.
    Invite {
        appointment_id: i64,
        #[serde(default)]
        cancelled: bool,
    },
    /// The cédula profesional electrónica.
    Cedula { number: i64 },
}
