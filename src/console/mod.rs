//! The office's console at `/oficina`: server-rendered pages (minijinja, `templates/console/`),
//! plain HTML forms that work without JavaScript, in Spanish. Every action calls the same
//! library function as its `ventanilla staff …` command.
//!
//! - `auth`: login (throttled), logout, the session cookie, the form token (CSRF), and the
//!   [`Staff`] extractor every page takes (no session: to the login page).
//! - `agenda`: the day of an office.
//! - `case`: a case, its timeline, its documents and its actions (arrival, no-show, the
//!   checklist, approval, rejection, resending, rescheduling, reopening); search.
//! - `today`: the day's numbers, who waits for a decision, messages in trouble.
//! - `calendar`: an office's hours and capacity, one day's capacity, closures (supervisors).
//! - `users`: the staff accounts (admins); `offices`: the offices at a glance (admins).

mod agenda;
mod auth;
mod calendar;
mod case;
mod offices;
mod today;
mod users;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Serialize;

use crate::domain::staff::{Permission, StaffMember};
use crate::http::AppState;
use crate::staff::accounts::Session;

pub use auth::{LOGIN_COOKIE, SESSION_COOKIE};

/// The console's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/oficina",
            get(|| async { Redirect::to("/oficina/agenda") }),
        )
        .route("/oficina/entrar", get(auth::login_page).post(auth::login))
        .route("/oficina/salir", post(auth::logout))
        .route("/oficina/agenda", get(agenda::page))
        .route("/oficina/hoy", get(today::page))
        .route("/oficina/buscar", get(case::search))
        .route("/oficina/casos/{folio}", get(case::page))
        .route("/oficina/casos/{folio}/llegada", post(case::checkin))
        .route("/oficina/casos/{folio}/no-se-presento", post(case::no_show))
        .route(
            "/oficina/casos/{folio}/aprobar",
            get(case::confirm_approve).post(case::approve),
        )
        .route("/oficina/casos/{folio}/rechazar", post(case::reject))
        .route("/oficina/casos/{folio}/reprogramar", post(case::reschedule))
        .route(
            "/oficina/casos/{folio}/documentos-revisados",
            post(case::checklist),
        )
        .route(
            "/oficina/casos/{folio}/documentos/{name}",
            get(case::document),
        )
        .route("/oficina/casos/{folio}/reenviar", post(case::resend))
        .route("/oficina/casos/{folio}/reabrir", post(case::reopen))
        .route(
            "/oficina/casos/{folio}/autorizar-cita",
            post(case::approve_booking),
        )
        .route("/oficina/capacidad", get(calendar::page))
        .route("/oficina/capacidad/horario", post(calendar::set_hours))
        .route("/oficina/capacidad/dia", post(calendar::set_day))
        .route("/oficina/cierres", post(calendar::preview))
        .route("/oficina/cierres/confirmar", post(calendar::confirm))
        .route("/oficina/cierres/{id}", get(calendar::report))
        .route("/oficina/oficinas", get(offices::page))
        .route("/oficina/usuarios", get(users::page).post(users::add))
        .route("/oficina/usuarios/{name}/clave", post(users::password))
        .route("/oficina/usuarios/{name}/desactivar", post(users::disable))
}

/// A form that carries nothing but the session's token (`csrf`).
#[derive(serde::Deserialize)]
pub struct TokenForm {
    csrf: String,
}

/// A request of a staff member with an open session.
pub struct Staff {
    pub session: Session,
    /// The session cookie's token (for logout).
    token: String,
}

impl Staff {
    pub fn member(&self) -> &StaffMember {
        &self.session.member
    }

    /// What every page's layout shows: who is in, the form token, their office's name.
    fn frame<'a>(&'a self, state: &'a AppState) -> Frame<'a> {
        let member = self.member();
        let office = member.office_id.as_deref().map(|id| {
            state
                .service
                .settings
                .procedure
                .office(id)
                .map_or(id, |office| office.name.as_str())
        });
        Frame {
            name: &member.name,
            role: member.role.as_str(),
            office,
            csrf: &self.session.csrf,
        }
    }
}

