//! What keeps the HTTP server answering when it is on the open internet: a per-address rate
//! limit (a token bucket, bounded memory), a cap on requests in progress, a request timeout,
//! a body limit, and the security headers every response carries.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::HttpRules;
use crate::templates::Templates;

/// What every response carries: no sniffing, no framing, no referrer, and a policy that lets
/// our pages load nothing but their own inline styles and images.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The guards' shared state.
#[derive(Clone)]
pub struct Guards {
    pub templates: Templates,
    pub rules: Arc<HttpRules>,
    pub in_progress: Arc<tokio::sync::Semaphore>,
    pub limiter: Arc<RateLimiter>,
}

impl Guards {
    pub fn new(templates: Templates, rules: &HttpRules) -> Guards {
        Guards {
            templates,
            rules: Arc::new(rules.clone()),
            in_progress: Arc::new(tokio::sync::Semaphore::new(
                rules
                    .max_concurrent_requests
                    .min(tokio::sync::Semaphore::MAX_PERMITS),
            )),
            limiter: Arc::new(RateLimiter::new(
                rules.rate_limit_burst,
                rules.rate_limit_per_minute,
                rules.rate_limit_clients,
            )),
        }
    }

    /// A page from `templates/http/` with `status` (a bare status when it cannot render).
    fn page(&self, status: StatusCode, name: &str, retry_after: Option<u64>) -> Response {
        let mut response = super::html_page(&self.templates, status, name, serde_json::json!({}));
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A request must be answered within the configured time; 503 otherwise.
pub async fn request_timeout(
    State(guards): State<Guards>,
    request: Request,
    next: Next,
) -> Response {
    let limit = Duration::from_millis(guards.rules.request_timeout_millis);
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!("HTTP: a request timed out");
            guards.page(StatusCode::SERVICE_UNAVAILABLE, "http/busy.html", Some(1))
        }
    }
}

/// At most `max_concurrent_requests` at once; the next one is told to come back at once
/// (waiting in a queue would only hold its connection open).
pub async fn limit_concurrency(
    State(guards): State<Guards>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(_permit) = guards.in_progress.clone().try_acquire_owned() else {
        return guards.page(StatusCode::SERVICE_UNAVAILABLE, "http/busy.html", Some(1));
    };
    next.run(request).await
}

/// Refuses a declared body above the limit before any handler runs (the extractors enforce the
/// same limit on bodies that do not declare their length: `DefaultBodyLimit`).
pub async fn limit_body(State(guards): State<Guards>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let max = u64::try_from(guards.rules.max_body_bytes).unwrap_or(u64::MAX);
    if declared.is_some_and(|length| length > max) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    next.run(request).await
}

/// Per client address: a burst, then a steady rate; beyond it, 429 with a page and
/// `Retry-After`.
pub async fn rate_limit(State(guards): State<Guards>, request: Request, next: Next) -> Response {
    let client = client_address(&request, guards.rules.trust_forwarded_for);
    match guards.limiter.check(client, Instant::now()) {
        Decision::Allowed => next.run(request).await,
        Decision::Limited { retry_after } => guards.page(
            StatusCode::TOO_MANY_REQUESTS,
            "http/too_many_requests.html",
            Some(retry_after.as_secs().max(1)),
        ),
    }
}

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The client's address: the connection's peer, or, when a trusted proxy is configured, the
/// last address it appended to `X-Forwarded-For`.
fn client_address(request: &Request, trust_forwarded_for: bool) -> IpAddr {
    client_address_of(request.headers(), request.extensions(), trust_forwarded_for)
}

/// [`client_address`] from a request's parts.
pub(crate) fn client_address_of(
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
    trust_forwarded_for: bool,
) -> IpAddr {
    if trust_forwarded_for {
        let forwarded = headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
            .next_back();
        if let Some(address) = forwarded {
            return address;
        }
    }
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
        // Only when the router runs outside our server (tests): one shared bucket.
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

/// The outcome of asking the rate limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Limited { retry_after: Duration },
}

