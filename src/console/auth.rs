//! Getting in and out: the login form (its own token in a short cookie, as there is no session
//! yet), the session cookie (`HttpOnly`, `SameSite=Strict`, `Secure` when `PUBLIC_URL` is
//! https), the form token every form of a session carries, and logout.

use axum::Form;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::{Staff, TokenForm, html};
use crate::domain::text::hex;
use crate::http::AppState;
use crate::http::limits::client_address_of;
use crate::staff::accounts::{self, Login};

/// The session's cookie.
pub const SESSION_COOKIE: &str = "ventanilla_sesion";
/// The login form's token, before any session exists.
pub const LOGIN_COOKIE: &str = "ventanilla_entrada";

/// The value of cookie `name` in a request's headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty() && value.len() <= 128)
}

/// A `Set-Cookie` value for the console's path; `None` clears the cookie.
fn set_cookie(
    state: &AppState,
    name: &str,
    value: Option<&str>,
    max_age: Option<u32>,
) -> HeaderValue {
    let secure = state.service.settings.public_url.starts_with("https://");
    let mut cookie = format!(
        "{name}={}; Path=/oficina; HttpOnly; SameSite=Strict",
        value.unwrap_or("")
    );
    match (value, max_age) {
        (None, _) => cookie.push_str("; Max-Age=0"),
        (Some(_), Some(seconds)) => cookie.push_str(&format!("; Max-Age={seconds}")),
        (Some(_), None) => {}
    }
    if secure {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).expect("cookie values are hexadecimal")
}

/// Constant-time comparison of two tokens.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn to_login() -> Response {
    Redirect::to("/oficina/entrar").into_response()
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Staff, Response> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        match accounts::session(&state.service, token).await {
            Ok(Some(session)) => Ok(Staff {
                session,
                token: token.to_string(),
            }),
            Ok(None) => {
                let clear = set_cookie(state, SESSION_COOKIE, None, None);
                Err(([(header::SET_COOKIE, clear)], to_login()).into_response())
            }
            Err(error) => {
                tracing::error!(error.message = %error, "console session not read");
                Err(StatusCode::SERVICE_UNAVAILABLE.into_response())
            }
        }
    }
}

impl Staff {
    /// Whether a form came with this session's token.
    pub fn sent(&self, csrf: &str) -> bool {
        same_token(csrf, &self.session.csrf)
    }
}

/// The values of `console/login.html`.
#[derive(Serialize)]
struct LoginPage<'a> {
    csrf: &'a str,
    /// Why the last attempt was refused: `refused`, `throttled`, `expired_form`.
    problem: Option<&'static str>,
    minutes: Option<u32>,
    username: &'a str,
}

fn login_form(
    state: &AppState,
    status: StatusCode,
    problem: Option<&'static str>,
    minutes: Option<u32>,
    username: &str,
) -> Response {
    let token = hex(&rand::random::<[u8; 32]>());
    let page = LoginPage {
        csrf: &token,
        problem,
        minutes,
        username,
    };
    #[derive(Serialize)]
    struct Context<'a> {
        page: LoginPage<'a>,
    }
    let mut response = html(state, status, "console/login.html", Context { page });
    let cookie = set_cookie(state, LOGIN_COOKIE, Some(&token), Some(3600));
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

pub async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Ok(Some(_)) = accounts::session(&state.service, token).await
    {
        return Redirect::to("/oficina/agenda").into_response();
    }
    login_form(&state, StatusCode::OK, None, None, "")
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
}

/// The client's address, as the rate limiter reads it (for the per-address login throttle).
pub struct ClientAddress(std::net::IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<ClientAddress, Self::Rejection> {
        let trust = state.service.settings.http.trust_forwarded_for;
        Ok(ClientAddress(client_address_of(
            &parts.headers,
            &parts.extensions,
            trust,
        )))
    }
}

pub async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let username: String = form.username.trim().chars().take(64).collect();
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same_token(&form.csrf, expected) {
        let status = StatusCode::FORBIDDEN;
        return login_form(&state, status, Some("expired_form"), None, &username);
    }
    let address = address.to_string();
    match accounts::login(&state.service, &username, &form.password, &address).await {
        Ok(Login::Opened(session)) => {
            let mut response = Redirect::to("/oficina/agenda").into_response();
            let cookies = response.headers_mut();
            let opened = set_cookie(&state, SESSION_COOKIE, Some(&session.token), None);
            cookies.append(header::SET_COOKIE, opened);
            cookies.append(
                header::SET_COOKIE,
                set_cookie(&state, LOGIN_COOKIE, None, None),
            );
            response
        }
        Ok(Login::Refused) => {
            let status = StatusCode::UNAUTHORIZED;
            login_form(&state, status, Some("refused"), None, &username)
        }
        Ok(Login::Throttled { minutes }) => {
            let status = StatusCode::TOO_MANY_REQUESTS;
            login_form(&state, status, Some("throttled"), Some(minutes), &username)
        }
        Err(error) => {
            tracing::error!(error.message = %error, "console login failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<TokenForm>,
) -> Response {
    if !staff.sent(&form.csrf) {
        return super::forbidden_form(&state, &staff);
    }
    if let Err(error) = accounts::logout(&state.service, &staff.token).await {
        tracing::error!(error.message = %error, "console logout failed");
    }
    let clear = set_cookie(&state, SESSION_COOKIE, None, None);
    (
        [(header::SET_COOKIE, clear)],
        Redirect::to("/oficina/entrar"),
    )
        .into_response()
}
