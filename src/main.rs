//! The `ventanilla` command: parses the command line, loads the settings, sets up logging, and
//! runs what was asked (`serve` and connecting live in `ventanilla::startup`).

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use ventanilla::channels::email;
use ventanilla::config::Settings;
use ventanilla::service::Service;
use ventanilla::startup::{connect, serve};
use ventanilla::{channels, documents, telemetry};

#[derive(Parser)]
#[command(
    name = "ventanilla",
    version,
    about = "Ventanilla: professional licences (cedulas) without a queue"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: workers, channels and the HTTP server.
    Serve,
    /// Talk to Ventanilla in the terminal.
    Chat {
        /// Who you are: each id is a distinct applicant; the same id resumes its conversation.
        #[arg(long, default_value = "terminal")]
        user: String,
        /// One JSON line in, one JSON line out per turn (for scripts).
        #[arg(long)]
        jsonl: bool,
    },
    /// The e-mail channel's commands.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// The office's commands.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Check a cédula PDF: its signature, the office's key and the registry. Prints VALID or
    /// INVALID with the reason; exits 1 when invalid.
    Verify {
        /// The cédula PDF.
        file: std::path::PathBuf,
    },
    /// Apply the database migrations and exit.
    Migrate,
}

#[derive(Subcommand)]
enum StaffCommand {
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

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account. The password is read from stdin (one line); with nothing on stdin
    /// (or a terminal), one is generated and printed.
    Add {
        name: String,
        /// clerk, supervisor or admin.
        #[arg(long)]
        role: String,
        /// The office the member works at (its id); every office when omitted.
        #[arg(long)]
        office: Option<String>,
    },
    /// Disable an account and end its sessions.
    Disable { name: String },
    /// Set a new password (read from stdin, or generated and printed) and end its sessions.
    Password { name: String },
    /// Every account.
    List,
}