/// Token buckets by client address, in memory (a limit per instance: each instance behind a
/// load balancer counts on its own, which is enough to make counting through the numbers
/// slow). The map holds at most `max_clients` addresses: when it is full, the buckets that
/// have filled up again (they know nothing) go first, then the oldest half.
pub struct RateLimiter {
    burst: f64,
    per_second: f64,
    max_clients: usize,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    pub fn new(burst: u32, per_minute: u32, max_clients: usize) -> RateLimiter {
        RateLimiter {
            burst: f64::from(burst.max(1)),
            per_second: f64::from(per_minute.max(1)) / 60.0,
            max_clients: max_clients.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `client`'s bucket at `now` (monotonic; passed in so tests move
    /// time without sleeping).
    pub fn check(&self, client: IpAddr, now: Instant) -> Decision {
        let key = bucket_key(client);
        // A poisoned lock only means another request panicked mid-update: the map is still
        // a valid map.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !buckets.contains_key(&key) && buckets.len() >= self.max_clients {
            self.evict(&mut buckets, now);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        bucket.tokens = self.refilled(bucket, now);
        bucket.updated = bucket.updated.max(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Decision::Allowed
        } else {
            let missing = 1.0 - bucket.tokens;
            Decision::Limited {
                retry_after: Duration::from_secs_f64(missing / self.per_second),
            }
        }
    }

    /// Addresses remembered now.
    pub fn clients(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }

    fn refilled(&self, bucket: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        (bucket.tokens + elapsed * self.per_second).min(self.burst)
    }

    /// Frees room: full buckets first; if that is not enough, the least recently seen half.
    /// Linear in the map's size, and then the map has room for many more before the next
    /// eviction.
    fn evict(&self, buckets: &mut HashMap<IpAddr, Bucket>, now: Instant) {
        buckets.retain(|_, bucket| self.refilled(bucket, now) < self.burst);
        if buckets.len() < self.max_clients {
            return;
        }
        let mut seen: Vec<(Instant, IpAddr)> =
            buckets.iter().map(|(key, b)| (b.updated, *key)).collect();
        let half = seen.len() / 2;
        if half < seen.len() {
            seen.select_nth_unstable(half);
        }
        for (_, key) in seen.iter().take(half + 1) {
            buckets.remove(key);
        }
    }
}

/// IPv6 clients get a whole /64 each (one subscriber's share), so hopping through its
/// addresses does not give a fresh bucket each time; IPv4-mapped addresses count as IPv4.
fn bucket_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_burst_then_the_steady_rate() {
        let limiter = RateLimiter::new(3, 60, 100);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(ip("192.0.2.1"), start), Decision::Allowed);
        }
        let Decision::Limited { retry_after } = limiter.check(ip("192.0.2.1"), start) else {
            panic!("the fourth request in the same instant is limited");
        };
        assert_eq!(retry_after, Duration::from_secs(1));
        // Another address has its own bucket.
        assert_eq!(limiter.check(ip("192.0.2.2"), start), Decision::Allowed);
        // One token a second comes back.
        let later = start + Duration::from_secs(1);
        assert_eq!(limiter.check(ip("192.0.2.1"), later), Decision::Allowed);
        assert!(matches!(
            limiter.check(ip("192.0.2.1"), later),
            Decision::Limited { .. }
        ));
        // Never more than the burst, however long the pause.
        let much_later = start + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(
                limiter.check(ip("192.0.2.1"), much_later),
                Decision::Allowed
            );
        }
        assert!(matches!(
            limiter.check(ip("192.0.2.1"), much_later),
            Decision::Limited { .. }
        ));
    }

    #[test]
    fn forwarded_for_is_believed_only_when_configured() {
        let request = || {
            let mut request = axum::http::Request::builder()
                .header("X-Forwarded-For", "203.0.113.9, 198.51.100.4")
                .body(axum::body::Body::empty())
                .unwrap();
            let peer: SocketAddr = "192.0.2.50:4000".parse().unwrap();
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        };
        assert_eq!(client_address(&request(), false), ip("192.0.2.50"));
        // The proxy appends the address it saw: the last entry, not the client's claim.
        assert_eq!(client_address(&request(), true), ip("198.51.100.4"));
    }

    #[test]
    fn an_ipv6_slash_64_is_one_client() {
        let limiter = RateLimiter::new(1, 1, 100);
        let start = Instant::now();
        assert_eq!(
            limiter.check(ip("2001:db8:1:2::1"), start),
            Decision::Allowed
        );
        assert!(matches!(
            limiter.check(ip("2001:db8:1:2:ffff::9"), start),
            Decision::Limited { .. }
        ));
        assert_eq!(
            limiter.check(ip("2001:db8:1:3::1"), start),
            Decision::Allowed
        );
        assert_eq!(
            limiter.check(ip("::ffff:192.0.2.7"), start),
            Decision::Allowed
        );
        assert!(matches!(
            limiter.check(ip("192.0.2.7"), start),
            Decision::Limited { .. }
        ));
    }

    #[test]
    fn memory_is_bounded_and_the_busiest_recent_clients_are_kept() {
        let limiter = RateLimiter::new(2, 1, 100);
        let start = Instant::now();
        // A recent heavy user, then a flood of distinct addresses.
        let heavy = ip("198.51.100.1");
        for n in 0..10_000u32 {
            let at = start + Duration::from_millis(u64::from(n));
            let address = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n));
            let _ = limiter.check(address, at);
            if n == 9_990 {
                let _ = limiter.check(heavy, at);
                let _ = limiter.check(heavy, at);
            }
            assert!(limiter.clients() <= 100);
        }
        let end = start + Duration::from_millis(10_000);
        assert!(
            matches!(limiter.check(heavy, end), Decision::Limited { .. }),
            "a client seen recently keeps its empty bucket"
        );
    }
}
