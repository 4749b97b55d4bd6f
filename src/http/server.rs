//! The accept loop: each connection is served by hyper with a header-read timeout (which also
//! closes connections left idle), the number of open connections is capped below the
//! process's open-files limit, and an accept error (out of descriptors) never ends the loop.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt as _;

use crate::config::HttpRules;

/// Descriptors kept for everything but connections: the database pools, the Maildir reader,
/// the IMAP and SMTP sessions, logs.
pub const RESERVED_DESCRIPTORS: u64 = 256;

/// How long to wait after a failed accept before the next (out of descriptors: waiting lets
/// connections close; retrying at once would spin).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The largest request head hyper buffers (request line and headers).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Serves `app` on `listener` until `shutdown` completes, then lets the requests in progress
/// finish (within the request timeout).
pub async fn run(
    listener: tokio::net::TcpListener,
    app: Router,
    rules: &HttpRules,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max_connections = connection_cap(rules.max_connections);
    tracing::info!(max_connections, "HTTP: accepting connections");
    let slots = Arc::new(Semaphore::new(max_connections));
    let (closing, _) = watch::channel(false);
    let header_read_timeout = Duration::from_millis(rules.header_read_timeout_millis);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut refused: u64 = 0;
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(error.message = %error, "HTTP: cannot accept a connection");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Full: closing at once tells the client more than leaving it in the backlog.
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(refused, max_connections, "HTTP: too many connections");
            }
            drop(stream);
            continue;
        };
        let app = app.clone();
        let mut closing = closing.subscribe();
        tokio::spawn(async move {
            let _slot = slot;
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    app.clone().oneshot(request)
                });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .max_buf_size(MAX_HEAD_BYTES);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            let mut told_to_close = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(error) = result {
                            tracing::debug!(error.message = %error, "HTTP: connection ended");
                        }
                        break;
                    }
                    _ = closing.wait_for(|closing| *closing), if !told_to_close => {
                        told_to_close = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = closing.send(true);
    let drain = Duration::from_millis(rules.request_timeout_millis) + Duration::from_secs(1);
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(drain, slots.acquire_many(all)).await;
    Ok(())
}

/// The configured cap, lowered so that connections never take the descriptors the rest of the
/// service needs.
fn connection_cap(configured: usize) -> usize {
    let configured = configured.clamp(1, Semaphore::MAX_PERMITS);
    match open_files_limit() {
        Some(limit) => {
            let room = limit.saturating_sub(RESERVED_DESCRIPTORS).max(1);
            configured.min(usize::try_from(room).unwrap_or(usize::MAX))
        }
        None => configured,
    }
}

/// The soft and hard `RLIMIT_NOFILE`.
#[cfg(unix)]
fn limits() -> Option<libc::rlimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and reads nothing else.
    let result = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (result == 0).then_some(limit)
}

/// The process's soft open-files limit, when the platform has one.
#[allow(
    clippy::unnecessary_cast,
    reason = "rlim_t is u64 on Linux, not everywhere"
)]
pub fn open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        limits().map(|limit| limit.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Raises the soft open-files limit to the hard limit (many systems start services at 1024,
/// which a thousand idle connections exhaust). Returns the limits in force afterwards.
///
/// # Errors
/// When the limits cannot be read or set.
#[allow(
    clippy::unnecessary_cast,
    reason = "rlim_t is u64 on Linux, not everywhere"
)]
pub fn raise_open_files_limit() -> std::io::Result<(u64, u64)> {
    #[cfg(unix)]
    {
        let mut limit = limits().ok_or_else(std::io::Error::last_os_error)?;
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            // SAFETY: setrlimit reads the struct we pass.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            limit = raised;
        }
        Ok((limit.rlim_cur as u64, limit.rlim_max as u64))
    }
    #[cfg(not(unix))]
    {
        Err(std::io::Error::other("no RLIMIT_NOFILE on this platform"))
    }
}
