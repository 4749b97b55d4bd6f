//! A case (`/oficina/casos/FOLIO`): the applicant's data and application, the appointment,
//! the messages in and out with their delivery status, the audit trail; and its actions:
//! register the arrival, approve (after a confirmation page: the cédula is issued and e-mailed)
//! and reject with a reason. Each action is the library function its command calls; a refusal
//! is said on the page.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{Refused, Staff, TokenForm, forbidden, forbidden_form, render};
use crate::conversation::Input;
use crate::documents::signature::Signer;
use crate::domain::application::{ApplicationData, Status};
use crate::domain::staff::Permission;
use crate::http::AppState;
use crate::service::OutgoingMessage;
use crate::staff::{self, Refusal};
use crate::store;

/// Messages shown on a case's timeline (the newest are the ones that matter at the counter).
const TIMELINE_LIMIT: i64 = 500;

#[derive(Deserialize)]
pub struct Done {
    hecho: Option<String>,
}

/// One line of the timeline.
#[derive(Serialize)]
struct Message {
    incoming: bool,
    channel: String,
    /// In the office's zone: "2026-12-03 09:31".
    at: String,
    /// What was said: the text typed, a choice, or the first line of our message.
    text: String,
    /// Our message's template.
    template: Option<String>,
    status: Option<String>,
    error: Option<String>,
}

#[derive(Serialize)]
struct Event {
    at_id: i64,
    actor: String,
    staff_id: Option<i64>,
    event: String,
}

/// The values of `console/case.html`.
#[derive(Serialize)]
struct CasePage<'a> {
    folio: String,
    status: Status,
    data: Option<ApplicationData>,
    /// In the office's zone.
    submitted_at: String,
    appointment: Option<Appointment>,
    /// The cédula's number as printed (eight digits).
    cedula: Option<String>,
    messages: Vec<Message>,
    events: Vec<Event>,
    done: Option<String>,
    may_issue: bool,
    /// Supervisors may move the appointment for the applicant and reopen a rejected case.
    may_reschedule: bool,
    /// Why the office rejected it (while rejected).
    rejection_reason: Option<String>,
    /// The common reasons offered when rejecting (`[console] rejection_reasons`).
    rejection_reasons: &'a [String],
    /// The counter's checklist.
    checklist: Vec<CheckLine>,
    /// The documents the applicant has, by their name in the address.
    documents: Vec<&'static str>,
    /// Appointments missed, and whether a new booking waits for a supervisor's approval.
    no_shows: u32,
    needs_approval: bool,
    /// The latest day the applicant waits for on the waitlist, while on it.
    waiting_until: Option<NaiveDate>,
}

/// An item of the checklist on the case page.
#[derive(Serialize)]
struct CheckLine {
    key: String,
    seen: bool,
    /// When it was marked, in the office's zone.
    at: Option<String>,
    by: Option<i64>,
}

#[derive(Serialize)]
struct Appointment {
    day: NaiveDate,
    slot: String,
    office: String,
}

/// An instant as the office reads it: its zone's date and time to the minute.
fn local(at: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    at.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()
}