#[derive(Subcommand)]
enum MailCommand {
    /// Read one RFC 5322 message on stdin (for an MTA pipe, procmail, fetchmail). Exit codes
    /// follow sysexits: 0 accepted, 65 unusable data, 75 temporary failure (retry later),
    /// 78 configuration error.
    Receive,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Mail {
        command: MailCommand::Receive,
    } = cli.command
    {
        telemetry::init("warn");
        std::process::exit(mail_receive().await.into());
    }
    let settings = Arc::new(Settings::load()?);
    match cli.command {
        Command::Serve => {
            telemetry::init("info");
            serve(settings).await
        }
        Command::Chat { user, jsonl } => {
            telemetry::init("warn");
            let service = connect(settings).await?;
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            let result =
                channels::terminal::run(&service, &user, jsonl, stdin, tokio::io::stdout()).await;
            service.db.close().await;
            result
        }
        Command::Mail { .. } => unreachable!("handled above"),
        Command::Staff { command } => {
            telemetry::init("warn");
            let service = connect(settings).await?;
            let result = staff_command(&service, command).await;
            service.db.close().await;
            match result? {
                true => Ok(()),
                false => std::process::exit(1),
            }
        }
        Command::Verify { file } => {
            telemetry::init("warn");
            // One byte more than the cap means the file is too large, and `verify` says so.
            let bytes = ventanilla::files::read_at_most(&file, documents::MAX_PDF_BYTES + 1)
                .await
                .with_context(|| format!("cannot read {}", file.display()))?;
            let service = connect(settings.clone()).await?;
            let office_key = documents::signature::Signer::load(&settings.signing_key)
                .ok()
                .map(|s| s.public_key());
            let renderer =
                documents::Documents::new(service.db.clone(), service.templates.clone(), &settings);
            let verdict = documents::verify_pdf(&renderer, office_key.as_deref(), &bytes).await;
            service.db.close().await;
            let (valid, reason, signed) = match verdict? {
                documents::Verdict::Valid { signed } => (true, None, Some(signed)),
                documents::Verdict::Invalid { reason, signed } => (false, Some(reason), signed),
            };
            let holder = signed.map(|payload| {
                serde_json::json!({
                    "number": payload.number.to_string(),
                    "name": payload.full_name(),
                    "level": format!("level.{}", payload.level),
                    "program": payload.program,
                    "institution": payload.institution,
                })
            });
            let context = serde_json::json!({ "valid": valid, "reason": reason, "holder": holder });
            print!("{}", service.templates.render("staff/verify.txt", context)?);
            if !valid {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Migrate => {
            telemetry::init("info");
            let service = connect(settings).await?;
            service.db.close().await;
            tracing::info!("migrations applied");
            Ok(())
        }
    }
}

/// Runs a staff command, printing its outcome; false when it was refused.
async fn staff_command(service: &Service, command: StaffCommand) -> anyhow::Result<bool> {
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

/// The password given on stdin (its first line), or `None` to generate one (nothing given, or
/// stdin is a terminal).
fn password_from_stdin() -> anyhow::Result<Option<String>> {
    use std::io::{BufRead, IsTerminal, Read};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let mut line = String::new();
    stdin.lock().take(4096).read_line(&mut line)?;
    let line = line.trim_end_matches(['\r', '\n']).to_string();
    Ok((!line.is_empty()).then_some(line))
}

async fn user_command(service: &Service, command: UserCommand) -> anyhow::Result<bool> {
    use ventanilla::staff::accounts;
    let templates = &service.templates;
    let report = |context: serde_json::Value, ok: bool| -> anyhow::Result<bool> {
        let text = templates.render("staff/account.txt", context)?;
        if ok {
            print!("{text}");
        } else {
            eprint!("{text}");
        }
        Ok(ok)
    };
    match command {
        UserCommand::Add { name, role, office } => {
            let Some(role) = ventanilla::domain::staff::Role::parse(&role) else {
                return report(
                    serde_json::json!({ "refused": "bad_role", "name": name }),
                    false,
                );
            };
            let given = password_from_stdin()?;
            let generated = given.is_none();
            match accounts::add_user(
                service,
                None,
                &name,
                role,
                office.as_deref(),
                given.as_deref(),
            )
            .await?
            {
                Ok(password) => report(
                    serde_json::json!({
                        "action": "added", "name": name, "role": role.as_str(),
                        "office": office, "password": generated.then_some(password),
                    }),
                    true,
                ),
                Err(refusal) => report(
                    serde_json::json!({ "refused": refusal.key(), "name": name, "office": office }),
                    false,
                ),
            }
        }
        UserCommand::Disable { name } => {
            match accounts::disable_user(service, None, &name).await? {
                Ok(()) => report(
                    serde_json::json!({ "action": "disabled", "name": name }),
                    true,
                ),
                Err(refusal) => report(
                    serde_json::json!({ "refused": refusal.key(), "name": name }),
                    false,
                ),
            }
        }
        UserCommand::Password { name } => {
            let given = password_from_stdin()?;
            let generated = given.is_none();
            match accounts::set_password(service, None, &name, given.as_deref()).await? {
                Ok(password) => report(
                    serde_json::json!({
                        "action": "password", "name": name,
                        "password": generated.then_some(password),
                    }),
                    true,
                ),
                Err(refusal) => report(
                    serde_json::json!({ "refused": refusal.key(), "name": name }),
                    false,
                ),
            }
        }
        UserCommand::List => {
            let users: Vec<serde_json::Value> = accounts::users(service)
                .await?
                .into_iter()
                .map(|u| {
                    serde_json::json!({
                        "name": u.name, "role": u.role.as_str(), "office": u.office_id,
                        "disabled": u.disabled_at.is_some(),
                    })
                })
                .collect();
            report(
                serde_json::json!({ "action": "list", "users": users }),
                true,
            )
        }
    }
}

/// `ventanilla mail receive`: one message on stdin; the exit code tells the MTA what to do.
async fn mail_receive() -> u8 {
    const EX_TEMPFAIL: u8 = 75;
    const EX_CONFIG: u8 = 78;
    let settings = match Settings::load() {
        Ok(settings) => Arc::new(settings),
        Err(error) => {
            eprintln!("ventanilla: configuration error: {error:#}");
            return EX_CONFIG;
        }
    };
    // More than this is never parsed (a larger message is answered from its headers): the rest
    // of the input is read and dropped, so that the MTA sees it taken.
    let max_read = settings.mail.max_message_bytes.saturating_add(1);
    let mut raw = Vec::new();
    let read = async {
        use tokio::io::AsyncReadExt as _;
        let mut stdin = tokio::io::stdin();
        (&mut stdin)
            .take(max_read as u64)
            .read_to_end(&mut raw)
            .await?;
        tokio::io::copy(&mut stdin, &mut tokio::io::sink()).await
    };
    if let Err(error) = read.await {
        eprintln!("ventanilla: cannot read the message: {error}");
        return EX_TEMPFAIL;
    }
    let service = match connect(settings).await {
        Ok(service) => service,
        Err(error) => {
            eprintln!("ventanilla: the database is unavailable: {error:#}");
            return EX_TEMPFAIL;
        }
    };
    let outcome = email::receive_guarded(&service, &raw).await;
    match &outcome {
        email::Outcome::Done(Ok(_)) => {}
        email::Outcome::Done(Err(error)) => eprintln!("ventanilla: unusable message: {error}"),
        email::Outcome::Retry(error) => eprintln!("ventanilla: {error}"),
        email::Outcome::Quarantined(reason) => {
            eprintln!("ventanilla: message set aside after repeated failures ({reason})")
        }
    }
    let code = outcome.exit_code();
    service.db.close().await;
    code
}
