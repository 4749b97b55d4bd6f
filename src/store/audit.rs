//! The audit trail: every change of an application or a conversation's stage, with its actor.
//! Details never carry personal data (no CURP, name or address).

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{Conn, on};

/// What happened: the `event` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The conversation moved from one stage to another (`{from, to}`).
    Stage,
    PaymentKeyClaimed,
    PaymentKeyRefused,
    PaymentKeyReleased,
    Submitted,
    AppointmentBooked,
    BookingRefusedFull,
    BookingRefusedClosed,
    AppointmentCancelled,
    Withdrawn,
    CheckedIn,
    CedulaIssued,
    Rejected,
    /// The applicant did not come to the appointment.
    NoShow,
    /// The office moved the appointment (a closure, or for the applicant).
    AppointmentMoved,
    /// The office changed its hours, slot length or daily capacity.
    HoursChanged,
    /// The office gave one day its own capacity (or the usual one again).
    DayCapacityChanged,
    /// The office closed a day or a range of days.
    OfficeClosed,
    /// The clerk marked items of the counter's checklist as seen or not (`{seen, unseen}`).
    DocumentsChecked,
    /// The office sent the applicant their documents again.
    DocumentsResent,
    /// A supervisor reopened a rejected application.
    Reopened,
    /// An admin (or the command line) created a staff account, disabled one, or set its
    /// password (`{account}`).
    AccountAdded,
    AccountDisabled,
    PasswordReset,
    /// A paused address wrote again: its mail resumes.
    AddressReachable,
    /// A delivery report about a message of ours: mail to the address is paused.
    AddressBounced,
    /// The channel refused the applicant for good (Telegram 403).
    Unreachable,
    /// An input that failed or crashed the service repeatedly was set aside.
    InputQuarantined,
    /// A booking refused until the office approves it (too many no-shows), and the approval.
    BookingRefusedNoShows,
    BookingApproved,
    /// A draft left unanswered was reminded, then expired (`{reason, silent_days}`); a submitted
    /// application without an appointment was reminded (`{reminder}`).
    DraftReminded,
    DraftExpired,
    UnbookedReminded,
    /// A notice went to the applicant's e-mail because their own channel cannot be reached
    /// (`{from, to}`: the channels).
    NoticeRerouted,
    /// The applicant joined an office's waitlist (`{office, latest_day}`) or left it.
    WaitlistJoined,
    WaitlistLeft,
    /// A freed seat was held for the first in line (`{appointment_id, day}`).
    SeatOffered,
    /// The applicant took the held seat (the booking), let it go, or did not answer in time.
    OfferDeclined,
    HoldExpired,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Stage => "stage",
            Event::PaymentKeyClaimed => "payment_key_claimed",
            Event::PaymentKeyRefused => "payment_key_refused",
            Event::PaymentKeyReleased => "payment_key_released",
            Event::Submitted => "submitted",
            Event::AppointmentBooked => "appointment_booked",
            Event::BookingRefusedFull => "booking_refused_full",
            Event::BookingRefusedClosed => "booking_refused_closed",
            Event::AppointmentCancelled => "appointment_cancelled",
            Event::Withdrawn => "withdrawn",
            Event::CheckedIn => "checked_in",
            Event::CedulaIssued => "cedula_issued",
            Event::Rejected => "rejected",
            Event::NoShow => "no_show",
            Event::AppointmentMoved => "appointment_moved",
            Event::HoursChanged => "hours_changed",
            Event::DayCapacityChanged => "day_capacity_changed",
            Event::OfficeClosed => "office_closed",
            Event::DocumentsChecked => "documents_checked",
            Event::DocumentsResent => "documents_resent",
            Event::Reopened => "reopened",
            Event::AccountAdded => "account_added",
            Event::AccountDisabled => "account_disabled",
            Event::PasswordReset => "password_reset",
            Event::AddressReachable => "address_reachable",
            Event::AddressBounced => "address_bounced",
            Event::Unreachable => "unreachable",
            Event::InputQuarantined => "input_quarantined",
            Event::BookingRefusedNoShows => "booking_refused_no_shows",
            Event::BookingApproved => "booking_approved",
            Event::DraftReminded => "draft_reminded",
            Event::DraftExpired => "draft_expired",
            Event::UnbookedReminded => "unbooked_reminded",
            Event::NoticeRerouted => "notice_rerouted",
            Event::WaitlistJoined => "waitlist_joined",
            Event::WaitlistLeft => "waitlist_left",
            Event::SeatOffered => "seat_offered",
            Event::OfferDeclined => "offer_declined",
            Event::HoldExpired => "hold_expired",
        }
    }
}