fn message(row: store::cases::TimelineRow, zone: chrono_tz::Tz) -> Message {
    let incoming = row.direction == "in";
    let (text, template) = if incoming {
        let text = match serde_json::from_str::<Input>(&row.body) {
            Ok(Input::Text(text) | Input::Choice(text)) => text,
            Ok(Input::Unsupported(kind)) => format!("({kind})"),
            Ok(Input::Outcome(_)) | Err(_) => String::new(),
        };
        (text, None)
    } else {
        match serde_json::from_str::<OutgoingMessage>(&row.body) {
            Ok(message) => {
                let first = message.text.lines().find(|l| !l.trim().is_empty());
                (
                    first.unwrap_or_default().to_string(),
                    Some(message.template),
                )
            }
            Err(_) => (String::new(), None),
        }
    };
    Message {
        incoming,
        channel: row.channel,
        at: local(row.at, zone),
        text: text.chars().take(200).collect(),
        template,
        status: row.status,
        error: row.last_error,
    }
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Path(folio): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    match case_page(&state, &staff, &folio, done.hecho).await {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(error.message = %error, "case page not read");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn case_page(
    state: &AppState,
    staff: &Staff,
    folio: &str,
    done: Option<String>,
) -> anyhow::Result<Response> {
    let service = &state.service;
    let mut reader = service.db.reader().await?;
    let mut conn = reader.conn();
    let folio = folio.trim().to_ascii_uppercase();
    let Some(case) = store::cases::by_folio(&mut conn, &folio).await? else {
        let mut response = render(state, staff, "console/not_found.html", &folio);
        *response.status_mut() = StatusCode::NOT_FOUND;
        return Ok(response);
    };
    let view = store::applications::view(&mut conn, case.id).await?;
    let procedure = &service.settings.procedure;
    let appointment = view.as_ref().and_then(|v| v.appointment.as_ref());
    let office = appointment.and_then(|a| procedure.office(&a.office_id));
    if let Some(a) = appointment
        && !staff.member().serves(&a.office_id)
    {
        return Ok(forbidden(state, staff, Refused::Office));
    }
    let zone = office.map_or_else(|| procedure.zone(), |o| o.zone());
    let messages = store::cases::timeline(&mut conn, case.conversation_id, TIMELINE_LIMIT)
        .await?
        .into_iter()
        .map(|row| message(row, zone))
        .collect();
    let events = store::audit::list(&mut conn, Some(case.conversation_id), Some(case.id))
        .await?
        .into_iter()
        .map(|e| Event {
            at_id: e.id,
            actor: e.actor,
            staff_id: e.staff_id,
            event: e.event,
        })
        .collect();
    let checklist = staff::counter::items(service, &mut conn, case.id)
        .await?
        .into_iter()
        .map(|item| CheckLine {
            key: item.key,
            seen: item.seen,
            at: item.at.map(|at| local(at, zone)),
            by: item.by,
        })
        .collect();
    let documents = staff::counter::documents(&mut conn, case.id)
        .await?
        .into_iter()
        .map(|document| document.name)
        .collect();
    let rejection_reason = match case.status {
        Status::Rejected => store::cases::rejection_reason(&mut conn, case.id).await?,
        _ => None,
    };
    let clerks_issue = office.is_none_or(|o| o.clerks_issue);
    let limit = procedure.booking.no_show_limit;
    let no_shows = view.as_ref().map_or(0, |v| v.no_shows);
    let needs_approval = view.as_ref().is_some_and(|v| v.needs_approval(limit));
    let waiting_until = view
        .as_ref()
        .and_then(|v| v.waiting.as_ref())
        .map(|w| w.latest_day);
    let page = CasePage {
        folio: case.folio,
        status: case.status,
        data: serde_json::from_str(&case.data).ok(),
        submitted_at: local(case.submitted_at, zone),
        appointment: appointment.map(|a| Appointment {
            day: a.day,
            slot: crate::domain::calendar::clock_time(a.slot),
            office: office.map_or(a.office_id.clone(), |o| o.name.clone()),
        }),
        cedula: view.and_then(|v| v.cedula).map(|n| format!("{n:08}")),
        messages,
        events,
        done,
        may_issue: staff.member().role.allows(Permission::Issue, clerks_issue),
        may_reschedule: staff.member().role.allows(Permission::Supervise, false),
        rejection_reason,
        rejection_reasons: &service.settings.console.rejection_reasons,
        checklist,
        documents,
        no_shows,
        needs_approval,
        waiting_until,
    };
    Ok(render(state, staff, "console/case.html", page))
}

#[derive(Deserialize)]
pub struct RejectForm {
    csrf: String,
    #[serde(default)]
    motivo: String,
    #[serde(default)]
    detalle: String,
}

/// What an action's refusal looks like: 409 (403, 404) with the reason on the page.
fn refused(state: &AppState, staff: &Staff, folio: &str, refusal: Refusal) -> Response {
    #[derive(Serialize)]
    struct Page<'a> {
        folio: &'a str,
        kind: &'static str,
        text: String,
    }
    let kind = refusal.key();
    let context = serde_json::json!({ "kind": kind, "folio": folio });
    let text = state
        .service
        .templates
        .render("staff/refused.txt", context)
        .unwrap_or_default();
    let page = Page { folio, kind, text };
    let mut response = render(state, staff, "console/refused.html", page);
    *response.status_mut() = match refusal {
        Refusal::NotAllowed | Refusal::OtherOffice => StatusCode::FORBIDDEN,
        Refusal::UnknownFolio => StatusCode::NOT_FOUND,
        _ => StatusCode::CONFLICT,
    };
    response
}

/// An action's answer: back to the case saying what was `done`, or the refusal, or 503.
fn answer(
    state: &AppState,
    staff: &Staff,
    folio: &str,
    done: &str,
    result: anyhow::Result<Result<String, Refusal>>,
) -> Response {
    match result {
        Ok(Ok(folio)) => back_to(&folio, done),
        Ok(Err(refusal)) => refused(state, staff, folio, refusal),
        Err(error) => failed(error),
    }
}

fn back_to(folio: &str, done: &str) -> Response {
    Redirect::to(&format!("/oficina/casos/{folio}?hecho={done}")).into_response()
}

pub(super) fn failed(error: anyhow::Error) -> Response {
    tracing::error!(error.message = %error, "console action failed");
    StatusCode::SERVICE_UNAVAILABLE.into_response()
}

/// Register the arrival.
pub async fn checkin(
    State(state): State<AppState>,
    staff: Staff,
    Path(folio): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    if !staff.sent(&form.csrf) {
        return forbidden_form(&state, &staff);
    }
    let result = staff::checkin(&state.service, Some(staff.member()), &folio).await;
    answer(&state, &staff, &folio, "llegada", result)
}

/// The applicant did not come.
pub async fn no_show(
    State(state): State<AppState>,
    staff: Staff,
    Path(folio): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    if !staff.sent(&form.csrf) {
        return forbidden_form(&state, &staff);
    }
    let result = staff::no_show(&state.service, Some(staff.member()), &folio).await;
    answer(&state, &staff, &folio, "no_se_presento", result)
}

/// The confirmation before issuing.
pub async fn confirm_approve(
    State(state): State<AppState>,
    staff: Staff,
    Path(folio): Path<String>,
) -> Response {
    let service = &state.service;
    let (folio, items) =
        match staff::counter::checklist(service, Some(staff.member()), &folio).await {
            Ok(Ok(found)) => found,
            Ok(Err(refusal)) => return refused(&state, &staff, &folio, refusal),
            Err(error) => return failed(error),
        };
    let missing: Vec<String> = items
        .into_iter()
        .filter(|item| !item.seen)
        .map(|item| item.key)
        .collect();
    let required = service.settings.console.checklist_before_issuing;
    render(
        &state,
        &staff,
        "console/approve.html",
        serde_json::json!({ "folio": folio, "missing": missing, "required": required }),
    )
}

/// Approve: the cédula is issued, signed and e-mailed.
pub async fn approve(
    State(state): State<AppState>,
    staff: Staff,
    Path(folio): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    if !staff.sent(&form.csrf) {
        return forbidden_form(&state, &staff);
    }
    let signer = match Signer::load(&state.service.settings.signing_key) {
        Ok(signer) => signer,
        Err(error) => return failed(error),
    };
    let result = staff::approve(&state.service, Some(staff.member()), &signer, &folio).await;
    let result = result.map(|done| done.map(|issued| issued.folio));
    answer(&state, &staff, &folio, "expedida", result)
}

/// Reject with a reason: one of the common ones, or the clerk's own words (or both).
pub async fn reject(
    State(state): State<AppState>,
    staff: Staff,
    Path(folio): Path<String>,
    Form(form): Form<RejectForm>,
) -> Response {
    if !staff.sent(&form.csrf) {
        return forbidden_form(&state, &staff);
    }
    let reason = [form.motivo.trim(), form.detalle.trim()]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(". ");
    let reason: String = reason.chars().take(500).collect();
    let result = staff::reject(&state.service, Some(staff.member()), &folio, &reason).await;
    answer(&state, &staff, &folio, "rechazada", result)
}

#[derive(Deserialize)]
pub struct RescheduleForm {
    csrf: String,
    fecha: String,
    hora: String,
}

/// Move the appointment for the applicant (supervisors): they are told on their channel.
pub async fn reschedule(
    State(state): State<AppState>,
    staff: Staff,
    Path(folio): Path<String>,
    Form(form): Form<RescheduleForm>,
) -> Response {
    if !staff.sent(&form.csrf) {
        return forbidden_form(&state, &staff);
    }
    let day = NaiveDate::parse_from_str(form.fecha.trim(), "%Y-%m-%d");
    let slot = chrono::NaiveTime::parse_from_str(form.hora.trim(), "%H:%M");
    let (Ok(day), Ok(slot)) = (day, slot) else {
        return refused(&state, &staff, &folio, Refusal::NotBookable);
    };
    let member = Some(staff.member());
    let result = crate::staff::calendar::reschedule(&state.service, member, &folio, day, slot)
        .await
        .map(|done| done.map(|moved| moved.folio));
    answer(&state, &staff, &folio, "reprogramada", result)
}

/// The checklist as the form sends it: `csrf` and one `visto` per item marked (unmarked
/// checkboxes send nothing).
pub async fn checklist(
    State(state): State<AppState>,
    staff: Staff,
    Path(folio): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let csrf = fields.iter().find(|(name, _)| name == "csrf");
    if !csrf.is_some_and(|(_, token)| staff.sent(token)) {
        return forbidden_form(&state, &staff);
    }
    let seen: Vec<&str> = fields
        .iter()
        .filter(|(name, _)| name == "visto")
        .map(|(_, key)| key.as_str())
        .take(64)
        .collect();
    let configured = &state.service.settings.console.checklist;
    let mut changes: Vec<(String, bool)> = configured
        .iter()
        .map(|key| (key.clone(), seen.contains(&key.as_str())))
        .collect();
    // A key the form cannot offer is passed on, to be refused as such.
    if let Some(unknown) = seen
        .iter()
        .find(|key| !configured.iter().any(|c| c == *key))
    {
        changes.push(((*unknown).to_string(), true));
    }
    let result = staff::counter::check(&state.service, Some(staff.member()), &folio, &changes)
        .await
        .map(|done| done.map(|(folio, _)| folio));
    answer(&state, &staff, &folio, "documentos", result)
}

/// Opens one of the case's documents (the request, the receipt, the invitation, the cédula),
/// rendered again from its records.
pub async fn document(
    State(state): State<AppState>,
    staff: Staff,
    Path((folio, name)): Path<(String, String)>,
) -> Response {
    let service = &state.service;
    let documents =
        match staff::counter::case_documents(service, Some(staff.member()), &folio).await {
            Ok(Ok(documents)) => documents,
            Ok(Err(refusal)) => return refused(&state, &staff, &folio, refusal),
            Err(error) => return failed(error),
        };
    let Some(found) = documents.into_iter().find(|d| d.name == name) else {
        let mut response = render(&state, &staff, "console/not_found.html", &folio);
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    };
    let renderer = crate::documents::Documents::new(
        service.db.clone(),
        service.templates.clone(),
        &service.settings,
    );
    match renderer.render(&found.document).await {
        Ok(rendered) => (
            [
                (header::CONTENT_TYPE, rendered.content_type.to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"{}\"", rendered.file_name),
                ),
                (header::CACHE_CONTROL, "no-store".to_string()),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            ],
            rendered.bytes,
        )
            .into_response(),
        Err(error) => failed(error),
    }
}

