//! A fake Telegram Bot API server: the real JSON of the methods Ventanilla uses, on a local
//! port, for the real teloxide `Bot` (via `TELEGRAM_API_URL` / `set_api_url`). Tests queue
//! updates, script failures (429 with `retry_after`, 403 blocked) and read the calls made.
//! With [`FakeBotApi::start_limited`] it enforces Telegram's rate limits as Telegram does: a
//! message over them is refused with 429 and a `retry_after`.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// A scripted answer to the next `sendMessage` (or `sendDocument`) for a chat.
#[derive(Debug, Clone)]
pub enum Failure {
    TooManyRequests { retry_after: u64 },
    Blocked,
    ServerError,
    BadGateway,
}

#[derive(Default)]
struct Inner {
    updates: Vec<Value>,
    next_update_id: i64,
    next_message_id: i64,
    calls: Vec<(String, Value)>,
    failures: HashMap<i64, VecDeque<Failure>>,
    document_failures: HashMap<i64, VecDeque<Failure>>,
    /// While set, `sendMessage` is held unanswered (see [`FakeBotApi::stall_sends`]).
    stall: bool,
    /// `sendMessage` calls held unanswered so far.
    stalled: usize,
    /// The highest `offset` a getUpdates call gave: every update below it is confirmed.
    confirmed: i64,
    /// Updates before this index are all confirmed (getUpdates reads from here on).
    unconfirmed_from: usize,
    /// What each chat received.
    chats: HashMap<i64, ChatLog>,
    /// Messages delivered (sendMessage and sendDocument), to all chats.
    delivered: usize,
    /// Telegram's limits, when enforced, with their buckets.
    limits: Option<Enforced>,
    /// Sends refused with 429 because they went over the enforced limits.
    over_limit: usize,
}

/// What one chat received.
#[derive(Default)]
struct ChatLog {
    /// Messages delivered to it (sendMessage and sendDocument).
    messages: usize,
    /// The names of the documents it received, in order.
    documents: Vec<String>,
    /// Rung at each delivery to it.
    bell: Arc<Notify>,
}

/// Telegram's rate limits as the fake enforces them (its bot FAQ: about one message a second
/// per chat, short bursts allowed, about 30 a second overall).
#[derive(Debug, Clone, Copy)]
pub struct TelegramLimits {
    pub per_chat_burst: f64,
    pub per_chat_per_second: f64,
    pub overall_burst: f64,
    pub overall_per_second: f64,
}

impl Default for TelegramLimits {
    fn default() -> Self {
        TelegramLimits {
            per_chat_burst: 3.0,
            per_chat_per_second: 1.0,
            overall_burst: 30.0,
            overall_per_second: 30.0,
        }
    }
}

struct Enforced {
    limits: TelegramLimits,
    overall: (f64, Instant),
    chats: HashMap<i64, (f64, Instant)>,
}

impl Enforced {
    /// Takes a token of the chat's bucket and of the overall one, or says how many whole
    /// seconds to wait (Telegram's `retry_after`).
    fn take(&mut self, chat: i64, now: Instant) -> Result<(), u64> {
        let l = self.limits;
        let refill = |bucket: &mut (f64, Instant), burst: f64, rate: f64| {
            let gained = now.saturating_duration_since(bucket.1).as_secs_f64() * rate;
            *bucket = ((bucket.0 + gained).min(burst), now.max(bucket.1));
        };
        refill(&mut self.overall, l.overall_burst, l.overall_per_second);
        let chat = self.chats.entry(chat).or_insert((l.per_chat_burst, now));
        refill(chat, l.per_chat_burst, l.per_chat_per_second);
        // Refused below one token, with a tenth of a token of slack for clocks that differ.
        if self.overall.0 < 0.9 || chat.0 < 0.9 {
            let wait = ((1.0 - self.overall.0) / l.overall_per_second)
                .max((1.0 - chat.0) / l.per_chat_per_second);
            return Err(wait.ceil().max(1.0) as u64);
        }
        self.overall.0 -= 1.0;
        chat.0 -= 1.0;
        Ok(())
    }
}

#[derive(Clone, Default)]
pub struct FakeBotApi {
    inner: Arc<Mutex<Inner>>,
    arrived: Arc<Notify>,
    pub url: String,
}

