//! The audit rows of a turn: the conversation's stage, the requests with their outcomes and the
//! effects, with no personal data.

use crate::conversation::state::State;
use crate::conversation::{Effect, Request, RequestOutcome};
use crate::store::audit::{AuditRow, Event};

/// What changed, for the audit trail: the conversation's stage, requests and effects.
/// No personal data.
pub(super) fn rows(
    conversation_id: i64,
    before: &State,
    after: &State,
    effects: &[Effect],
    requests: &[(Request, RequestOutcome)],
) -> Vec<AuditRow> {
    let mut rows = Vec::new();
    let (from, to) = (before.stage(), after.stage());
    let application_id = after.app().or(before.app()).map(|a| a.id);
    let row = |application_id: Option<i64>, event: Event, detail: serde_json::Value| AuditRow {
        actor: "applicant",
        conversation_id: Some(conversation_id),
        application_id,
        event,
        detail: detail.to_string(),
    };
    if from != to {
        rows.push(row(
            application_id,
            Event::Stage,
            serde_json::json!({ "from": from, "to": to }),
        ));
    }
    for (request, answer) in requests {
        let (event, app) = match answer {
            RequestOutcome::PaymentKeyClaimed { .. } => (Event::PaymentKeyClaimed, application_id),
            RequestOutcome::PaymentKeyTaken { .. } => (Event::PaymentKeyRefused, application_id),
            RequestOutcome::Submitted { application_id, .. } => {
                (Event::Submitted, Some(*application_id))
            }
            RequestOutcome::Booked { .. } => (Event::AppointmentBooked, application_id),
            RequestOutcome::DayFull { .. } | RequestOutcome::SlotFull { .. } => {
                (Event::BookingRefusedFull, application_id)
            }
            RequestOutcome::NotOpen => (Event::BookingRefusedClosed, application_id),
            RequestOutcome::HoldGone => (Event::HoldExpired, application_id),
            RequestOutcome::NeedsApproval => (Event::BookingRefusedNoShows, application_id),
        };
        let replacing = match request {
            Request::Book { replacing, .. } => *replacing,
            _ => None,
        };
        let detail = match answer {
            RequestOutcome::Booked { appointment } => serde_json::json!({
                "appointment_id": appointment.id, "office": appointment.office_id,
                "day": appointment.day, "replacing": replacing,
            }),
            RequestOutcome::Submitted { folio, .. } => serde_json::json!({ "folio": folio }),
            _ => serde_json::json!({}),
        };
        rows.push(row(app, event, detail));
    }
    for effect in effects {
        let (event, app) = match effect {
            Effect::ReleasePaymentKey { .. } => (Event::PaymentKeyReleased, application_id),
            Effect::CancelAppointment { application_id, .. } => {
                (Event::AppointmentCancelled, Some(*application_id))
            }
            Effect::Withdraw { application_id } => (Event::Withdrawn, Some(*application_id)),
            Effect::JoinWaitlist { application_id, .. } => {
                (Event::WaitlistJoined, Some(*application_id))
            }
            Effect::LeaveWaitlist { application_id } => {
                (Event::WaitlistLeft, Some(*application_id))
            }
            Effect::ReleaseHold { application_id, .. } => {
                (Event::OfferDeclined, Some(*application_id))
            }
        };
        let detail = match effect {
            Effect::JoinWaitlist {
                office_id,
                latest_day,
                ..
            } => serde_json::json!({ "office": office_id, "latest_day": latest_day }),
            Effect::ReleaseHold { hold_id, .. } => serde_json::json!({ "appointment_id": hold_id }),
            _ => serde_json::json!({}),
        };
        rows.push(row(app, event, detail));
    }
    rows
}
