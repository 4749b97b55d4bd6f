//! The office side: the day's agenda, check-in, and the decision on an application — issuing
//! the signed cédula or rejecting with a reason. Each action is one transaction with its audit
//! event and the applicant's notifications in the outbox; each refuses what makes no sense.
//!
//! `accounts`: the staff's accounts and console sessions.

pub mod accounts;
pub mod calendar;
pub mod counter;

use chrono::{NaiveDate, Timelike};
use serde::Serialize;

use crate::conversation::reply::Reply;
use crate::conversation::state::AppRef;
use crate::documents::DocumentRef;
use crate::documents::signature::Signer;
use crate::domain::academic::Level;
use crate::domain::application::ApplicationData;
use crate::domain::application::Status;
use crate::domain::cedula::{CADENA_VERSION, CedulaNumber, CedulaPayload};
use crate::domain::staff::{Permission, StaffMember};
use crate::service::{Notice, OutgoingMessage, Priority, Service};
use crate::store::agenda::AgendaRow;
use crate::store::audit::Event;
use crate::store::cases::Case;
use crate::store::cedulas::CedulaRow;
use crate::store::{self, Conn};

/// Why the office cannot do what it asked; each has its explanation in `templates/staff/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    #[error("no application has that folio")]
    UnknownFolio,
    #[error("the cédula was already issued")]
    AlreadyIssued,
    #[error("the application was rejected")]
    Rejected,
    #[error("the applicant withdrew the application")]
    Withdrawn,
    #[error("the applicant has not been checked in")]
    NotAttended,
    #[error("the application has no appointment")]
    NotScheduled,
    #[error("the applicant was already checked in")]
    AlreadyAttended,
    #[error("a rejection needs a reason")]
    ReasonRequired,
    #[error("the staff member's role does not allow it")]
    NotAllowed,
    #[error("the case belongs to another office")]
    OtherOffice,
    #[error("the office does not open that day or at that time")]
    NotBookable,
    #[error("that day or time is full")]
    Full,
    #[error("the appointment has not happened yet")]
    NotYet,
    #[error("the checklist has no such item")]
    UnknownItem,
    #[error("not every item of the checklist was seen")]
    ChecklistIncomplete,
    #[error("the application has no documents yet")]
    NoDocuments,
    #[error("the application was not rejected")]
    NotRejected,
    #[error("the applicant has gone on with a newer application or draft")]
    Superseded,
    #[error("the application has no missed appointments waiting for approval")]
    NothingToApprove,
}

impl Refusal {
    pub fn key(self) -> &'static str {
        match self {
            Refusal::UnknownFolio => "unknown_folio",
            Refusal::AlreadyIssued => "already_issued",
            Refusal::Rejected => "rejected",
            Refusal::Withdrawn => "withdrawn",
            Refusal::NotAttended => "not_attended",
            Refusal::NotScheduled => "not_scheduled",
            Refusal::AlreadyAttended => "already_attended",
            Refusal::ReasonRequired => "reason_required",
            Refusal::NotAllowed => "not_allowed",
            Refusal::OtherOffice => "other_office",
            Refusal::NotBookable => "not_bookable",
            Refusal::Full => "full",
            Refusal::NotYet => "not_yet",
            Refusal::UnknownItem => "unknown_item",
            Refusal::ChecklistIncomplete => "checklist_incomplete",
            Refusal::NoDocuments => "no_documents",
            Refusal::NotRejected => "not_rejected",
            Refusal::Superseded => "superseded",
            Refusal::NothingToApprove => "nothing_to_approve",
        }
    }
}

/// The refusal that a case's status implies for an action needing `wanted`.
fn refuse(status: Status, wanted: Status) -> Option<Refusal> {
    match status {
        s if s == wanted => None,
        Status::Issued => Some(Refusal::AlreadyIssued),
        Status::Rejected => Some(Refusal::Rejected),
        Status::Withdrawn => Some(Refusal::Withdrawn),
        Status::Attended if wanted == Status::Scheduled => Some(Refusal::AlreadyAttended),
        Status::Submitted if wanted == Status::Scheduled => Some(Refusal::NotScheduled),
        _ => Some(Refusal::NotAttended),
    }
}

