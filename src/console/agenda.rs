//! The agenda of a day at an office: the appointments in order of time, their counts per
//! status, the previous and the next day, and a view for printing.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{Refused, Staff, forbidden, render};
use crate::domain::staff::Permission;
use crate::http::AppState;
use crate::staff::{self, AgendaEntry};

#[derive(Deserialize)]
pub struct AgendaQuery {
    fecha: Option<String>,
    oficina: Option<String>,
    vista: Option<String>,
}

/// An office a member may pick.
#[derive(Serialize)]
struct OfficeChoice<'a> {
    id: &'a str,
    name: &'a str,
    selected: bool,
}

/// The values of `console/agenda.html`.
#[derive(Serialize)]
struct AgendaPage<'a> {
    day: NaiveDate,
    previous: NaiveDate,
    next: NaiveDate,
    office_id: &'a str,
    office_name: &'a str,
    offices: Vec<OfficeChoice<'a>>,
    entries: Vec<AgendaEntry>,
    /// Status key → how many.
    counts: BTreeMap<&'static str, usize>,
    print: bool,
    /// The date asked for could not be read (today's is shown).
    bad_date: bool,
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<AgendaQuery>,
) -> Response {
    let member = staff.member();
    if !member.role.allows(Permission::View, true) {
        return forbidden(
            &state,
            &staff,
            Refused::Role {
                permission: Permission::View,
            },
        );
    }
    let procedure = &state.service.settings.procedure;
    let asked_office = query.oficina.as_deref().filter(|id| !id.is_empty());
    let wanted = match asked_office.or(member.office_id.as_deref()) {
        Some(id) => procedure.office(id),
        None => procedure.offices.first(),
    };
    let Some(office) = wanted else {
        return forbidden(&state, &staff, Refused::UnknownOffice);
    };
    if !member.serves(&office.id) {
        return forbidden(&state, &staff, Refused::Office);
    }
    let asked = query.fecha.as_deref().filter(|d| !d.trim().is_empty());
    let parsed = asked.and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok());
    let day = parsed.unwrap_or_else(|| office.today(state.service.clock.now()));
    let entries = match staff::agenda(&state.service, day, Some(&office.id)).await {
        Ok(entries) => entries,
        Err(error) => {
            tracing::error!(error.message = %error, "agenda not read");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let mut counts = BTreeMap::new();
    for entry in &entries {
        let key = if entry.no_show {
            "no_show"
        } else {
            entry.status.as_str()
        };
        *counts.entry(key).or_insert(0) += 1;
    }
    let offices = procedure
        .offices
        .iter()
        .filter(|o| member.serves(&o.id))
        .map(|o| OfficeChoice {
            id: &o.id,
            name: &o.name,
            selected: o.id == office.id,
        })
        .collect();
    let page = AgendaPage {
        day,
        previous: day - Duration::days(1),
        next: day + Duration::days(1),
        office_id: &office.id,
        office_name: &office.name,
        offices,
        entries,
        counts,
        print: query.vista.as_deref() == Some("imprimir"),
        bad_date: asked.is_some() && parsed.is_none(),
    };
    render(&state, &staff, "console/agenda.html", page)
}
