//! An appointment's jobs: its reminders (on the applicant's channel, with what to bring) and,
//! at the office's closing time, the no-show of an applicant nobody checked in.

use crate::conversation::state::AppRef;
use crate::domain::application::Status;
use crate::domain::reminders::AppointmentJob;
use crate::service::{Priority, Service};
use crate::store::appointments::AppointmentStatus;
use crate::store::jobs::JobRow;
use crate::store::{self, Conn};

/// A reminder of an appointment still active, on the applicant's channel, with what to bring.
pub(super) async fn remind(
    conn: &mut Conn<'_>,
    service: &Service,
    job: &JobRow,
    reminder: AppointmentJob,
) -> anyhow::Result<()> {
    let Some(appointment_id) = job.appointment_id else {
        return Ok(());
    };
    let Some(appointment) = store::appointments::get(conn, appointment_id).await? else {
        return Ok(());
    };
    if appointment.status != AppointmentStatus::Active {
        return Ok(());
    }
    let Some(case) = store::cases::by_id(conn, appointment.application_id).await? else {
        return Ok(());
    };
    let Some(view) = store::applications::view(conn, appointment.application_id).await? else {
        return Ok(());
    };
    if view.appointment.as_ref().map(|a| a.id) != Some(appointment_id) {
        return Ok(());
    }
    // What to bring: what the counter checks.
    let labels = service.templates.labels();
    let bring: Vec<String> = service
        .settings
        .console
        .checklist
        .iter()
        .map(|key| labels.get(&format!("checklist.{key}")).to_string())
        .collect();
    let app = AppRef::of(&view);
    let asks = reminder == AppointmentJob::DayBefore;
    let procedure = &service.settings.procedure;
    service
        .tell(
            conn,
            procedure,
            (case.conversation_id, &view),
            Priority::Scheduled,
            |state, ctx| {
                let key = reminder.key();
                Some(crate::conversation::reminded(
                    state, &app, &view, key, asks, &bring, ctx,
                ))
            },
        )
        .await?;
    Ok(())
}

/// At the office's closing time: an appointment still active and its applicant not checked
/// in is a no-show, recorded as the clerk's would be (the applicant told how to book again).
pub(super) async fn no_show(
    conn: &mut Conn<'_>,
    service: &Service,
    job: &JobRow,
) -> anyhow::Result<()> {
    let Some(appointment_id) = job.appointment_id else {
        return Ok(());
    };
    let Some(row) = store::appointments::get(conn, appointment_id).await? else {
        return Ok(());
    };
    if row.status != AppointmentStatus::Active {
        return Ok(());
    }
    let Some(case) = store::cases::by_id(conn, row.application_id).await? else {
        return Ok(());
    };
    if case.status != Status::Scheduled {
        // Checked in (or decided): nothing to do.
        return Ok(());
    }
    let Some(view) = store::applications::view(conn, case.id).await? else {
        return Ok(());
    };
    let Some(appointment) = view.appointment.filter(|a| a.id == appointment_id) else {
        return Ok(());
    };
    crate::staff::record_no_show(conn, service, None, &case, &appointment).await
}