/// The case of `folio` with its status, when `by` may act on it for `permission`.
async fn find(
    service: &Service,
    conn: &mut Conn<'_>,
    by: By<'_>,
    folio: &str,
    permission: Permission,
) -> anyhow::Result<Result<(Case, Status), Refusal>> {
    let folio = folio.trim().to_ascii_uppercase();
    let Some(case) = store::cases::by_folio(conn, &folio).await? else {
        return Ok(Err(Refusal::UnknownFolio));
    };
    if let Some(refusal) = allowed(service, conn, by, &case, permission).await? {
        return Ok(Err(refusal));
    }
    let status = case.status;
    Ok(Ok((case, status)))
}

/// The case of `folio` when `by` may act on it for `permission` and it is in status `wanted`.
pub(crate) async fn find_in(
    service: &Service,
    conn: &mut Conn<'_>,
    by: By<'_>,
    folio: &str,
    permission: Permission,
    wanted: Status,
) -> anyhow::Result<Result<Case, Refusal>> {
    Ok(match find(service, conn, by, folio, permission).await? {
        Ok((case, status)) => match refuse(status, wanted) {
            Some(refusal) => Err(refusal),
            None => Ok(case),
        },
        Err(refusal) => Err(refusal),
    })
}

/// The applicant came to the appointment.
///
/// `by` is the staff member acting from the console (their role and office are checked); the
/// command line acts as the office itself (`None`).
pub async fn checkin(
    service: &Service,
    by: By<'_>,
    folio: &str,
) -> anyhow::Result<Result<String, Refusal>> {
    let now = service.clock.now();
    let mut tx = service.db.begin().await?;
    let case = match find_in(
        service,
        &mut tx.conn(),
        by,
        folio,
        Permission::Attend,
        Status::Scheduled,
    )
    .await?
    {
        Ok(case) => case,
        Err(refusal) => return Ok(Err(refusal)),
    };
    store::applications::set_status(&mut tx.conn(), case.id, Status::Attended, now).await?;
    audit(
        &mut tx.conn(),
        service,
        by,
        &case,
        Event::CheckedIn,
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(case.folio))
}

/// The applicant did not come to the appointment: it is marked so (the agenda keeps it), the
/// application waits for a new appointment, and the applicant is told how to book again.
pub async fn no_show(
    service: &Service,
    by: By<'_>,
    folio: &str,
) -> anyhow::Result<Result<String, Refusal>> {
    let now = service.clock.now();
    let mut tx = service.db.begin().await?;
    let case = match find_in(
        service,
        &mut tx.conn(),
        by,
        folio,
        Permission::Attend,
        Status::Scheduled,
    )
    .await?
    {
        Ok(case) => case,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let view = store::applications::view(&mut tx.conn(), case.id).await?;
    let Some(appointment) = view.and_then(|v| v.appointment) else {
        return Ok(Err(Refusal::NotScheduled));
    };
    // Not before the appointment's time, in its office's zone.
    let procedure = &service.settings.procedure;
    let zone = procedure
        .office(&appointment.office_id)
        .map_or_else(|| procedure.zone(), |o| o.zone());
    let local = now.with_timezone(&zone).naive_local();
    if local < appointment.day.and_time(appointment.slot) {
        return Ok(Err(Refusal::NotYet));
    }
    record_no_show(&mut tx.conn(), service, by, &case, &appointment).await?;
    tx.commit().await?;
    Ok(Ok(case.folio))
}

/// Records that the applicant of `case` did not come to `appointment` (the clerk's no-show,
/// or the scheduler's at the office's closing time): the appointment marked (seat freed), the
/// application back to waiting for one, the audit event, the applicant told how to book again.
pub(crate) async fn record_no_show(
    conn: &mut Conn<'_>,
    service: &Service,
    by: By<'_>,
    case: &Case,
    appointment: &crate::domain::application::AppointmentView,
) -> anyhow::Result<()> {
    let now = service.clock.now();
    if store::appointments::mark_no_show(conn, case.id, now).await? {
        store::applications::count_no_show(conn, case.id).await?;
    }
    store::applications::set_status(conn, case.id, Status::Submitted, now).await?;
    let detail = serde_json::json!({ "appointment": appointment.id });
    audit(conn, service, by, case, Event::NoShow, detail).await?;
    let reply = Reply::new("no_show")
        .with("folio", &case.folio)
        .with("day", appointment.day)
        .with(
            "slot",
            crate::domain::calendar::clock_time(appointment.slot),
        );
    notify(conn, service, case, &reply, None).await
}

/// What an approval did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub folio: String,
    pub number: String,
}

