//! Today at an office: the day's numbers (booked, arrived, issued, rejected), the applicants who
//! came and wait for a decision, and the messages that failed or are paused.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{Refused, Staff, forbidden, render};
use crate::domain::application::Status;
use crate::http::AppState;
use crate::staff::{self, AgendaEntry};

/// The day's appointments by what became of them.
#[derive(Serialize, Default)]
struct Numbers {
    scheduled: usize,
    attended: usize,
    issued: usize,
    rejected: usize,
    no_show: usize,
}

#[derive(Serialize)]
struct TodayPage<'a> {
    day: chrono::NaiveDate,
    office_id: &'a str,
    office_name: &'a str,
    counts: Numbers,
    total: usize,
    waiting: Vec<AgendaEntry>,
    failed: i64,
    paused: i64,
}

pub async fn page(State(state): State<AppState>, staff: Staff) -> Response {
    let procedure = &state.service.settings.procedure;
    let member = staff.member();
    let office = match member.office_id.as_deref() {
        Some(id) => procedure.office(id),
        None => procedure.offices.first(),
    };
    let Some(office) = office else {
        return forbidden(&state, &staff, Refused::UnknownOffice);
    };
    let day = office.today(state.service.clock.now());
    let read = async {
        let entries = staff::agenda(&state.service, day, Some(&office.id)).await?;
        let waiting = staff::awaiting_decision(&state.service, &office.id).await?;
        let (failed, paused) = staff::troubled_messages(&state.service).await?;
        Ok::<_, anyhow::Error>((entries, waiting, failed, paused))
    };
    let (entries, waiting, failed, paused) = match read.await {
        Ok(read) => read,
        Err(error) => {
            tracing::error!(error.message = %error, "today's page not read");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let mut counts = Numbers::default();
    for entry in &entries {
        if entry.no_show {
            counts.no_show += 1;
            continue;
        }
        match entry.status {
            Status::Scheduled => counts.scheduled += 1,
            Status::Attended => counts.attended += 1,
            Status::Issued => counts.issued += 1,
            Status::Rejected => counts.rejected += 1,
            Status::Submitted | Status::Withdrawn => {}
        }
    }
    let page = TodayPage {
        day,
        office_id: &office.id,
        office_name: &office.name,
        counts,
        total: entries.len(),
        waiting,
        failed,
        paused,
    };
    render(&state, &staff, "console/today.html", page)
}
