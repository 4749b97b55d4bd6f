//! The HTTP server: `/healthz` (database reachable, workers alive), `/metrics` (Prometheus
//! text format), `/verificar/{number}` (a cédula's registry record and signature status: where
//! its QR code leads), `/clave-publica` (the key that verifies cédulas) and, in webhook mode,
//! `/telegram/webhook`; the staff console under `/oficina` (`crate::console`).
//!
//! Every route but `/healthz` shares a cap on requests in progress; the public pages are
//! rate-limited per client address; every response carries the security headers (`limits`).
//! The server is our own accept loop (`server`): header-read timeout, connection cap.

pub mod limits;
pub mod server;

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::delivery::DeliveryStats;
use crate::service::Service;
use crate::store;

/// What the handlers read.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    /// The delivery worker's counters and heartbeat.
    pub delivery: Arc<DeliveryStats>,
    /// Set in webhook mode.
    pub telegram_webhook: Option<TelegramWebhook>,
}

/// What the webhook route needs.
#[derive(Clone)]
pub struct TelegramWebhook {
    pub receiver: crate::channels::telegram::Receiver,
    pub secret: String,
}

pub fn router(state: AppState) -> Router {
    let guards = limits::Guards::new(
        state.service.templates.clone(),
        &state.service.settings.http,
    );
    // What anyone may ask for: counted per client address.
    let public = Router::new()
        .route("/verificar/{number}", get(verify_page))
        .route("/clave-publica", get(public_key))
        .route_layer(middleware::from_fn_with_state(
            guards.clone(),
            limits::rate_limit,
        ));
    // Everything but /healthz waits for nothing: beyond the cap it gets 503 at once, so a
    // load balancer's health check still gets through under load.
    let limited = Router::new()
        .route("/metrics", get(metrics))
        .route("/telegram/webhook", post(telegram_webhook))
        .merge(public)
        .merge(crate::console::router())
        .route_layer(middleware::from_fn_with_state(
            guards.clone(),
            limits::limit_concurrency,
        ));
    Router::new()
        .route("/healthz", get(healthz))
        .merge(limited)
        .with_state(state)
        .layer(DefaultBodyLimit::max(guards.rules.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            guards.clone(),
            limits::limit_body,
        ))
        .layer(middleware::from_fn_with_state(
            guards.clone(),
            limits::request_timeout,
        ))
        .layer(middleware::from_fn(limits::security_headers))
}