/// Sends the applicant their documents again.
pub async fn resend(
    State(state): State<AppState>,
    staff: Staff,
    Path(folio): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    if !staff.sent(&form.csrf) {
        return forbidden_form(&state, &staff);
    }
    let result = staff::counter::resend(&state.service, Some(staff.member()), &folio)
        .await
        .map(|done| done.map(|(folio, _)| folio));
    answer(&state, &staff, &folio, "reenviados", result)
}

/// Reopens a rejected case (supervisors): the applicant is asked to book again.
pub async fn reopen(
    State(state): State<AppState>,
    staff: Staff,
    Path(folio): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    if !staff.sent(&form.csrf) {
        return forbidden_form(&state, &staff);
    }
    let result = staff::reopen(&state.service, Some(staff.member()), &folio).await;
    answer(&state, &staff, &folio, "reabierta", result)
}

/// A supervisor lets an applicant past their no-shows book again.
pub async fn approve_booking(
    State(state): State<AppState>,
    staff: Staff,
    Path(folio): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    if !staff.sent(&form.csrf) {
        return forbidden_form(&state, &staff);
    }
    let result = staff::approve_booking(&state.service, Some(staff.member()), &folio)
        .await
        .map(|r| r.map(|(folio, _)| folio));
    answer(&state, &staff, &folio, "cita_autorizada", result)
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

#[derive(Serialize)]
struct Found {
    folio: String,
    status: Status,
    name: String,
}

/// Search by folio, CURP or name; one exact folio goes straight to its case.
pub async fn search(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<SearchQuery>,
) -> Response {
    let text: String = query
        .q
        .unwrap_or_default()
        .trim()
        .chars()
        .take(64)
        .collect();
    let found = async {
        let mut reader = state.service.db.reader().await?;
        let mut conn = reader.conn();
        if let Some(case) = store::cases::by_folio(&mut conn, &text.to_ascii_uppercase()).await? {
            return Ok::<_, anyhow::Error>(Err(case.folio));
        }
        if text.chars().count() < 3 {
            return Ok(Ok(Vec::new()));
        }
        let cases = store::cases::search(&mut conn, &text, 50).await?;
        Ok(Ok(cases
            .into_iter()
            .map(|case| Found {
                name: serde_json::from_str::<ApplicationData>(&case.data)
                    .map(|d| d.name.full_name())
                    .unwrap_or_default(),
                folio: case.folio,
                status: case.status,
            })
            .collect()))
    };
    match found.await {
        Ok(Err(folio)) => Redirect::to(&format!("/oficina/casos/{folio}")).into_response(),
        Ok(Ok(found)) => render(
            &state,
            &staff,
            "console/search.html",
            serde_json::json!({ "q": text, "found": found }),
        ),
        Err(error) => failed(error),
    }
}