pub const TOKEN: &str = "123456:TEST-token";

impl FakeBotApi {
    /// Starts the server with Telegram's rate limits enforced.
    pub async fn start_limited(limits: TelegramLimits) -> FakeBotApi {
        let fake = FakeBotApi::start().await;
        let now = Instant::now();
        fake.inner.lock().unwrap().limits = Some(Enforced {
            limits,
            overall: (limits.overall_burst, now),
            chats: HashMap::new(),
        });
        fake
    }

    /// Starts the server on a free local port.
    pub async fn start() -> FakeBotApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let fake = FakeBotApi {
            url,
            ..FakeBotApi::default()
        };
        {
            let mut inner = fake.inner.lock().unwrap();
            inner.next_update_id = 1000;
            inner.next_message_id = 1;
        }
        let app = Router::new()
            .route("/{bot}/{method}", post(handle))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        fake
    }

    fn push_update(&self, body: Value) -> i64 {
        let id = {
            let mut inner = self.inner.lock().unwrap();
            let id = inner.next_update_id;
            inner.next_update_id += 1;
            let mut update = body;
            update["update_id"] = json!(id);
            inner.updates.push(update);
            id
        };
        self.arrived.notify_waiters();
        id
    }

    /// Queues the same update again (a redelivery).
    pub fn redeliver(&self, update_id: i64) {
        let mut inner = self.inner.lock().unwrap();
        let update = inner
            .updates
            .iter()
            .find(|u| u["update_id"] == json!(update_id))
            .cloned()
            .unwrap();
        inner.updates.retain(|u| u["update_id"] != json!(update_id));
        inner.updates.push(update);
        drop(inner);
        self.arrived.notify_waiters();
    }

    /// The highest offset the bot confirmed with getUpdates (updates below it are done).
    pub fn confirmed(&self) -> i64 {
        self.inner.lock().unwrap().confirmed
    }

    /// The applicant types `text` in a private chat.
    pub fn text(&self, chat: i64, text: &str) -> i64 {
        self.push_update(json!({ "message": message(chat, 0, json!({ "text": text })) }))
    }

    /// The applicant sends something else (`{"photo": …}`, `{"sticker": …}`).
    pub fn content(&self, chat: i64, content: Value) -> i64 {
        self.push_update(json!({ "message": message(chat, 0, content) }))
    }

    /// Someone writes in a group.
    pub fn group_text(&self, group: i64, text: &str) -> i64 {
        let mut body = message(group, 0, json!({ "text": text }));
        body["chat"] = json!({ "id": group, "type": "group", "title": "Oficina" });
        body["from"] = json!({ "id": 4242, "is_bot": false, "first_name": "Luz" });
        self.push_update(json!({ "message": body }))
    }

    /// The applicant presses a button of message `message_id`.
    pub fn press(&self, chat: i64, message_id: i64, data: &str) -> i64 {
        let query = json!({
            "id": format!("cq{}", self.inner.lock().unwrap().next_update_id),
            "from": { "id": chat, "is_bot": false, "first_name": "Luz" },
            "chat_instance": "instance",
            "data": data,
            "message": message(chat, message_id, json!({ "text": "…", "from": bot_user() })),
        });
        self.push_update(json!({ "callback_query": query }))
    }

    pub fn fail_next_sends(&self, chat: i64, failures: Vec<Failure>) {
        self.inner
            .lock()
            .unwrap()
            .failures
            .entry(chat)
            .or_default()
            .extend(failures);
    }

    /// The next `sendDocument` calls to `chat` fail like this.
    pub fn fail_next_documents(&self, chat: i64, failures: Vec<Failure>) {
        self.inner
            .lock()
            .unwrap()
            .document_failures
            .entry(chat)
            .or_default()
            .extend(failures);
    }

    /// While `stall` is set, `sendMessage` calls get no answer (a Bot API that hangs, or a
    /// process killed mid-send); when it is cleared, the held calls are answered 502 and
    /// nothing they carried was delivered.
    pub fn stall_sends(&self, stall: bool) {
        self.inner.lock().unwrap().stall = stall;
    }

    /// How many `sendMessage` calls were held by a stall.
    pub fn stalled(&self) -> usize {
        self.inner.lock().unwrap().stalled
    }

    /// Every call of `method`, in order.
    pub fn calls(&self, method: &str) -> Vec<Value> {
        let inner = self.inner.lock().unwrap();
        inner
            .calls
            .iter()
            .filter(|(m, _)| m.eq_ignore_ascii_case(method))
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// Messages delivered to `chat` (successful `sendMessage` calls), in order.
    pub fn sent_to(&self, chat: i64) -> Vec<Value> {
        self.calls("sendMessage")
            .into_iter()
            .filter(|b| b["chat_id"] == json!(chat) && b["_delivered"] == json!(true))
            .collect()
    }

    /// How many messages were delivered (sendMessage and sendDocument), to all chats.
    pub fn delivered(&self) -> usize {
        self.inner.lock().unwrap().delivered
    }

    /// How many messages `chat` received (sendMessage and sendDocument).
    pub fn messages_to(&self, chat: i64) -> usize {
        self.inner
            .lock()
            .unwrap()
            .chats
            .get(&chat)
            .map_or(0, |log| log.messages)
    }

    /// The names of the documents `chat` received, in order.
    pub fn documents_to(&self, chat: i64) -> Vec<String> {
        self.inner
            .lock()
            .unwrap()
            .chats
            .get(&chat)
            .map_or_else(Vec::new, |log| log.documents.clone())
    }

    /// Sends refused with 429 for going over the enforced limits.
    pub fn over_limit(&self) -> usize {
        self.inner.lock().unwrap().over_limit
    }

    /// Waits, without polling, until `chat` has received `count` messages.
    pub async fn wait_messages(&self, chat: i64, count: usize) {
        loop {
            let bell = {
                let mut inner = self.inner.lock().unwrap();
                let log = inner.chats.entry(chat).or_default();
                if log.messages >= count {
                    return;
                }
                log.bell.clone()
            };
            let rung = bell.notified();
            tokio::pin!(rung);
            rung.as_mut().enable();
            if self.messages_to(chat) >= count {
                return;
            }
            rung.await;
        }
    }

    /// Waits until `chat` has received at least `count` messages.
    pub async fn wait_for(&self, chat: i64, count: usize) -> Vec<Value> {
        for _ in 0..400 {
            let sent = self.sent_to(chat);
            if sent.len() >= count {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "chat {chat} got {} messages, expected {count}: {:#?}",
            self.sent_to(chat).len(),
            self.sent_to(chat)
        );
    }
}

impl Inner {
    /// A 429 for a send to `chat` over the enforced limits (none when they are not).
    fn over_limit(&mut self, chat: i64) -> Option<Failure> {
        let retry_after = self.limits.as_mut()?.take(chat, Instant::now()).err()?;
        self.over_limit += 1;
        Some(Failure::TooManyRequests { retry_after })
    }

    /// Records a delivery to `chat` (with the document's name) and rings its bell.
    fn received(&mut self, chat: i64, document: Option<String>) {
        self.delivered += 1;
        let log = self.chats.entry(chat).or_default();
        log.messages += 1;
        log.documents.extend(document);
        log.bell.notify_waiters();
    }
}

fn bot_user() -> Value {
    json!({ "id": 123456, "is_bot": true, "first_name": "Ventanilla", "username": "ventanilla_bot" })
}

fn message(chat: i64, message_id: i64, content: Value) -> Value {
    let mut body = json!({
        "message_id": message_id,
        "date": 1_764_518_400,
        "chat": { "id": chat, "type": "private", "first_name": "Luz" },
        "from": { "id": chat, "is_bot": false, "first_name": "Luz" },
    });
    if let (Some(body), Some(content)) = (body.as_object_mut(), content.as_object()) {
        for (k, v) in content {
            body.insert(k.clone(), v.clone());
        }
    }
    body
}

/// The Bot API's answer to a failed call.
fn failure_response(failure: Failure) -> (StatusCode, Json<Value>) {
    let (status, description) = match failure {
        Failure::TooManyRequests { retry_after } => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({ "ok": false, "error_code": 429,
                    "description": format!("Too Many Requests: retry after {retry_after}"),
                    "parameters": { "retry_after": retry_after } })),
            );
        }
        Failure::Blocked => (
            StatusCode::FORBIDDEN,
            "Forbidden: bot was blocked by the user",
        ),
        Failure::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        Failure::BadGateway => (StatusCode::BAD_GATEWAY, "Bad Gateway"),
    };
    (
        status,
        Json(json!({ "ok": false, "error_code": status.as_u16(), "description": description })),
    )
}