/// Telegram's webhook: only a request carrying the secret given to `setWebhook` is read.
/// A turn that failed answers 500 so that Telegram delivers the update again.
async fn telegram_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let Some(webhook) = &state.telegram_webhook else {
        return StatusCode::NOT_FOUND;
    };
    let given = headers
        .get("X-Telegram-Bot-Api-Secret-Token")
        .and_then(|v| v.to_str().ok());
    if !given.is_some_and(|given| constant_time_eq(given.as_bytes(), webhook.secret.as_bytes())) {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(update) = serde_json::from_slice::<teloxide::types::Update>(&body) else {
        // Nothing Telegram sends again would be readable either.
        return StatusCode::OK;
    };
    // Processed or set aside: done. Otherwise Telegram delivers it again.
    if webhook.receiver.process_guarded(&update).await {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

/// The public page of a cédula: what the law's registry publishes (name, number, level,
/// program, institution, date) and its status (whether its signature holds). Not the CURP,
/// the folio or the cadena original (which holds the CURP).
async fn verify_page(
    State(state): State<AppState>,
    axum::extract::Path(number): axum::extract::Path<String>,
) -> axum::response::Response {
    let templates = &state.service.templates;
    let html = |status: StatusCode, name: &str, context: serde_json::Value| {
        html_page(templates, status, name, context)
    };
    let not_found = || {
        html(
            StatusCode::NOT_FOUND,
            "http/not_found.html",
            serde_json::json!({}),
        )
    };
    let Ok(parsed) = number.parse::<crate::domain::cedula::CedulaNumber>() else {
        return not_found();
    };
    let row = match state.service.db.reader().await {
        Ok(mut reader) => {
            store::cedulas::by_number(&mut reader.conn(), i64::from(parsed.value())).await
        }
        Err(error) => Err(error),
    };
    let row = match row {
        Ok(Some(row)) => row,
        Ok(None) => return not_found(),
        Err(error) => {
            tracing::error!(error.message = %error, "verification page: database unavailable");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let Ok(payload) = serde_json::from_str::<crate::domain::cedula::CedulaPayload>(&row.payload)
    else {
        return not_found();
    };
    let signature_holds = payload.cadena_original() == row.cadena
        && crate::documents::signature::verify(&row.public_key, &row.cadena, &row.signature)
            .is_ok();
    let local = payload
        .issued_at
        .with_timezone(&state.service.settings.procedure.zone());
    html(
        StatusCode::OK,
        "http/verify.html",
        serde_json::json!({
            "number": payload.number.to_string(),
            "name": payload.full_name(),
            "institution": payload.institution,
            "program": payload.program,
            "level": format!("level.{}", payload.level),
            "issued_on": local.date_naive(),
            "signature_holds": signature_holds,
        }),
    )
}

/// The public key that verifies cédulas (base64 Ed25519), when this server has the key.
async fn public_key(State(state): State<AppState>) -> axum::response::Response {
    match crate::documents::signature::Signer::load(&state.service.settings.signing_key) {
        Ok(signer) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{}\n", signer.public_key()),
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Compares secrets without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Serves until `shutdown` completes, with the limits of `[http]`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let rules = state.service.settings.http.clone();
    server::run(listener, router(state), &rules, shutdown).await
}

/// How old the worker's heartbeat may be before the service is unhealthy.
const HEARTBEAT_LIMIT_MS: i64 = 30_000;

/// Healthy (200) when the database answers and the workers beat. The body also says how many
/// messages are stuck: `sending` past their lease, on the channels this process delivers, i.e.
/// left by a worker that died and not taken over yet. That is reported (`"delivery":
/// "degraded"`) but keeps the status 200: the workers take such rows over within a poll, so
/// the count heals itself, and taking this instance out of a load balancer would not help.
/// The same count is the `ventanilla_outbox_stuck` gauge, for alerts.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let database = state.service.db.ping().await;
    let beat = state.delivery.heartbeat.load(Ordering::Relaxed);
    let workers = chrono::Utc::now().timestamp_millis() - beat < HEARTBEAT_LIMIT_MS;
    let stuck = stuck_messages(&state).await;
    let body = serde_json::json!({
        "database": if database { "ok" } else { "unreachable" },
        "workers": if workers { "ok" } else { "stalled" },
        "delivery": if stuck.unwrap_or(0) == 0 { "ok" } else { "degraded" },
        "stuck_messages": stuck,
    });
    let status = if database && workers {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body))
}

/// Messages `sending` past their lease on this process's channels (`None`: database down).
async fn stuck_messages(state: &AppState) -> Option<i64> {
    let mut reader = state.service.db.reader().await.ok()?;
    store::outbox::stuck(
        &mut reader.conn(),
        &state.delivery.channels,
        state.service.clock.now(),
    )
    .await
    .ok()
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let metrics = &state.service.metrics;
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    };
    counter(
        "ventanilla_turns_total",
        "Turns processed.",
        metrics.turns.load(Ordering::Relaxed),
    );
    counter(
        "ventanilla_duplicate_inputs_total",
        "Inputs ignored because they were already processed.",
        metrics.duplicates.load(Ordering::Relaxed),
    );
    counter(
        "ventanilla_turn_errors_total",
        "Turns that failed.",
        metrics.turn_errors.load(Ordering::Relaxed),
    );
    counter(
        "ventanilla_inputs_quarantined_total",
        "Inputs set aside after failing or crashing the service repeatedly.",
        metrics.quarantined.load(Ordering::Relaxed),
    );
    counter(
        "ventanilla_deliveries_paused_total",
        "Messages held because their address bounced.",
        state.delivery.paused.load(Ordering::Relaxed),
    );
    let delivery = &state.delivery;
    let _ = writeln!(
        out,
        "# HELP ventanilla_deliveries_total Delivery attempts by this process, by result.\n\
         # TYPE ventanilla_deliveries_total counter\n\
         ventanilla_deliveries_total{{result=\"sent\"}} {}\n\
         ventanilla_deliveries_total{{result=\"retried\"}} {}\n\
         ventanilla_deliveries_total{{result=\"failed\"}} {}",
        delivery.sent.load(Ordering::Relaxed),
        delivery.retried.load(Ordering::Relaxed),
        delivery.failed.load(Ordering::Relaxed),
    );
    let _ = writeln!(
        out,
        "# HELP ventanilla_outbox_reclaimed_total Messages this process took over from a worker \
         that died mid-send (after the lease, or at start-up on SQLite); each may have arrived \
         twice.\n\
         # TYPE ventanilla_outbox_reclaimed_total counter\n\
         ventanilla_outbox_reclaimed_total {}\n\
         # HELP ventanilla_outbox_claims_lost_total Sends whose outcome was not recorded because \
         another worker had taken the message over meanwhile; each may have arrived twice.\n\
         # TYPE ventanilla_outbox_claims_lost_total counter\n\
         ventanilla_outbox_claims_lost_total {}",
        delivery.reclaimed.load(Ordering::Relaxed),
        delivery.claims_lost.load(Ordering::Relaxed),
    );
    let stored = async {
        let mut reader = state.service.db.reader().await?;
        let mut conn = reader.conn();
        let depth = store::outbox::depth(&mut conn).await?;
        let counts = store::outbox::counts(&mut conn).await?;
        let stuck = store::outbox::stuck(
            &mut conn,
            &state.delivery.channels,
            state.service.clock.now(),
        )
        .await?;
        Ok::<_, sqlx::Error>((depth, counts, stuck))
    }
    .await;
    match stored {
        Ok((depth, counts, stuck)) => {
            let _ = writeln!(
                out,
                "# HELP ventanilla_outbox_stuck Messages being sent past their lease (left by a \
                 worker that died, not taken over yet).\n\
                 # TYPE ventanilla_outbox_stuck gauge\nventanilla_outbox_stuck {stuck}"
            );
            let _ = writeln!(
                out,
                "# HELP ventanilla_outbox_depth Messages waiting to be delivered.\n\
                 # TYPE ventanilla_outbox_depth gauge\nventanilla_outbox_depth {depth}"
            );
            let _ = writeln!(
                out,
                "# HELP ventanilla_outbox_messages Outbox messages by channel and status.\n\
                 # TYPE ventanilla_outbox_messages gauge"
            );
            for row in counts {
                let (channel, status, count) = (row.channel, row.status.as_str(), row.count);
                let _ = writeln!(
                    out,
                    "ventanilla_outbox_messages{{channel=\"{channel}\",status=\"{status}\"}} {count}"
                );
            }
        }
        Err(error) => {
            tracing::warn!(error.message = %error, "metrics: database unavailable");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain")],
                out,
            );
        }
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        out,
    )
}
/// A page of `templates/http/` with `status`; when it cannot be rendered, the bare status (an
/// error status) or 500.
pub(crate) fn html_page(
    templates: &crate::templates::Templates,
    status: StatusCode,
    name: &str,
    context: serde_json::Value,
) -> axum::response::Response {
    match templates.render(name, context) {
        Ok(page) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(error.message = %error, "page not rendered");
            if status.is_success() {
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            } else {
                status.into_response()
            }
        }
    }
}
