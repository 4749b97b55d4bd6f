//! `ventanilla staff …`: the office's commands (cases, the calendar, accounts), each printing
//! its outcome from `templates/` and telling the shell whether it was refused.

use clap::Subcommand;

use ventanilla::documents;
use ventanilla::service::Service;

use super::users::{UserCommand, user_command};

#[derive(Subcommand)]
pub enum StaffCommand {
    /// The day's appointments.
    Agenda {
        /// The day (YYYY-MM-DD); today in the office's zone by default.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// Only this office (its id).
        #[arg(long)]
        office: Option<String>,
    },
    /// The applicant came to the appointment.
    Checkin { folio: String },
    /// The applicant did not come (after the appointment's time); they are told how to book
    /// again.
    NoShow { folio: String },
    /// Issue the cédula: number, signature, PDF, delivery by e-mail.
    Approve { folio: String },
    /// Reject the application; the applicant is told the reason.
    Reject {
        folio: String,
        #[arg(long)]
        reason: String,
    },
    /// The counter's checklist of an application: with --seen / --unseen, mark items (the
    /// applicant must have been checked in); without, show it.
    Checklist {
        folio: String,
        /// Items presented (keys of [console] checklist, comma-separated).
        #[arg(long, value_delimiter = ',')]
        seen: Vec<String>,
        /// Items to mark as not seen.
        #[arg(long, value_delimiter = ',')]
        unseen: Vec<String>,
    },
    /// Send the applicant their documents again (request, appointment, cédula) on their channel.
    Resend { folio: String },
    /// Reopen a rejected application: it waits for an appointment again, the applicant is told.
    Reopen { folio: String },
    /// Let an applicant who missed too many appointments (booking.no_show_limit) book again;
    /// they are told.
    ApproveBooking { folio: String },
    /// Create the cédula signing key (VENTANILLA_SIGNING_KEY).
    Keygen,
    /// Addresses whose mail is paused because a message we sent them bounced.
    Paused,
    /// Staff accounts of the console at /oficina.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// An office's calendar: hours, days of their own capacity, closures ahead.
    Calendar { office: String },
    /// Change an office's opening days, hours, slot length or daily capacity (what is not
    /// given stays); refused, with the appointments concerned, when one would be left out.
    Hours {
        office: String,
        /// Opening days, e.g. Mon,Tue,Wed,Thu,Fri.
        #[arg(long, value_delimiter = ',')]
        days: Option<Vec<chrono::Weekday>>,
        /// Opening time, HH:MM.
        #[arg(long)]
        opens: Option<String>,
        /// Closing time, HH:MM.
        #[arg(long)]
        closes: Option<String>,
        /// Slot length in minutes.
        #[arg(long)]
        slot_minutes: Option<u32>,
        /// Seats per day.
        #[arg(long)]
        capacity: Option<u32>,
    },
    /// Give one day its own capacity (or, with --reset, the office's again).
    DayCapacity {
        office: String,
        date: chrono::NaiveDate,
        #[arg(long, required_unless_present = "reset")]
        capacity: Option<u32>,
        #[arg(long)]
        reset: bool,
    },
    /// Close an office from one day to another: each appointment is moved to the first free
    /// day after and the applicant told. With --preview, only list the appointments met.
    Close {
        office: String,
        #[arg(long)]
        from: chrono::NaiveDate,
        /// The last closed day (the first one when omitted).
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        preview: bool,
    },
    /// What a closure did: who was moved where, who was told, whose notice failed.
    Closure { id: i64 },
    /// Move an applicant's appointment to another day and time (they are told).
    Reschedule {
        folio: String,
        #[arg(long)]
        date: chrono::NaiveDate,
        /// HH:MM, one of the office's slots.
        #[arg(long)]
        time: String,
    },
}