/// The layout's values (`templates/console/base.html`).
#[derive(Serialize)]
struct Frame<'a> {
    name: &'a str,
    role: &'static str,
    office: Option<&'a str>,
    csrf: &'a str,
}

/// A console page: `template` with `page`'s values and the layout's.
fn render(state: &AppState, staff: &Staff, template: &str, page: impl Serialize) -> Response {
    #[derive(Serialize)]
    struct Context<'a, P> {
        staff: Frame<'a>,
        page: P,
    }
    let context = Context {
        staff: staff.frame(state),
        page,
    };
    html(state, StatusCode::OK, template, context)
}

fn html(state: &AppState, status: StatusCode, template: &str, context: impl Serialize) -> Response {
    match state.service.templates.render(template, context) {
        Ok(page) => (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            page,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(error.message = %error, template, "console page not rendered");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Why the console refused a request.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Refused {
    /// The member's role does not cover it.
    Role { permission: Permission },
    /// Another office's page, for a member of one office.
    Office,
    /// A form without this session's token (an old page, or another site's form).
    ExpiredForm,
    /// No office has this id.
    UnknownOffice,
}

/// A refused request: 403 with a page that says why.
fn forbidden(state: &AppState, staff: &Staff, why: Refused) -> Response {
    let mut response = render(state, staff, "console/forbidden.html", why);
    *response.status_mut() = match why {
        Refused::UnknownOffice => StatusCode::NOT_FOUND,
        _ => StatusCode::FORBIDDEN,
    };
    response
}

/// A form that did not carry the session's token.
fn forbidden_form(state: &AppState, staff: &Staff) -> Response {
    forbidden(state, staff, Refused::ExpiredForm)
}

#[cfg(test)]
mod tests {
    use crate::templates::Templates;

    /// Every console page renders with the values its handler gives (strict templates: a
    /// missing value is an error, not an empty string).
    #[test]
    fn the_console_pages_render() {
        let templates = Templates::new();
        let staff = serde_json::json!({
            "name": "ana", "role": "clerk", "office": "dgp-cdmx", "csrf": "abc",
        });
        let login = serde_json::json!({
            "page": { "csrf": "abc", "problem": "throttled", "minutes": 15, "username": "ana" },
        });
        let page = templates.render("console/login.html", &login).unwrap();
        assert!(page.contains("espera 15 minutos"), "{page}");
        let agenda = serde_json::json!({
            "staff": staff,
            "page": {
                "day": "2026-12-03", "previous": "2026-12-02", "next": "2026-12-04",
                "office_id": "dgp-cdmx", "office_name": "DGP",
                "offices": [{ "id": "dgp-cdmx", "name": "DGP", "selected": true }],
                "entries": [{
                    "slot": "09:30", "office_id": "dgp-cdmx", "folio": "SOL-2026-000001",
                    "status": "scheduled", "no_show": false, "no_shows": 1,
                    "name": "Luz <Pérez>",
                    "level": "licenciatura",
                }],
                "counts": { "scheduled": 1 }, "print": false, "bad_date": false,
            },
        });
        let page = templates.render("console/agenda.html", &agenda).unwrap();
        assert!(
            page.contains("Luz &lt;Pérez&gt;"),
            "HTML is escaped: {page}"
        );
        assert!(page.contains("citas perdidas: 1"), "{page}");
        for kind in [
            serde_json::json!({ "kind": "role", "permission": "supervise" }),
            serde_json::json!({ "kind": "office" }),
            serde_json::json!({ "kind": "expired_form" }),
            serde_json::json!({ "kind": "unknown_office" }),
        ] {
            let context = serde_json::json!({ "staff": staff, "page": kind });
            templates
                .render("console/forbidden.html", &context)
                .unwrap();
        }
    }
}