/// One recorded event, as read back.
#[derive(Debug, Clone, FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub actor: String,
    pub conversation_id: Option<i64>,
    pub application_id: Option<i64>,
    pub event: String,
    pub detail: String,
    /// The staff member who did it (staff actions from the console).
    #[sqlx(default)]
    pub staff_id: Option<i64>,
}

/// One event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub actor: &'static str,
    pub conversation_id: Option<i64>,
    pub application_id: Option<i64>,
    pub event: Event,
    /// JSON object, without personal data.
    pub detail: String,
}

/// The insert of audit events, values to follow (here and in the batch of `store::turns`).
pub(super) const INSERT: &str =
    "INSERT INTO audit_events (at, actor, conversation_id, application_id, event, detail)";

pub async fn record(
    conn: &mut Conn<'_>,
    now: DateTime<Utc>,
    actor: &str,
    conversation_id: Option<i64>,
    application_id: Option<i64>,
    event: Event,
    detail: &str,
) -> Result<(), sqlx::Error> {
    static ONE: LazyLock<String> =
        LazyLock::new(|| format!("{INSERT} VALUES ($1, $2, $3, $4, $5, $6)"));
    on!(conn, c => sqlx::query(sqlx::AssertSqlSafe(ONE.as_str()))
    .bind(now)
    .bind(actor)
    .bind(conversation_id)
    .bind(application_id)
    .bind(event.as_str())
    .bind(detail)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Records an event done by a staff member (`staff_id`), or by the office's command line
/// (`None`).
pub async fn record_by_staff(
    conn: &mut Conn<'_>,
    now: DateTime<Utc>,
    staff_id: Option<i64>,
    conversation_id: Option<i64>,
    application_id: Option<i64>,
    event: Event,
    detail: &str,
) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "INSERT INTO audit_events (at, actor, staff_id, conversation_id, application_id, event, detail)
         VALUES ($1, 'staff', $2, $3, $4, $5, $6)",
    )
    .bind(now)
    .bind(staff_id)
    .bind(conversation_id)
    .bind(application_id)
    .bind(event.as_str())
    .bind(detail)
    .execute(c)
    .await
    .map(|_| ()))
}

/// The events of one kind, oldest first (for the office and tests).
pub async fn by_event(conn: &mut Conn<'_>, event: Event) -> Result<Vec<AuditEntry>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, AuditEntry>(
        "SELECT id, actor, conversation_id, application_id, event, detail, staff_id FROM audit_events
         WHERE event = $1 ORDER BY id",
    )
    .bind(event.as_str())
    .fetch_all(c)
    .await)
}

/// The events of an application or a conversation, oldest first.
pub async fn list(
    conn: &mut Conn<'_>,
    conversation_id: Option<i64>,
    application_id: Option<i64>,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, AuditEntry>(
        "SELECT id, actor, conversation_id, application_id, event, detail, staff_id FROM audit_events
         WHERE ($1 IS NOT NULL AND conversation_id = $1) OR ($2 IS NOT NULL AND application_id = $2)
         ORDER BY id",
    )
    .bind(conversation_id)
    .bind(application_id)
    .fetch_all(c)
    .await)
}
