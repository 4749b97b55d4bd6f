//! The console over HTTP through the service's own router (every layer but the socket): a
//! request, its response read whole, logging in through the form, staff accounts, a booked
//! applicant, and the `ventanilla` binary for the commands.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use tower::ServiceExt;
use ventanilla::domain::staff::Role;
use ventanilla::http::{AppState, router};
use ventanilla::service::Service;
use ventanilla::staff::accounts;

use super::{TestApp, answers_to_review};

pub const PASSWORD: &str = "una clave de prueba larga";

/// A response, read whole.
pub struct Page {
    pub status: StatusCode,
    pub cookies: Vec<String>,
    pub location: Option<String>,
    pub content_type: Option<String>,
    /// The body as text (lossy for a PDF; `bytes` holds it as sent).
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Page {
    /// The `name=value` of a cookie this response sets.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(|c| c.split(';').next().unwrap().to_string())
    }

    /// The value of the hidden `csrf` input of the page's first form that has one.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf input");
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

pub async fn call(
    service: &Service,
    method: Method,
    uri: &str,
    cookies: &[String],
    form: Option<&[(&str, &str)]>,
) -> Page {
    let state = AppState {
        service: service.clone(),
        delivery: Arc::default(),
        telegram_webhook: None,
    };
    let mut request = Request::builder().method(method).uri(uri);
    if !cookies.is_empty() {
        request = request.header(header::COOKIE, cookies.join("; "));
    }
    let body = match form {
        Some(fields) => {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            let mut encoded = url::form_urlencoded::Serializer::new(String::new());
            for (key, value) in fields {
                encoded.append_pair(key, value);
            }
            Body::from(encoded.finish())
        }
        None => Body::empty(),
    };
    let response = router(state)
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let cookies = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string());
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = axum::body::to_bytes(response.into_body(), 4 << 20)
        .await
        .unwrap()
        .to_vec();
    Page {
        status,
        cookies,
        location,
        content_type,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes,
    }
}

pub async fn get(service: &Service, uri: &str, cookies: &[String]) -> Page {
    call(service, Method::GET, uri, cookies, None).await
}

/// Logs in through the form; returns the login response and the session cookie, if any.
pub async fn login(service: &Service, name: &str, password: &str) -> (Page, Option<String>) {
    let form = get(service, "/oficina/entrar", &[]).await;
    assert_eq!(form.status, StatusCode::OK);
    let login_cookie = form.cookie("ventanilla_entrada").expect("the login cookie");
    let csrf = form.csrf();
    let fields = [("username", name), ("password", password), ("csrf", &csrf)];
    let page = call(
        service,
        Method::POST,
        "/oficina/entrar",
        &[login_cookie],
        Some(&fields),
    )
    .await;
    let session = page.cookie("ventanilla_sesion").filter(|c| c.len() > 20);
    (page, session)
}

pub async fn add(app: &TestApp, name: &str, role: Role, office: Option<&str>) {
    accounts::add_user(&app.service, None, name, role, office, Some(PASSWORD))
        .await
        .unwrap()
        .unwrap();
}

/// Takes `user` through the journey to a booked appointment (Thursday 3 December, 09:30).
pub async fn booked(app: &TestApp, user: &str, key: &str) {
    for answer in answers_to_review(key) {
        app.say(user, &answer).await;
    }
    app.say(user, "Enviar solicitud").await;
    for answer in ["1", "jue 3 dic", "9:30"] {
        app.say(user, answer).await;
    }
}

pub fn cli(app: &TestApp, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_ventanilla"))
        .args(args)
        .env_clear()
        .env("DATABASE_URL", &app.service.settings.database_url)
        .env("VENTANILLA_DATA_DIR", &app.data_dir)
        .env("VENTANILLA_NOW", super::NOW)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}
