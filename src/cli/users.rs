//! `ventanilla staff user …`: the staff accounts, with their passwords read from stdin (or
//! generated and printed once).

use clap::Subcommand;

use ventanilla::service::Service;

#[derive(Subcommand)]
pub enum UserCommand {
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

pub async fn user_command(service: &Service, command: UserCommand) -> anyhow::Result<bool> {
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