fn ok(result: Value) -> (StatusCode, Json<Value>) {
    (
        StatusCode::OK,
        Json(json!({ "ok": true, "result": result })),
    )
}

/// The fields of a `multipart/form-data` body (how teloxide uploads files): text fields as
/// strings (numbers as numbers), files as `{filename, size, pdf}`.
fn multipart_fields(content_type: &str, body: &[u8]) -> Value {
    let Some(boundary) = content_type.split("boundary=").nth(1) else {
        return json!({});
    };
    let delimiter = format!("--{}", boundary.trim_matches('"'));
    let text = body.to_vec();
    let mut fields = serde_json::Map::new();
    let mut rest: &[u8] = &text;
    while let Some(at) = find(rest, delimiter.as_bytes()) {
        rest = &rest[at + delimiter.len()..];
        let Some(end) = find(rest, delimiter.as_bytes()) else {
            break;
        };
        let part = &rest[..end];
        let Some(split) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]).to_string();
        let mut content = &part[split + 4..];
        if content.ends_with(b"\r\n") {
            content = &content[..content.len() - 2];
        }
        let attribute = |name: &str| {
            head.split(&format!("{name}=\""))
                .nth(1)
                .and_then(|v| v.split('"').next())
                .map(str::to_string)
        };
        let Some(name) = attribute("name") else {
            continue;
        };
        let value = match attribute("filename") {
            Some(filename) => json!({
                "filename": filename, "size": content.len(), "pdf": content.starts_with(b"%PDF"),
            }),
            None => {
                let text = String::from_utf8_lossy(content).to_string();
                text.parse::<i64>()
                    .map(Value::from)
                    .unwrap_or(Value::String(text))
            }
        };
        fields.insert(name, value);
    }
    // Files are named by `attach://PART` in their field, as the Bot API allows.
    let resolved: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(name, value)| {
            let target = value.as_str().and_then(|v| v.strip_prefix("attach://"));
            let value = target
                .and_then(|part| fields.get(part).cloned())
                .unwrap_or_else(|| value.clone());
            (name.clone(), value)
        })
        .collect();
    Value::Object(resolved)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn handle(
    State(fake): State<FakeBotApi>,
    Path((bot, method)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    raw: axum::body::Bytes,
) -> impl IntoResponse {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = if content_type.starts_with("multipart/form-data") {
        Some(Json(multipart_fields(&content_type, &raw)))
    } else {
        serde_json::from_slice::<Value>(&raw).ok().map(Json)
    };
    if bot != format!("bot{TOKEN}") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "ok": false, "error_code": 401, "description": "Unauthorized" })),
        );
    }
    let body = body.map(|Json(b)| b).unwrap_or(json!({}));
    // teloxide writes methods in PascalCase (`SendMessage`); the Bot API ignores case.
    let method = method.to_ascii_lowercase();
    match method.as_str() {
        "getupdates" => {
            let offset = body["offset"].as_i64().unwrap_or(0);
            {
                let mut inner = fake.inner.lock().unwrap();
                inner.confirmed = inner.confirmed.max(offset);
                // Updates are kept (a test may redeliver one) but not read again.
                let confirmed = inner.confirmed;
                let mut from = inner.unconfirmed_from;
                while inner
                    .updates
                    .get(from)
                    .is_some_and(|u| u["update_id"].as_i64().unwrap() < confirmed)
                {
                    from += 1;
                }
                inner.unconfirmed_from = from;
            }
            // Telegram returns at most `limit` updates per call (1-100, default 100).
            let limit = body["limit"].as_u64().unwrap_or(100).clamp(1, 100) as usize;
            let timeout = body["timeout"].as_u64().unwrap_or(0).min(1);
            let pending = |fake: &FakeBotApi| -> Vec<Value> {
                let inner = fake.inner.lock().unwrap();
                inner.updates[inner.unconfirmed_from.min(inner.updates.len())..]
                    .iter()
                    .filter(|u| u["update_id"].as_i64().unwrap() >= offset)
                    .take(limit)
                    .cloned()
                    .collect()
            };
            let mut updates = pending(&fake);
            if updates.is_empty() && timeout > 0 {
                let _ = tokio::time::timeout(Duration::from_secs(timeout), fake.arrived.notified())
                    .await;
                updates = pending(&fake);
            }
            ok(Value::Array(updates))
        }
        "sendmessage" if fake.inner.lock().unwrap().stall => {
            {
                let mut inner = fake.inner.lock().unwrap();
                inner.stalled += 1;
                let mut recorded = body.clone();
                recorded["_stalled"] = json!(true);
                inner.calls.push((method, recorded));
            }
            while fake.inner.lock().unwrap().stall {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            failure_response(Failure::BadGateway)
        }
        "sendmessage" => {
            let chat = body["chat_id"].as_i64().unwrap_or_default();
            let failure = {
                let mut inner = fake.inner.lock().unwrap();
                match inner.failures.get_mut(&chat).and_then(|f| f.pop_front()) {
                    Some(failure) => Some(failure),
                    None => inner.over_limit(chat),
                }
            };
            let mut recorded = body.clone();
            let response = match failure {
                Some(failure) => failure_response(failure),
                None => {
                    recorded["_delivered"] = json!(true);
                    let id = {
                        let mut inner = fake.inner.lock().unwrap();
                        inner.received(chat, None);
                        inner.next_message_id += 1;
                        inner.next_message_id
                    };
                    recorded["_message_id"] = json!(id);
                    let mut sent = message(chat, id, json!({ "text": body["text"] }));
                    sent["from"] = bot_user();
                    if !body["reply_markup"].is_null() {
                        sent["reply_markup"] = body["reply_markup"].clone();
                    }
                    ok(sent)
                }
            };
            fake.inner.lock().unwrap().calls.push((method, recorded));
            response
        }
        "senddocument" => {
            let chat = body["chat_id"].as_i64().unwrap_or_default();
            let failure = {
                let mut inner = fake.inner.lock().unwrap();
                match inner
                    .document_failures
                    .get_mut(&chat)
                    .and_then(|f| f.pop_front())
                {
                    Some(failure) => Some(failure),
                    None => inner.over_limit(chat),
                }
            };
            if let Some(failure) = failure {
                let mut recorded = body.clone();
                recorded["_failed"] = json!(true);
                fake.inner.lock().unwrap().calls.push((method, recorded));
                return failure_response(failure);
            }
            let file = body["document"].clone();
            let id = {
                let mut inner = fake.inner.lock().unwrap();
                let name = file["filename"].as_str().unwrap_or_default().to_string();
                inner.received(chat, Some(name));
                inner.next_message_id += 1;
                inner.next_message_id
            };
            fake.inner.lock().unwrap().calls.push((method, body));
            let mut sent = message(
                chat,
                id,
                json!({ "document": {
                    "file_id": format!("file-{id}"), "file_unique_id": format!("u{id}"),
                    "file_name": file["filename"], "file_size": file["size"],
                } }),
            );
            sent["from"] = bot_user();
            ok(sent)
        }
        "editmessagereplymarkup" | "editmessagetext" => {
            let chat = body["chat_id"].as_i64().unwrap_or_default();
            let id = body["message_id"].as_i64().unwrap_or_default();
            fake.inner.lock().unwrap().calls.push((method, body));
            let mut edited = message(chat, id, json!({ "text": "…" }));
            edited["from"] = bot_user();
            ok(edited)
        }
        "getme" => ok(
            json!({ "id": 123456, "is_bot": true, "first_name": "Ventanilla", "username": "ventanilla_bot",
                              "can_join_groups": false, "can_read_all_group_messages": false,
                              "supports_inline_queries": false, "can_connect_to_business": false,
                              "has_main_web_app": false }),
        ),
        _ => {
            // answerCallbackQuery, setMyCommands, deleteWebhook, setWebhook: true.
            fake.inner.lock().unwrap().calls.push((method, body));
            ok(json!(true))
        }
    }
}