/// Issues the cédula: allocates the number, builds and signs the cadena original, stores the
/// payload and signature, and queues the e-mail with the PDF (always, to the verified address)
/// and a notice on the applicant's own channel when it is not that e-mail.
pub async fn approve(
    service: &Service,
    by: By<'_>,
    signer: &Signer,
    folio: &str,
) -> anyhow::Result<Result<Issued, Refusal>> {
    let now = service.clock.now();
    let issued_at = now.with_nanosecond(0).unwrap_or(now);
    let mut tx = service.db.begin().await?;
    let case = match find_in(
        service,
        &mut tx.conn(),
        by,
        folio,
        Permission::Issue,
        Status::Attended,
    )
    .await?
    {
        Ok(case) => case,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if !counter::ready_to_issue(service, &mut tx.conn(), case.id).await? {
        return Ok(Err(Refusal::ChecklistIncomplete));
    }
    let data: ApplicationData = serde_json::from_str(&case.data)?;
    let number = store::cedulas::next_number(&mut tx.conn()).await?;
    let number = CedulaNumber::new(u32::try_from(number)?)?;
    let payload = CedulaPayload {
        version: CADENA_VERSION,
        number,
        folio: case.folio.clone(),
        curp: data.curp.as_str().to_string(),
        given_names: data.name.given_names().to_string(),
        first_surname: data.name.first_surname().to_string(),
        second_surname: data.name.second_surname().map(str::to_string),
        institution: data.academic.institution.clone(),
        program: data.academic.program.clone(),
        level: data.academic.level.key().to_string(),
        issued_at,
        verification_url: Some(format!(
            "{}/verificar/{number}",
            service.settings.public_url
        )),
    };
    let cadena = payload.cadena_original();
    let row = CedulaRow {
        number: i64::from(number.value()),
        application_id: case.id,
        payload: serde_json::to_string(&payload)?,
        signature: signer.sign(&cadena),
        public_key: signer.public_key(),
        cadena,
        issued_at,
    };
    store::cedulas::insert(&mut tx.conn(), &row).await?;
    store::applications::set_status(&mut tx.conn(), case.id, Status::Issued, now).await?;
    let number_text = number.to_string();
    audit(
        &mut tx.conn(),
        service,
        by,
        &case,
        Event::CedulaIssued,
        serde_json::json!({ "number": number_text }),
    )
    .await?;
    let reply = Reply::new("cedula_issued")
        .with("number", &number_text)
        .with(
            "url",
            format!("{}/verificar/{number_text}", service.settings.public_url),
        )
        .with("email", data.email.as_str());
    let document = DocumentRef::Cedula { number: row.number };
    let email = data.email.as_str().to_string();
    notify(
        &mut tx.conn(),
        service,
        &case,
        &reply,
        Some((&email, document)),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(Issued {
        folio: case.folio,
        number: number_text,
    }))
}

/// Rejects the application; the applicant is told why and what to do next.
pub async fn reject(
    service: &Service,
    by: By<'_>,
    folio: &str,
    reason: &str,
) -> anyhow::Result<Result<String, Refusal>> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Ok(Err(Refusal::ReasonRequired));
    }
    let now = service.clock.now();
    let mut tx = service.db.begin().await?;
    let found = find(service, &mut tx.conn(), by, folio, Permission::Issue).await?;
    let (case, status) = match found {
        Ok(found) => found,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if matches!(
        status,
        Status::Issued | Status::Rejected | Status::Withdrawn
    ) {
        return Ok(Err(
            refuse(status, Status::Attended).unwrap_or(Refusal::Rejected)
        ));
    }
    store::appointments::cancel_active(&mut tx.conn(), case.id, now).await?;
    store::applications::set_status(&mut tx.conn(), case.id, Status::Rejected, now).await?;
    store::cases::set_rejection_reason(&mut tx.conn(), case.id, reason).await?;
    // The reason is the clerk's free text: it stays with the case, not in the audit detail.
    audit(
        &mut tx.conn(),
        service,
        by,
        &case,
        Event::Rejected,
        serde_json::json!({}),
    )
    .await?;
    let reply = Reply::new("application_rejected")
        .with("folio", &case.folio)
        .with("reason", reason);
    notify(&mut tx.conn(), service, &case, &reply, None).await?;
    tx.commit().await?;
    Ok(Ok(case.folio))
}