/// Runs a staff command, printing its outcome; false when it was refused.
pub async fn staff_command(service: &Service, command: StaffCommand) -> anyhow::Result<bool> {
    use ventanilla::staff;
    let templates = &service.templates;
    let refused = |folio: &str, refusal: staff::Refusal| -> anyhow::Result<bool> {
        let text = templates.render(
            "staff/refused.txt",
            serde_json::json!({ "kind": refusal.key(), "folio": folio }),
        )?;
        eprint!("{text}");
        Ok(false)
    };
    let done = |context: serde_json::Value| -> anyhow::Result<bool> {
        print!("{}", templates.render("staff/done.txt", context)?);
        Ok(true)
    };
    match command {
        StaffCommand::Agenda { date, office } => {
            let procedure = &service.settings.procedure;
            let now = service.clock.now();
            let day = date.unwrap_or_else(|| match office.as_deref() {
                Some(id) => procedure.today_at(id, now),
                None => procedure.today(now),
            });
            let rows = staff::agenda(service, day, office.as_deref()).await?;
            let rows: Vec<serde_json::Value> = rows
                .into_iter()
                .map(|row| {
                    serde_json::json!({
                        "slot": row.slot,
                        "office": row.office_id,
                        "folio": row.folio,
                        "status": row.status.as_str(),
                        "name": row.name,
                        "no_shows": row.no_shows,
                    })
                })
                .collect();
            print!(
                "{}",
                templates.render(
                    "staff/agenda.txt",
                    serde_json::json!({ "day": day, "office": office, "rows": rows }),
                )?
            );
            Ok(true)
        }
        StaffCommand::Paused => {
            let rows = staff::paused_mail(service).await?;
            print!(
                "{}",
                templates.render("staff/paused.txt", serde_json::json!({ "rows": rows }))?
            );
            Ok(true)
        }
        StaffCommand::Checkin { folio } => match staff::checkin(service, None, &folio).await? {
            Ok(folio) => done(serde_json::json!({ "action": "checkin", "folio": folio })),
            Err(refusal) => refused(&folio, refusal),
        },
        StaffCommand::NoShow { folio } => match staff::no_show(service, None, &folio).await? {
            Ok(folio) => done(serde_json::json!({ "action": "no_show", "folio": folio })),
            Err(refusal) => refused(&folio, refusal),
        },
        StaffCommand::Approve { folio } => {
            let signer = documents::signature::Signer::load(&service.settings.signing_key)?;
            match staff::approve(service, None, &signer, &folio).await? {
                Ok(issued) => done(serde_json::json!({
                    "action": "approve", "folio": issued.folio, "number": issued.number,
                })),
                Err(refusal) => refused(&folio, refusal),
            }
        }
        StaffCommand::Reject { folio, reason } => {
            match staff::reject(service, None, &folio, &reason).await? {
                Ok(folio) => done(serde_json::json!({ "action": "reject", "folio": folio })),
                Err(refusal) => refused(&folio, refusal),
            }
        }
        StaffCommand::Checklist {
            folio,
            seen,
            unseen,
        } => {
            let changes: Vec<(String, bool)> = seen
                .into_iter()
                .map(|key| (key, true))
                .chain(unseen.into_iter().map(|key| (key, false)))
                .collect();
            let result = if changes.is_empty() {
                staff::counter::checklist(service, None, &folio).await?
            } else {
                staff::counter::check(service, None, &folio, &changes).await?
            };
            match result {
                Ok((folio, items)) => done(serde_json::json!({
                    "action": "checklist", "folio": folio, "items": items,
                })),
                Err(refusal) => refused(&folio, refusal),
            }
        }
        StaffCommand::Resend { folio } => {
            match staff::counter::resend(service, None, &folio).await? {
                Ok((folio, count)) => done(serde_json::json!({
                    "action": "resend", "folio": folio, "count": count,
                })),
                Err(refusal) => refused(&folio, refusal),
            }
        }
        StaffCommand::Reopen { folio } => match staff::reopen(service, None, &folio).await? {
            Ok(folio) => done(serde_json::json!({ "action": "reopen", "folio": folio })),
            Err(refusal) => refused(&folio, refusal),
        },
        StaffCommand::ApproveBooking { folio } => {
            match staff::approve_booking(service, None, &folio).await? {
                Ok((folio, no_shows)) => done(serde_json::json!({
                    "action": "approve-booking", "folio": folio, "no_shows": no_shows,
                })),
                Err(refusal) => refused(&folio, refusal),
            }
        }
        StaffCommand::User { command } => user_command(service, command).await,
        StaffCommand::Reschedule { folio, date, time } => {
            let Some(slot) = parse_time(&time) else {
                return refused(&folio, staff::Refusal::NotBookable);
            };
            match staff::calendar::reschedule(service, None, &folio, date, slot).await? {
                Ok(moved) => done(serde_json::json!({
                    "action": "reschedule", "folio": moved.folio, "day": moved.day,
                    "slot": moved.slot,
                })),
                Err(refusal) => refused(&folio, refusal),
            }
        }
        StaffCommand::Calendar { .. }
        | StaffCommand::Hours { .. }
        | StaffCommand::DayCapacity { .. }
        | StaffCommand::Close { .. }
        | StaffCommand::Closure { .. } => calendar_command(service, command).await,
        StaffCommand::Keygen => {
            let path = &service.settings.signing_key;
            let signer = documents::signature::Signer::generate(path)?;
            done(serde_json::json!({
                "action": "keygen",
                "path": path.display().to_string(),
                "public_key": signer.public_key(),
            }))
        }
    }
}

