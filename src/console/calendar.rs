//! The office's calendar (supervisors): `/oficina/capacidad` shows and changes the opening
//! days, hours, slot length and daily capacity, one day's capacity, and lists the closures
//! ahead; `/oficina/cierres` closes a day or a range (a preview of the appointments met, then
//! the confirmation), and `/oficina/cierres/ID` shows what a closure did: who was moved where,
//! who was told, whose notice failed. A change the calendar refuses lists the appointments
//! concerned.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use super::{Refused, Staff, forbidden, forbidden_form, render};
use crate::domain::calendar::{Hours, Office};
use crate::domain::staff::Permission;
use crate::http::AppState;
use crate::staff::calendar::{self as office_calendar, ClosureRequest, Concerned, MoveReport};

const WEEK: [(Weekday, &str); 7] = [
    (Weekday::Mon, "lun"),
    (Weekday::Tue, "mar"),
    (Weekday::Wed, "mie"),
    (Weekday::Thu, "jue"),
    (Weekday::Fri, "vie"),
    (Weekday::Sat, "sab"),
    (Weekday::Sun, "dom"),
];

#[derive(Deserialize)]
pub struct OfficeQuery {
    oficina: Option<String>,
    hecho: Option<String>,
}

/// The office a supervisor works on: their own, or the one asked for (national members),
/// or the first; `Err` says why not.
fn office_of<'s>(
    state: &'s AppState,
    staff: &Staff,
    asked: Option<&str>,
) -> Result<&'s Office, Refused> {
    let member = staff.member();
    if !member.role.allows(Permission::Supervise, false) {
        return Err(Refused::Role {
            permission: Permission::Supervise,
        });
    }
    let procedure = &state.service.settings.procedure;
    let id = asked
        .or(member.office_id.as_deref())
        .or(procedure.offices.first().map(|o| o.id.as_str()));
    let Some(office) = id.and_then(|id| procedure.office(id)) else {
        return Err(Refused::UnknownOffice);
    };
    if !member.serves(&office.id) {
        return Err(Refused::Office);
    }
    Ok(office)
}

#[derive(Serialize)]
struct DayRow {
    id: &'static str,
    key: String,
    open: bool,
}

#[derive(Serialize)]
struct DayCapacity {
    day: NaiveDate,
    capacity: u32,
}

#[derive(Serialize)]
struct Closure {
    id: i64,
    first: NaiveDate,
    last: NaiveDate,
    reason: String,
}

/// The values of `console/capacity.html`.
#[derive(Serialize)]
struct CapacityPage<'a> {
    office_id: &'a str,
    office_name: &'a str,
    days: Vec<DayRow>,
    opens_at: String,
    closes_at: String,
    slot_minutes: u32,
    daily_capacity: u32,
    slots: usize,
    slot_capacity: u32,
    configured: Hours,
    day_capacities: Vec<DayCapacity>,
    closures: Vec<Closure>,
    today: NaiveDate,
    done: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<OfficeQuery>,
) -> Response {
    let office = match office_of(&state, &staff, query.oficina.as_deref()) {
        Ok(office) => office,
        Err(why) => return forbidden(&state, &staff, why),
    };
    let calendar = match office_calendar::calendar(&state.service, &office.id).await {
        Ok(Some(calendar)) => calendar,
        Ok(None) => return forbidden(&state, &staff, Refused::UnknownOffice),
        Err(error) => return super::case::failed(error),
    };
    let current = &calendar.office;
    let page = CapacityPage {
        office_id: &office.id,
        office_name: &office.name,
        days: WEEK
            .iter()
            .map(|(day, id)| DayRow {
                id,
                key: day.to_string(),
                open: current.opening_days.contains(day),
            })
            .collect(),
        opens_at: crate::domain::calendar::clock_time(current.opens_at),
        closes_at: crate::domain::calendar::clock_time(current.closes_at),
        slot_minutes: current.slot_minutes,
        daily_capacity: current.daily_capacity,
        slots: current.slots().len(),
        slot_capacity: current.slot_capacity(),
        configured: calendar.configured,
        day_capacities: current
            .exceptions
            .capacity
            .iter()
            .filter(|(_, capacity)| **capacity > 0)
            .map(|(day, capacity)| DayCapacity {
                day: *day,
                capacity: *capacity,
            })
            .collect(),
        closures: calendar
            .closures
            .into_iter()
            .map(|c| Closure {
                id: c.id,
                first: c.first_day,
                last: c.last_day,
                reason: c.reason,
            })
            .collect(),
        today: office.today(state.service.clock.now()),
        done: query.hecho,
    };
    render(&state, &staff, "console/capacity.html", page)
}