/// Reopens a rejected application (a supervisor, once what was wrong is cleared up): it waits
/// for an appointment again, what the counter had checked is cleared for the next visit, and
/// the applicant, whose conversation follows it again, is asked to book. Refused when the
/// applicant has gone on with a newer application or a new draft.
pub async fn reopen(
    service: &Service,
    by: By<'_>,
    folio: &str,
) -> anyhow::Result<Result<String, Refusal>> {
    let now = service.clock.now();
    let mut tx = service.db.begin().await?;
    let found = find(service, &mut tx.conn(), by, folio, Permission::Supervise).await?;
    let (case, status) = match found {
        Ok(found) => found,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if status != Status::Rejected {
        return Ok(Err(Refusal::NotRejected));
    }
    if store::cases::newer_in_conversation(&mut tx.conn(), &case).await? {
        return Ok(Err(Refusal::Superseded));
    }
    if store::applications::set_status(&mut tx.conn(), case.id, Status::Submitted, now)
        .await?
        .is_none()
    {
        anyhow::bail!("a rejected application could not be reopened");
    }
    store::cases::reopen(&mut tx.conn(), case.id).await?;
    let view = store::applications::view(&mut tx.conn(), case.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the application exists"))?;
    let app = AppRef::of(&view);
    let procedure = &service.settings.procedure;
    let told = service
        .tell(
            &mut tx.conn(),
            procedure,
            (case.conversation_id, &view),
            Priority::Reply,
            |state, ctx| crate::conversation::office_reopened(state, &app, &view, ctx),
        )
        .await?;
    if told.is_none() {
        return Ok(Err(Refusal::Superseded));
    }
    audit(
        &mut tx.conn(),
        service,
        by,
        &case,
        Event::Reopened,
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(case.folio))
}

/// Lets an applicant who missed `booking.no_show_limit` appointments book again: the no-shows so
/// far are approved (the next ones count again) and the applicant is told on their channel.
/// Returns the folio and the no-shows approved.
pub async fn approve_booking(
    service: &Service,
    by: By<'_>,
    folio: &str,
) -> anyhow::Result<Result<(String, u32), Refusal>> {
    let mut tx = service.db.begin().await?;
    let found = find(service, &mut tx.conn(), by, folio, Permission::Supervise).await?;
    let (case, status) = match found {
        Ok(found) => found,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if !status.is_open() {
        return Ok(Err(
            refuse(status, Status::Submitted).unwrap_or(Refusal::NothingToApprove)
        ));
    }
    if !store::applications::approve_no_shows(&mut tx.conn(), case.id).await? {
        return Ok(Err(Refusal::NothingToApprove));
    }
    let view = store::applications::view(&mut tx.conn(), case.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the application exists"))?;
    let app = AppRef::of(&view);
    let procedure = &service.settings.procedure;
    service
        .tell(
            &mut tx.conn(),
            procedure,
            (case.conversation_id, &view),
            Priority::Reply,
            |state, ctx| crate::conversation::booking_approved(state, &app, &view, ctx),
        )
        .await?;
    let detail = serde_json::json!({ "no_shows": view.no_shows });
    audit(
        &mut tx.conn(),
        service,
        by,
        &case,
        Event::BookingApproved,
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(Ok((case.folio, view.no_shows)))
}

/// One appointment of the day, as the office reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgendaEntry {
    /// "09:30".
    pub slot: String,
    pub office_id: String,
    pub folio: String,
    pub status: Status,
    /// The applicant did not come (the application is back to waiting for an appointment).
    pub no_show: bool,
    /// Appointments the application missed so far (past `booking.no_show_limit`, a new booking
    /// needs a supervisor's approval).
    pub no_shows: u32,
    pub name: String,
    pub level: Option<Level>,
}

/// The day's appointments (of one office, or of all), by office and time.
pub async fn agenda(
    service: &Service,
    day: NaiveDate,
    office: Option<&str>,
) -> anyhow::Result<Vec<AgendaEntry>> {
    let mut reader = service.db.reader().await?;
    let rows: Vec<AgendaRow> = store::agenda::agenda(&mut reader.conn(), day, office).await?;
    Ok(entries(rows))
}

/// The applications of `office` that came and wait for approval or rejection.
pub async fn awaiting_decision(
    service: &Service,
    office: &str,
) -> anyhow::Result<Vec<AgendaEntry>> {
    let mut reader = service.db.reader().await?;
    let rows = store::agenda::awaiting_decision(&mut reader.conn(), office).await?;
    Ok(entries(rows))
}

/// The day's outbox as the office watches it: messages that failed for good, and messages
/// paused because their address bounced.
pub async fn troubled_messages(service: &Service) -> anyhow::Result<(i64, i64)> {
    let mut reader = service.db.reader().await?;
    let counts = store::outbox::counts(&mut reader.conn()).await?;
    let of = |status| {
        counts
            .iter()
            .filter(|c| c.status == status)
            .map(|c| c.count)
            .sum::<i64>()
    };
    Ok((
        of(store::outbox::Status::Failed),
        of(store::outbox::Status::Paused),
    ))
}

fn entries(rows: Vec<AgendaRow>) -> Vec<AgendaEntry> {
    rows.into_iter()
        .map(|row| {
            let data: Option<ApplicationData> = serde_json::from_str(&row.data).ok();
            AgendaEntry {
                slot: row.slot,
                office_id: row.office_id,
                folio: row.folio,
                status: row.status,
                no_show: row.appointment_status == "no_show",
                no_shows: u32::try_from(row.no_shows).unwrap_or(0),
                name: data
                    .as_ref()
                    .map(|d| d.name.full_name())
                    .unwrap_or_default(),
                level: data.map(|d| d.academic.level),
            }
        })
        .collect()
}

/// Addresses whose mail is paused by a bounce, with the reason: the office sees who is not
/// getting their e-mail (their mail waits, and goes out when the address writes again).
pub async fn paused_mail(service: &Service) -> anyhow::Result<Vec<store::mail::Paused>> {
    let mut reader = service.db.reader().await?;
    Ok(store::mail::paused(&mut reader.conn()).await?)
}

pub(crate) async fn audit(
    conn: &mut Conn<'_>,
    service: &Service,
    by: By<'_>,
    case: &Case,
    event: Event,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    store::audit::record_by_staff(
        conn,
        service.clock.now(),
        by.map(|member| member.id),
        Some(case.conversation_id),
        Some(case.id),
        event,
        &detail.to_string(),
    )
    .await
}

/// Who does an office action: a staff member in the console, or `None` for the command line
/// (run by whoever operates the service).
pub type By<'a> = Option<&'a StaffMember>;

/// Why `by` may not act on `case` for `permission`: their role, or another office's case (the
/// office of its appointment).
async fn allowed(
    service: &Service,
    conn: &mut Conn<'_>,
    by: By<'_>,
    case: &Case,
    permission: Permission,
) -> anyhow::Result<Option<Refusal>> {
    let Some(member) = by else {
        return Ok(None);
    };
    let view = store::applications::view(conn, case.id).await?;
    let office_id = view
        .as_ref()
        .and_then(|v| v.appointment.as_ref())
        .map(|a| a.office_id.clone());
    let office = office_id
        .as_deref()
        .and_then(|id| service.settings.procedure.office(id));
    if let Some(id) = &office_id
        && !member.serves(id)
    {
        return Ok(Some(Refusal::OtherOffice));
    }
    let clerks_issue = office.is_none_or(|o| o.clerks_issue);
    Ok((!member.role.allows(permission, clerks_issue)).then_some(Refusal::NotAllowed))
}

/// Queues `reply` on the applicant's own channel and, with a document, an e-mail carrying it to
/// the verified address (once, when that is the channel already).
async fn notify(
    conn: &mut Conn<'_>,
    service: &Service,
    case: &Case,
    reply: &Reply,
    email: Option<(&str, DocumentRef)>,
) -> anyhow::Result<()> {
    let conversation = store::conversations::get(conn, case.conversation_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the case has no conversation"))?;
    let message = service.render(reply)?;
    let mut rows: Vec<(String, String, OutgoingMessage)> = Vec::new();
    match email {
        Some((address, document)) => {
            let with_document = OutgoingMessage {
                attachments: vec![document],
                ..message.clone()
            };
            rows.push(("email".into(), address.to_string(), with_document));
            if conversation.channel != "email" || conversation.address != address {
                rows.push((
                    conversation.channel.clone(),
                    conversation.address.clone(),
                    message,
                ));
            }
        }
        None => rows.push((
            conversation.channel.clone(),
            conversation.address.clone(),
            message,
        )),
    }
    let notices: Vec<Notice<'_>> = rows
        .iter()
        .map(|(channel, address, message)| Notice {
            channel,
            address,
            message,
        })
        .collect();
    service
        .queue(conn, case.conversation_id, &notices, Priority::Reply)
        .await?;
    Ok(())
}