fn parse_time(text: &str) -> Option<chrono::NaiveTime> {
    chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M").ok()
}

/// The calendar commands: what they did, or why not (with the appointments concerned).
async fn calendar_command(service: &Service, command: StaffCommand) -> anyhow::Result<bool> {
    use ventanilla::staff::calendar::{self, ClosureRequest};
    let templates = &service.templates;
    let refused = |refused: calendar::Refused| -> anyhow::Result<bool> {
        let text = templates.render("staff/calendar_refused.txt", &refused)?;
        eprint!("{text}");
        Ok(false)
    };
    let show = |context: serde_json::Value| -> anyhow::Result<bool> {
        print!("{}", templates.render("staff/calendar.txt", context)?);
        Ok(true)
    };
    let outcome = match command {
        StaffCommand::Calendar { office } => {
            let Some(calendar) = calendar::calendar(service, &office).await? else {
                return refused(calendar::Refused::UnknownOffice);
            };
            return show(serde_json::json!({
                "action": "show",
                "office": calendar.office.id,
                "hours": calendar.office.hours(),
                "days": calendar.office.exceptions.capacity,
                "closures": calendar.closures.iter().map(|c| serde_json::json!({
                    "id": c.id, "first": c.first_day, "last": c.last_day, "reason": c.reason,
                })).collect::<Vec<_>>(),
            }));
        }
        StaffCommand::Hours {
            office,
            days,
            opens,
            closes,
            slot_minutes,
            capacity,
        } => {
            let Some(calendar) = calendar::calendar(service, &office).await? else {
                return refused(calendar::Refused::UnknownOffice);
            };
            let mut hours = calendar.office.hours();
            let time = |text: Option<String>, current| match text {
                None => Ok(current),
                Some(text) => parse_time(&text).ok_or_else(|| anyhow::anyhow!("{text}: HH:MM")),
            };
            hours.opening_days = days.unwrap_or(hours.opening_days);
            hours.opens_at = time(opens, hours.opens_at)?;
            hours.closes_at = time(closes, hours.closes_at)?;
            hours.slot_minutes = slot_minutes.unwrap_or(hours.slot_minutes);
            hours.daily_capacity = capacity.unwrap_or(hours.daily_capacity);
            calendar::set_hours(service, None, &office, &hours)
                .await?
                .map(
                    |()| serde_json::json!({ "action": "hours", "office": office, "hours": hours }),
                )
        }
        StaffCommand::DayCapacity {
            office,
            date,
            capacity,
            reset,
        } => {
            let capacity = if reset { None } else { capacity };
            calendar::set_day_capacity(service, None, &office, date, capacity)
                .await?
                .map(|()| {
                    serde_json::json!({
                        "action": "day", "office": office, "day": date, "capacity": capacity,
                    })
                })
        }
        StaffCommand::Close {
            office,
            from,
            to,
            reason,
            preview,
        } => {
            let request = ClosureRequest {
                office_id: &office,
                first: from,
                last: to.unwrap_or(from),
                reason: &reason,
            };
            if preview {
                calendar::closure_preview(service, None, &request).await?.map(|rows| {
                    serde_json::json!({ "action": "preview", "office": office, "rows": rows })
                })
            } else {
                match calendar::close(service, None, &request).await? {
                    Ok(id) => return closure_report(service, id).await,
                    Err(refusal) => Err(refusal),
                }
            }
        }
        StaffCommand::Closure { id } => return closure_report(service, id).await,
        _ => unreachable!("only calendar commands come here"),
    };
    match outcome {
        Ok(context) => show(context),
        Err(refusal) => refused(refusal),
    }
}

async fn closure_report(service: &Service, id: i64) -> anyhow::Result<bool> {
    let Some(report) = ventanilla::staff::calendar::closure_report(service, id).await? else {
        anyhow::bail!("no closure has id {id}");
    };
    let closure = &report.closure;
    print!(
        "{}",
        service.templates.render(
            "staff/calendar.txt",
            serde_json::json!({
                "action": "closure",
                "id": closure.id,
                "office": closure.office_id,
                "first": closure.first_day,
                "last": closure.last_day,
                "reason": closure.reason,
                "moves": report.moves,
            }),
        )?
    );
    Ok(true)
}