/// The hours form: a checkbox per weekday, times as HH:MM.
#[derive(Deserialize)]
pub struct HoursForm {
    csrf: String,
    oficina: String,
    lun: Option<String>,
    mar: Option<String>,
    mie: Option<String>,
    jue: Option<String>,
    vie: Option<String>,
    sab: Option<String>,
    dom: Option<String>,
    abre: String,
    cierra: String,
    minutos: String,
    capacidad: String,
}

impl HoursForm {
    /// The hours asked for; `None` when a field cannot be read.
    fn hours(&self) -> Option<Hours> {
        let checked = [
            &self.lun, &self.mar, &self.mie, &self.jue, &self.vie, &self.sab, &self.dom,
        ];
        let opening_days = WEEK
            .iter()
            .zip(checked)
            .filter(|(_, on)| on.is_some())
            .map(|((day, _), _)| *day)
            .collect();
        let time = |text: &str| NaiveTime::parse_from_str(text.trim(), "%H:%M").ok();
        Some(Hours {
            opening_days,
            opens_at: time(&self.abre)?,
            closes_at: time(&self.cierra)?,
            slot_minutes: self.minutos.trim().parse().ok()?,
            daily_capacity: self.capacidad.trim().parse().ok()?,
        })
    }
}

/// What a refused calendar change looks like: the reason, and the appointments concerned.
fn calendar_refused(
    state: &AppState,
    staff: &Staff,
    office_id: &str,
    refused: office_calendar::Refused,
) -> Response {
    let text = state
        .service
        .templates
        .render("staff/calendar_refused.txt", &refused)
        .unwrap_or_default();
    let appointments: &[Concerned] = match &refused {
        office_calendar::Refused::Misfits { appointments } => appointments,
        _ => &[],
    };
    let headline = text.lines().next().unwrap_or_default();
    let page = serde_json::json!({
        "office_id": office_id,
        "text": headline,
        "appointments": appointments,
    });
    let mut response = render(state, staff, "console/calendar_refused.html", page);
    *response.status_mut() = match refused {
        office_calendar::Refused::Staff { .. } => StatusCode::FORBIDDEN,
        office_calendar::Refused::UnknownOffice => StatusCode::NOT_FOUND,
        office_calendar::Refused::Misfits { .. } => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    response
}

fn back(office_id: &str, done: &str) -> Response {
    Redirect::to(&format!(
        "/oficina/capacidad?oficina={office_id}&hecho={done}"
    ))
    .into_response()
}

pub async fn set_hours(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<HoursForm>,
) -> Response {
    if !staff.sent(&form.csrf) {
        return forbidden_form(&state, &staff);
    }
    let office = match office_of(&state, &staff, Some(&form.oficina)) {
        Ok(office) => office,
        Err(why) => return forbidden(&state, &staff, why),
    };
    let Some(hours) = form.hours() else {
        let refused = office_calendar::Refused::Hours {
            error: crate::domain::calendar::HoursError::NoSlots,
        };
        return calendar_refused(&state, &staff, &office.id, refused);
    };
    let result =
        office_calendar::set_hours(&state.service, Some(staff.member()), &office.id, &hours).await;
    match result {
        Ok(Ok(())) => back(&office.id, "horario"),
        Ok(Err(refused)) => calendar_refused(&state, &staff, &office.id, refused),
        Err(error) => super::case::failed(error),
    }
}

#[derive(Deserialize)]
pub struct DayForm {
    csrf: String,
    oficina: String,
    fecha: String,
    /// Empty: the office's usual capacity again.
    #[serde(default)]
    capacidad: String,
}

pub async fn set_day(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<DayForm>,
) -> Response {
    if !staff.sent(&form.csrf) {
        return forbidden_form(&state, &staff);
    }
    let office = match office_of(&state, &staff, Some(&form.oficina)) {
        Ok(office) => office,
        Err(why) => return forbidden(&state, &staff, why),
    };
    let day = NaiveDate::parse_from_str(form.fecha.trim(), "%Y-%m-%d");
    let capacity = match form.capacidad.trim() {
        "" => Ok(None),
        text => text.parse::<u32>().map(Some),
    };
    let (Ok(day), Ok(capacity)) = (day, capacity) else {
        let refused = office_calendar::Refused::DayCapacity;
        return calendar_refused(&state, &staff, &office.id, refused);
    };
    let result = office_calendar::set_day_capacity(
        &state.service,
        Some(staff.member()),
        &office.id,
        day,
        capacity,
    )
    .await;
    match result {
        Ok(Ok(())) => back(&office.id, "dia"),
        Ok(Err(refused)) => calendar_refused(&state, &staff, &office.id, refused),
        Err(error) => super::case::failed(error),
    }
}

#[derive(Deserialize)]
pub struct ClosureForm {
    csrf: String,
    oficina: String,
    desde: String,
    #[serde(default)]
    hasta: String,
    #[serde(default)]
    motivo: String,
}

impl ClosureForm {
    fn days(&self) -> Option<(NaiveDate, NaiveDate)> {
        let date = |text: &str| NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok();
        let first = date(&self.desde)?;
        let last = match self.hasta.trim() {
            "" => first,
            text => date(text)?,
        };
        Some((first, last))
    }
}

/// The closure form, first step: the appointments it would meet, and the confirmation.
pub async fn preview(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<ClosureForm>,
) -> Response {
    closure(state, staff, form, false).await
}

/// The closure confirmed: it is done, and its page shows what it did.
pub async fn confirm(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<ClosureForm>,
) -> Response {
    closure(state, staff, form, true).await
}

async fn closure(state: AppState, staff: Staff, form: ClosureForm, confirmed: bool) -> Response {
    if !staff.sent(&form.csrf) {
        return forbidden_form(&state, &staff);
    }
    let office = match office_of(&state, &staff, Some(&form.oficina)) {
        Ok(office) => office,
        Err(why) => return forbidden(&state, &staff, why),
    };
    let Some((first, last)) = form.days() else {
        return calendar_refused(&state, &staff, &office.id, office_calendar::Refused::Range);
    };
    let reason: String = form.motivo.trim().chars().take(1000).collect();
    let request = ClosureRequest {
        office_id: &office.id,
        first,
        last,
        reason: &reason,
    };
    let member = Some(staff.member());
    if confirmed {
        return match office_calendar::close(&state.service, member, &request).await {
            Ok(Ok(id)) => Redirect::to(&format!("/oficina/cierres/{id}")).into_response(),
            Ok(Err(refused)) => calendar_refused(&state, &staff, &office.id, refused),
            Err(error) => super::case::failed(error),
        };
    }
    match office_calendar::closure_preview(&state.service, member, &request).await {
        Ok(Ok(affected)) => render(
            &state,
            &staff,
            "console/closure_preview.html",
            serde_json::json!({
                "office_id": office.id,
                "office_name": office.name,
                "first": first,
                "last": last,
                "reason": reason,
                "affected": affected,
            }),
        ),
        Ok(Err(refused)) => calendar_refused(&state, &staff, &office.id, refused),
        Err(error) => super::case::failed(error),
    }
}

/// The values of `console/closure.html`.
#[derive(Serialize)]
struct ClosurePage<'a> {
    id: i64,
    office_name: &'a str,
    first: NaiveDate,
    last: NaiveDate,
    reason: String,
    moves: Vec<MoveReport>,
    moved: usize,
    unplaced: usize,
    told: usize,
    failed: usize,
}

/// What a closure did.
pub async fn report(State(state): State<AppState>, staff: Staff, Path(id): Path<i64>) -> Response {
    let report = match office_calendar::closure_report(&state.service, id).await {
        Ok(Some(report)) => report,
        Ok(None) => return forbidden(&state, &staff, Refused::UnknownOffice),
        Err(error) => return super::case::failed(error),
    };
    let office = match office_of(&state, &staff, Some(&report.closure.office_id)) {
        Ok(office) => office,
        Err(why) => return forbidden(&state, &staff, why),
    };
    let moves = report.moves;
    let page = ClosurePage {
        id,
        office_name: &office.name,
        first: report.closure.first_day,
        last: report.closure.last_day,
        reason: report.closure.reason,
        moved: moves.iter().filter(|m| m.to_day.is_some()).count(),
        unplaced: moves.iter().filter(|m| m.to_day.is_none()).count(),
        told: moves.iter().filter(|m| m.told).count(),
        failed: moves.iter().filter(|m| m.failed).count(),
        moves,
    };
    render(&state, &staff, "console/closure.html", page)
}
