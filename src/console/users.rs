//! The staff accounts (admins): `/oficina/usuarios` lists the accounts the admin manages (every
//! one for a national admin, their office's otherwise) and creates one; each account can be
//! given a new password or disabled. Passwords made here are generated and shown once, on the
//! page that answers the form (never stored in clear, never in a link). The same library
//! functions as `ventanilla staff user add|password|disable`.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::case::failed;
use super::{Refused, Staff, TokenForm, forbidden, forbidden_form, render};
use crate::domain::staff::{Permission, Role};
use crate::http::AppState;
use crate::staff::accounts::{self, AccountRefusal};

#[derive(Deserialize)]
pub struct Done {
    hecho: Option<String>,
    cuenta: Option<String>,
}

#[derive(Serialize)]
struct Account {
    name: String,
    role: &'static str,
    office: Option<String>,
    disabled: bool,
}

#[derive(Serialize)]
struct OfficeChoice {
    id: String,
    name: String,
}

/// The values of `console/users.html`.
#[derive(Serialize)]
struct UsersPage {
    accounts: Vec<Account>,
    /// The offices an account may be created for.
    offices: Vec<OfficeChoice>,
    /// Whether a national account may be created (a national admin).
    national: bool,
    done: Option<String>,
    account: Option<String>,
    /// Why the last form was refused (an `AccountRefusal` key), with the name it was about.
    refused: Option<&'static str>,
}

/// The page: its accounts and forms, saying what was `done` or `refused`.
async fn users_page(
    state: &AppState,
    staff: &Staff,
    done: Option<String>,
    account: Option<String>,
    refused: Option<AccountRefusal>,
) -> Response {
    let member = staff.member();
    if !member.role.allows(Permission::Administer, false) {
        return forbidden(
            state,
            staff,
            Refused::Role {
                permission: Permission::Administer,
            },
        );
    }
    let users = match accounts::managed_users(&state.service, Some(member)).await {
        Ok(Ok(users)) => users,
        Ok(Err(_)) => return forbidden(state, staff, Refused::Office),
        Err(error) => return failed(error),
    };
    let procedure = &state.service.settings.procedure;
    let office_name = |id: &str| {
        procedure
            .office(id)
            .map_or(id.to_string(), |o| o.name.clone())
    };
    let page = UsersPage {
        accounts: users
            .into_iter()
            .map(|user| Account {
                name: user.name,
                role: user.role.as_str(),
                office: user.office_id.as_deref().map(office_name),
                disabled: user.disabled_at.is_some(),
            })
            .collect(),
        offices: procedure
            .offices
            .iter()
            .filter(|office| member.serves(&office.id))
            .map(|office| OfficeChoice {
                id: office.id.clone(),
                name: office.name.clone(),
            })
            .collect(),
        national: member.office_id.is_none(),
        done,
        account,
        refused: refused.map(AccountRefusal::key),
    };
    let mut response = render(state, staff, "console/users.html", page);
    if let Some(refusal) = refused {
        *response.status_mut() = match refusal {
            AccountRefusal::NotAllowed | AccountRefusal::OtherOffice => StatusCode::FORBIDDEN,
            AccountRefusal::NoSuchUser => StatusCode::NOT_FOUND,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
    }
    response
}

/// The page again, saying why the change to the account `name` was refused.
async fn refused(state: &AppState, staff: &Staff, name: &str, refusal: AccountRefusal) -> Response {
    let name = name.chars().take(64).collect();
    users_page(state, staff, None, Some(name), Some(refusal)).await
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Response {
    let account = done.cuenta.map(|name| name.chars().take(64).collect());
    users_page(&state, &staff, done.hecho, account, None).await
}

#[derive(Deserialize)]
pub struct AddForm {
    csrf: String,
    nombre: String,
    rol: String,
    /// An office id, or empty for every office.
    #[serde(default)]
    oficina: String,
}

/// The page that shows a password just generated, once.
fn password_page(
    state: &AppState,
    staff: &Staff,
    name: &str,
    password: &str,
    added: bool,
) -> Response {
    render(
        state,
        staff,
        "console/user_password.html",
        serde_json::json!({ "name": name, "password": password, "added": added }),
    )
}

/// Creates an account with a generated password.
pub async fn add(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<AddForm>,
) -> Response {
    if !staff.sent(&form.csrf) {
        return forbidden_form(&state, &staff);
    }
    let name = form.nombre.trim();
    let Some(role) = Role::parse(form.rol.trim()) else {
        return users_page(&state, &staff, None, None, Some(AccountRefusal::BadRole)).await;
    };
    let office = Some(form.oficina.trim()).filter(|id| !id.is_empty());
    let member = Some(staff.member());
    match accounts::add_user(&state.service, member, name, role, office, None).await {
        Ok(Ok(password)) => password_page(&state, &staff, name, &password, true),
        Ok(Err(refusal)) => refused(&state, &staff, name, refusal).await,
        Err(error) => failed(error),
    }
}

/// A new generated password for the account (its sessions end).
pub async fn password(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    if !staff.sent(&form.csrf) {
        return forbidden_form(&state, &staff);
    }
    let member = Some(staff.member());
    match accounts::set_password(&state.service, member, &name, None).await {
        Ok(Ok(password)) => password_page(&state, &staff, &name, &password, false),
        Ok(Err(refusal)) => refused(&state, &staff, &name, refusal).await,
        Err(error) => failed(error),
    }
}

/// Disables the account (its sessions end).
pub async fn disable(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    if !staff.sent(&form.csrf) {
        return forbidden_form(&state, &staff);
    }
    match accounts::disable_user(&state.service, Some(staff.member()), &name).await {
        Ok(Ok(())) => {
            let mut encoded = url::form_urlencoded::Serializer::new(String::new());
            encoded
                .append_pair("hecho", "desactivada")
                .append_pair("cuenta", &name);
            Redirect::to(&format!("/oficina/usuarios?{}", encoded.finish())).into_response()
        }
        Ok(Err(refusal)) => refused(&state, &staff, &name, refusal).await,
        Err(error) => failed(error),
    }
}
