//! Names of the documents a message carries. A document is named by the records it is rendered
//! from, never stored as bytes: rendering it again gives the same file.

use serde::{Deserialize, Serialize};

use crate::domain::academic::Level;
use crate::domain::application::ApplicationView;
use crate::domain::fees::Concept;

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

impl DocumentRef {
    /// The payment help sheets of a level, one per concept, with the fees of `year`.
    pub fn payment_sheets(conversation_id: i64, level: Level, year: i32) -> Vec<DocumentRef> {
        Concept::ALL
            .iter()
            .map(|concept| DocumentRef::PaymentSheet {
                conversation_id,
                level: level.key().to_string(),
                concept: concept.key().to_string(),
                year,
            })
            .collect()
    }

    /// The documents a submitted application has: the request, the active appointment's
    /// receipt and invitation, the cédula once issued.
    pub fn of_application(view: &ApplicationView) -> Vec<DocumentRef> {
        let mut documents = vec![DocumentRef::Request {
            application_id: view.id,
        }];
        if let Some(appointment) = &view.appointment {
            documents.extend(DocumentRef::appointment(appointment.id));
        }
        if let Some(number) = view.cedula {
            documents.push(DocumentRef::Cedula { number });
        }
        documents
    }

    /// What a booked appointment comes with: its receipt and its calendar invitation.
    pub fn appointment(appointment_id: i64) -> [DocumentRef; 2] {
        [
            DocumentRef::AppointmentReceipt { appointment_id },
            DocumentRef::Invite {
                appointment_id,
                cancelled: false,
            },
        ]
    }
}
