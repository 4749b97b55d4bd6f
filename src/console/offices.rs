//! The offices (admins): `/oficina/oficinas` lists each office the admin serves with its
//! address, zone, the hours it has now (over the configured ones), whether its clerks issue,
//! its closures ahead and its active accounts, with links to its agenda and its capacity page.
//! Offices themselves are configuration (`[[offices]]`: their address, zone and the names
//! people give them feed the dialogue); what an office changes day to day is on the capacity
//! page.

use axum::extract::State;
use axum::response::Response;
use chrono::Weekday;
use serde::Serialize;

use super::case::failed;
use super::{Refused, Staff, forbidden, render};
use crate::domain::staff::Permission;
use crate::http::AppState;
use crate::staff::accounts;

#[derive(Serialize)]
struct OfficeRow {
    id: String,
    name: String,
    address: String,
    zone: String,
    /// Weekday keys as the capacity page names them (`mon`…).
    days: Vec<&'static str>,
    opens: String,
    closes: String,
    slot_minutes: u32,
    daily_capacity: u32,
    /// Whether the configured hours were changed by the office.
    changed: bool,
    clerks_issue: bool,
    closures: usize,
    accounts: usize,
}

fn day_key(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

pub async fn page(State(state): State<AppState>, staff: Staff) -> Response {
    let member = staff.member();
    if !member.role.allows(Permission::Administer, false) {
        let permission = Permission::Administer;
        return forbidden(&state, &staff, Refused::Role { permission });
    }
    let service = &state.service;
    let rows = async {
        let users = accounts::users(service).await?;
        let mut rows = Vec::new();
        for office in &service.settings.procedure.offices {
            if !member.serves(&office.id) {
                continue;
            }
            let Some(calendar) = crate::staff::calendar::calendar(service, &office.id).await?
            else {
                continue;
            };
            let hours = calendar.office.hours();
            rows.push(OfficeRow {
                id: office.id.clone(),
                name: office.name.clone(),
                address: office.address.clone(),
                zone: office.zone().name().to_string(),
                days: hours.opening_days.iter().map(|d| day_key(*d)).collect(),
                opens: hours.opens_at.format("%H:%M").to_string(),
                closes: hours.closes_at.format("%H:%M").to_string(),
                slot_minutes: hours.slot_minutes,
                daily_capacity: hours.daily_capacity,
                changed: hours != calendar.configured,
                clerks_issue: office.clerks_issue,
                closures: calendar.closures.len(),
                accounts: users
                    .iter()
                    .filter(|u| {
                        u.disabled_at.is_none() && u.office_id.as_deref() == Some(&office.id)
                    })
                    .count(),
            });
        }
        Ok::<_, anyhow::Error>(rows)
    };
    match rows.await {
        Ok(rows) => render(
            &state,
            &staff,
            "console/offices.html",
            serde_json::json!({ "offices": rows }),
        ),
        Err(error) => failed(error),
    }
}
