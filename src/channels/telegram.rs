//! The Telegram channel (teloxide): updates become turns, outbox messages become Bot API calls.
//! It only translates; the procedure lives in the dialogue.
//!
//! - Receiving: long polling (`getUpdates`), deduplicated by `update_id` through the receipts.
//! - Buttons: a choice's `callback_data` is `"{outbox id}:{index}"`: short, and resolved on the
//!   server against the stored message, never a label. A button of a message that is no longer
//!   the last one of its chat is answered as stale and changes nothing. Every callback query is
//!   answered, and the keyboard of the message is removed once pressed.
//! - Sending: HTML parse mode with everything escaped; choices as inline keyboards, the
//!   calendar as a month grid; Bot API errors sorted for the worker (429 → retry after the given
//!   time, 403 → unreachable, "not modified" → done, other 400 → failed, network/5xx → retry).
//!   A rate limiter keeps under Telegram's limits (about 30 messages/s overall and 1/s per chat,
//!   with a short burst so a question can follow its explanation): a message over the limit is
//!   deferred in the outbox, so one busy chat never holds up the others. teloxide's `Throttle`
//!   is not used: it queues inside the request, which would stall the single delivery worker.

use std::future::Future;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use teloxide::payloads::{AnswerCallbackQuerySetters, GetUpdatesSetters, SendMessageSetters};
use teloxide::prelude::Requester;
use teloxide::types::{
    BotCommand, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, MessageId,
    ParseMode, Update, UpdateKind,
};
use teloxide::{ApiError, Bot, RequestError};

use crate::conversation::Input;
use crate::conversation::reply::{CalendarView, DayStatusView};
use crate::delivery::{Delivery, SendError, SendFuture, Sender};
use crate::documents::Documents;
use crate::guard::{self, Counting, Ending, Guarded};
use crate::service::{Channel, Inbound, OutgoingMessage, Service, TurnError};
use crate::store;
use crate::templates::Templates;

/// Builds the bot for `token`, talking to `api_url` when given (a local Bot API server, a fake).
pub fn bot(token: &str, api_url: Option<&str>) -> anyhow::Result<Bot> {
    let bot = Bot::new(token);
    match api_url {
        Some(url) => {
            let url = url
                .parse()
                .map_err(|e| anyhow::anyhow!("TELEGRAM_API_URL is not a URL: {e}"))?;
            Ok(bot.set_api_url(url))
        }
        None => Ok(bot),
    }
}

/// What an update means for Ventanilla.
#[derive(Debug, Clone, PartialEq)]
pub enum Translated {
    /// A turn of the conversation.
    Turn(Inbound),
    /// A button press: resolved against the stored message before it becomes a turn.
    Button {
        update_id: String,
        chat_id: i64,
        query_id: String,
        message_id: Option<i32>,
        data: String,
    },
    /// Something that is not for the dialogue (a channel post, a reaction…).
    Ignore,
}

/// Reads an update.
pub fn translate(update: &Update) -> Translated {
    let update_id = update.id.0.to_string();
    let turn = |chat_id: i64, input: Input| {
        Translated::Turn(Inbound {
            channel: Channel::Telegram,
            address: chat_id.to_string(),
            external_id: update_id.clone(),
            input,
            thread: Vec::new(),
        })
    };
    match &update.kind {
        UpdateKind::Message(message) => {
            let chat_id = message.chat.id.0;
            if !message.chat.is_private() {
                return turn(chat_id, Input::Unsupported("group_chat".into()));
            }
            let input = match message.text() {
                Some(text) => Input::Text(text.to_string()),
                None => Input::Unsupported(content_kind(message).into()),
            };
            turn(chat_id, input)
        }
        UpdateKind::EditedMessage(message) if message.chat.is_private() => {
            turn(message.chat.id.0, Input::Unsupported("edited".into()))
        }
        UpdateKind::CallbackQuery(query) => match (&query.message, &query.data) {
            (Some(message), Some(data)) => Translated::Button {
                update_id,
                chat_id: message.chat().id.0,
                query_id: query.id.to_string(),
                message_id: Some(message.id().0),
                data: data.clone(),
            },
            _ => Translated::Ignore,
        },
        _ => Translated::Ignore,
    }
}

/// The chat an update belongs to, for ordering.
fn chat_of(update: &Update) -> Option<i64> {
    match translate(update) {
        Translated::Turn(inbound) => inbound.address.parse().ok(),
        Translated::Button { chat_id, .. } => Some(chat_id),
        Translated::Ignore => None,
    }
}

/// The kind of a message that is not text, as the dialogue names it.
fn content_kind(message: &teloxide::types::Message) -> &'static str {
    if message.sticker().is_some() {
        "sticker"
    } else if message.photo().is_some() {
        "photo"
    } else if message.document().is_some() {
        "document"
    } else if message.voice().is_some() || message.audio().is_some() {
        "voice"
    } else if message.video().is_some()
        || message.video_note().is_some()
        || message.animation().is_some()
    {
        "video"
    } else if message.location().is_some() || message.venue().is_some() {
        "location"
    } else if message.contact().is_some() {
        "contact"
    } else {
        "other"
    }
}

/// What a button press resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ButtonPress {
    /// A current choice: its id.
    Choice(String),
    /// A button of an older message.
    Stale,
    /// A calendar cell that cannot be booked.
    Unavailable,
}

/// Resolves `"{outbox id}:{index}"` against the stored message of this chat.
pub async fn resolve_button(
    service: &Service,
    chat_id: i64,
    data: &str,
) -> Result<ButtonPress, sqlx::Error> {
    let Some((id, index)) = data.split_once(':') else {
        return Ok(ButtonPress::Stale);
    };
    let Ok(id) = id.parse::<i64>() else {
        return Ok(ButtonPress::Stale);
    };
    let mut reader = service.db.reader().await?;
    let mut conn = reader.conn();
    let Some(row) = store::outbox::get(&mut conn, id).await? else {
        return Ok(ButtonPress::Stale);
    };
    if row.channel != Channel::Telegram.as_str() || row.address != chat_id.to_string() {
        return Ok(ButtonPress::Stale);
    }
    // Only the buttons of the last message count: questions close their turn, so anything
    // written after a message means its question was answered or asked anew.
    if !store::outbox::payloads_after(&mut conn, row.conversation_id, row.id)
        .await?
        .is_empty()
    {
        return Ok(ButtonPress::Stale);
    }
    if index == "-" {
        return Ok(ButtonPress::Unavailable);
    }
    let message: Option<OutgoingMessage> = serde_json::from_str(&row.payload).ok();
    let choice = index
        .parse::<usize>()
        .ok()
        .and_then(|i| message.and_then(|m| m.choices.get(i).map(|c| c.id.clone())));
    Ok(choice
        .map(ButtonPress::Choice)
        .unwrap_or(ButtonPress::Stale))
}

/// Receives updates and turns them into turns.
#[derive(Clone)]
pub struct Receiver {
    pub bot: Bot,
    pub service: Service,
}

impl Receiver {
    /// Handles one update. Errors of the turn are returned so that polling can retry the update.
    pub async fn process(&self, update: &Update) -> anyhow::Result<()> {
        match translate(update) {
            Translated::Turn(inbound) => {
                self.service.handle(&inbound).await?;
            }
            Translated::Button {
                update_id,
                chat_id,
                query_id,
                message_id,
                data,
            } => {
                let press = resolve_button(&self.service, chat_id, &data).await?;
                let notice = match &press {
                    ButtonPress::Choice(_) => None,
                    ButtonPress::Stale => Some("telegram/button_stale.txt"),
                    ButtonPress::Unavailable => Some("telegram/day_unavailable.txt"),
                };
                let mut answer = self.bot.answer_callback_query(query_id.into());
                if let Some(template) = notice {
                    answer = answer.text(
                        self.service
                            .templates
                            .render(template, ())?
                            .trim()
                            .to_string(),
                    );
                }
                if let Err(error) = answer.await {
                    tracing::warn!(error.message = %error, "answerCallbackQuery failed");
                }
                if let ButtonPress::Choice(choice) = press {
                    // The question is answered: its buttons go, so an old press does nothing.
                    if let Some(message_id) = message_id {
                        let removed = self
                            .bot
                            .edit_message_reply_markup(ChatId(chat_id), MessageId(message_id))
                            .await;
                        if let Err(error) = removed
                            && !is_not_modified(&error)
                        {
                            tracing::warn!(error.message = %error, "could not remove a keyboard");
                        }
                    }
                    let inbound = Inbound {
                        channel: Channel::Telegram,
                        address: chat_id.to_string(),
                        external_id: update_id,
                        input: Input::Choice(choice),
                        thread: Vec::new(),
                    };
                    self.service.handle(&inbound).await?;
                }
            }
            Translated::Ignore => {}
        }
        Ok(())
    }

    /// [`Receiver::process`], guarded ([`crate::guard`]): an update whose turn failed or
    /// panicked twice is set aside (the offset moves past it) instead of holding back every
    /// later update. Returns whether the update is done with (processed or set aside); false
    /// means fetch it again.
    pub async fn process_guarded(&self, update: &Update) -> bool {
        let key = update.id.0.to_string();
        let sort = |result: &anyhow::Result<()>| match result {
            Ok(()) => Ending::Done,
            Err(error) if is_temporary(error) => Ending::Temporary,
            Err(_) => Ending::Failed,
        };
        let input = ("telegram", key.as_str());
        match guard::run(
            &self.service,
            input,
            Counting::OnFailure,
            self.process(update),
            sort,
        )
        .await
        {
            Guarded::Done(_) | Guarded::Quarantined(_) => true,
            Guarded::Retry(error) => {
                if let Some(Err(error)) = error {
                    tracing::error!(error.message = %error, "update not processed; will retry");
                }
                false
            }
        }
    }

    /// Processes a batch of updates: the chats in parallel, each chat's updates in order.
    /// Returns the next offset: past the batch when every update was processed, else the
    /// first failed update (fetched again; those processed meanwhile are then duplicates).
    async fn process_batch(&self, updates: Vec<Update>) -> Option<i32> {
        let last = updates.last()?.id.0 as i32;
        let mut by_chat: Vec<(Option<i64>, Vec<Update>)> = Vec::new();
        for update in updates {
            let chat = chat_of(&update);
            match by_chat
                .iter_mut()
                .find(|(c, _)| *c == chat && chat.is_some())
            {
                Some((_, list)) => list.push(update),
                None => by_chat.push((chat, vec![update])),
            }
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (_, list) in by_chat {
            let receiver = self.clone();
            tasks.spawn(async move {
                for update in list {
                    if !receiver.process_guarded(&update).await {
                        return Some(update.id.0 as i32);
                    }
                }
                None
            });
        }
        let mut first_failed: Option<i32> = None;
        while let Some(result) = tasks.join_next().await {
            if let Ok(Some(failed)) = result {
                first_failed = Some(first_failed.map_or(failed, |f| f.min(failed)));
            }
        }
        Some(first_failed.unwrap_or(last + 1))
    }

    /// Long polling until `shutdown`: a batch is processed before the offset moves past it, so
    /// an update whose turn failed (database down) is fetched again.
    pub async fn poll(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut offset: i32 = 0;
        let mut pause = std::time::Duration::from_millis(500);
        loop {
            let request = self.bot.get_updates().offset(offset).timeout(25);
            let updates = tokio::select! {
                _ = &mut shutdown => break,
                result = request => result,
            };
            match updates {
                Ok(updates) => {
                    pause = std::time::Duration::from_millis(500);
                    if let Some(next) = self.process_batch(updates).await {
                        offset = next;
                    }
                }
                Err(error) => {
                    tracing::warn!(error.message = %error, "getUpdates failed; retrying");
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(std::time::Duration::from_secs(30));
                }
            }
        }
        tracing::info!("Telegram polling stopped");
    }
}

/// Publishes the command menu, with the descriptions of the labels catalogue.
pub async fn set_commands(bot: &Bot, templates: &Templates) -> Result<(), RequestError> {
    let commands: Vec<BotCommand> = [
        "start",
        "ayuda",
        "estado",
        "corregir",
        "cancelar",
        "reiniciar",
        "reenviar",
    ]
    .iter()
    .map(|c| BotCommand::new(*c, templates.labels().get(&format!("command.{c}"))))
    .collect();
    bot.set_my_commands(commands).await.map(|_| ())
}

/// Telegram's limits, as token buckets: a burst, then a steady rate.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_chat_burst: u32,
    pub per_chat_per_second: f64,
    pub overall_burst: u32,
    pub overall_per_second: f64,
}

impl Default for Limits {
    /// About 1 message/s per chat (3 at once) and 30/s overall (Telegram's bot FAQ).
    fn default() -> Self {
        Limits {
            per_chat_burst: 3,
            per_chat_per_second: 1.0,
            overall_burst: 30,
            overall_per_second: 30.0,
        }
    }
}

impl Limits {
    /// No limit (benchmarks and tests against a fake server).
    pub fn unlimited() -> Limits {
        Limits {
            per_chat_burst: u32::MAX,
            per_chat_per_second: f64::MAX,
            overall_burst: u32::MAX,
            overall_per_second: f64::MAX,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(burst: u32, now: Instant) -> Bucket {
        Bucket {
            tokens: f64::from(burst),
            at: now,
        }
    }

    fn refill(&mut self, burst: u32, rate: f64, now: Instant) {
        let gained = now.saturating_duration_since(self.at).as_secs_f64() * rate;
        self.tokens = (self.tokens + gained).min(f64::from(burst));
        self.at = self.at.max(now);
    }

    /// How long until one token is there (zero if it is now).
    fn wait(&self, rate: f64) -> Duration {
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / rate)
        }
    }
}

/// Token buckets per chat and overall, in this process.
#[derive(Debug)]
pub struct RateLimiter {
    limits: Limits,
    state: Mutex<(Bucket, HashMap<i64, Bucket>)>,
}

impl RateLimiter {
    pub fn new(limits: Limits) -> RateLimiter {
        let now = Instant::now();
        RateLimiter {
            limits,
            state: Mutex::new((Bucket::full(limits.overall_burst, now), HashMap::new())),
        }
    }

    /// Takes a token for `chat`, or says how long to wait for one.
    pub fn acquire(&self, chat: i64, now: Instant) -> Result<(), Duration> {
        let l = self.limits;
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (overall, chats) = &mut *state;
        overall.refill(l.overall_burst, l.overall_per_second, now);
        let bucket = chats
            .entry(chat)
            .or_insert_with(|| Bucket::full(l.per_chat_burst, now));
        bucket.refill(l.per_chat_burst, l.per_chat_per_second, now);
        let wait = overall
            .wait(l.overall_per_second)
            .max(bucket.wait(l.per_chat_per_second));
        if wait > Duration::ZERO {
            return Err(wait);
        }
        overall.tokens -= 1.0;
        bucket.tokens -= 1.0;
        // Forget chats whose bucket is full again, so the map stays small.
        if chats.len() > 10_000 {
            chats.retain(|_, b| b.tokens < f64::from(l.per_chat_burst));
        }
        Ok(())
    }
}

/// Delivers outbox messages to Telegram.
pub struct TelegramSender {
    bot: Bot,
    templates: Templates,
    limiter: RateLimiter,
    documents: Documents,
}

impl TelegramSender {
    /// `limits`: Telegram's (`Limits::default()`) in production.
    pub fn new(
        bot: Bot,
        templates: Templates,
        limits: Limits,
        documents: Documents,
    ) -> TelegramSender {
        TelegramSender {
            bot,
            templates,
            limiter: RateLimiter::new(limits),
            documents,
        }
    }
}

impl Sender for TelegramSender {
    fn channel(&self) -> &'static str {
        Channel::Telegram.as_str()
    }

    fn send<'a>(&'a self, delivery: &'a Delivery) -> SendFuture<'a> {
        Box::pin(async move {
            let chat_id: i64 = delivery.address.parse().map_err(|_| {
                SendError::Permanent("the address is not a Telegram chat id".into())
            })?;
            self.limiter
                .acquire(chat_id, Instant::now())
                .map_err(SendError::Later)?;
            // Part 0 is the text, then each document (sendDocument) follows it. Each part is
            // recorded as soon as Telegram took it, so a retry, a restart or a takeover resumes
            // after it: the text is not sent twice because a document failed.
            let parts = 1 + delivery.message.attachments.len() as u32;
            let record = |done: u32| async move {
                if done < parts {
                    delivery.progress.record(done).await
                } else {
                    // The last part: the worker marks the row sent right away.
                    Ok(())
                }
            };
            if delivery.parts_sent == 0 {
                let text = html(&delivery.message.text, delivery.message.headed);
                let mut request = self
                    .bot
                    .send_message(ChatId(chat_id), text)
                    .parse_mode(ParseMode::Html);
                if let Some(markup) = keyboard(delivery.id, &delivery.message, &self.templates) {
                    request = request.reply_markup(markup);
                }
                if let Err(error) = request.await {
                    return classify(error);
                }
                record(1).await?;
            }
            for (index, document) in delivery.message.attachments.iter().enumerate() {
                let part = index as u32 + 1;
                if part < delivery.parts_sent {
                    continue;
                }
                let file =
                    self.documents
                        .render(document)
                        .await
                        .map_err(|e| SendError::Transient {
                            reason: format!("cannot render a document: {e:#}"),
                            retry_after: None,
                        })?;
                let upload = InputFile::memory(file.bytes).file_name(file.file_name);
                if let Err(error) = self.bot.send_document(ChatId(chat_id), upload).await {
                    return classify(error);
                }
                record(part + 1).await?;
            }
            Ok(())
        })
    }
}

/// Escapes text for HTML parse mode; a `headed` message's first line (the progress line) is set
/// in bold.
pub fn html(text: &str, headed: bool) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    match escaped.split_once('\n') {
        Some((first, rest)) if headed => format!("<b>{first}</b>\n{rest}"),
        _ => escaped,
    }
}

/// The inline keyboard of a message: a month grid for the calendar, one row per choice else.
pub fn keyboard(
    outbox_id: i64,
    message: &OutgoingMessage,
    templates: &Templates,
) -> Option<InlineKeyboardMarkup> {
    if message.choices.is_empty() {
        return None;
    }
    let button = |label: &str, index: usize| {
        InlineKeyboardButton::callback(label, format!("{outbox_id}:{index}"))
    };
    let rows = match &message.calendar {
        Some(calendar) => calendar_grid(outbox_id, message, calendar, templates),
        None => message
            .choices
            .iter()
            .enumerate()
            .map(|(i, c)| vec![button(&c.label, i)])
            .collect(),
    };
    Some(InlineKeyboardMarkup::new(rows))
}

fn calendar_grid(
    outbox_id: i64,
    message: &OutgoingMessage,
    calendar: &CalendarView,
    templates: &Templates,
) -> Vec<Vec<InlineKeyboardButton>> {
    use chrono::Datelike;
    let inert = |label: String| InlineKeyboardButton::callback(label, format!("{outbox_id}:-"));
    let index_of = |id: &str| message.choices.iter().position(|c| c.id == id);
    let mut rows = vec![
        vec![inert(templates.labels().month_year(calendar.month))],
        templates
            .labels()
            .weekday_initials()
            .iter()
            .map(|d| inert(d.clone()))
            .collect(),
    ];
    let mut week: Vec<InlineKeyboardButton> = Vec::new();
    for _ in 0..calendar.month.weekday().num_days_from_monday() {
        week.push(inert(" ".into()));
    }
    for day in &calendar.days {
        let number = day.date.day();
        let cell = match (day.status, index_of(&day.date.to_string())) {
            (DayStatusView::Available, Some(i)) => {
                InlineKeyboardButton::callback(number.to_string(), format!("{outbox_id}:{i}"))
            }
            (DayStatusView::Full, _) => inert(format!("{number}\u{2716}")),
            _ => inert("\u{00b7}".into()),
        };
        week.push(cell);
        if week.len() == 7 {
            rows.push(std::mem::take(&mut week));
        }
    }
    if !week.is_empty() {
        while week.len() < 7 {
            week.push(inert(" ".into()));
        }
        rows.push(week);
    }
    let navigation: Vec<InlineKeyboardButton> = ["prev", "next"]
        .iter()
        .filter_map(|id| {
            index_of(id).map(|i| {
                InlineKeyboardButton::callback(
                    message.choices[i].label.clone(),
                    format!("{outbox_id}:{i}"),
                )
            })
        })
        .collect();
    if !navigation.is_empty() {
        rows.push(navigation);
    }
    rows
}

fn is_not_modified(error: &RequestError) -> bool {
    match error {
        RequestError::Api(ApiError::MessageNotModified) => true,
        RequestError::Api(ApiError::Unknown(description)) => {
            description.contains("message is not modified")
        }
        _ => false,
    }
}

/// Sorts a Bot API error by what the worker should do.
pub fn classify(error: RequestError) -> Result<(), SendError> {
    if is_not_modified(&error) {
        return Ok(());
    }
    let transient = |reason: String| SendError::Transient {
        reason,
        retry_after: None,
    };
    Err(match error {
        RequestError::RetryAfter(seconds) => SendError::Transient {
            reason: "429 Too Many Requests".into(),
            retry_after: Some(seconds.duration()),
        },
        RequestError::Network(error) => transient(format!("network: {error}")),
        RequestError::Io(error) => transient(format!("io: {error}")),
        RequestError::InvalidJson { raw, .. } => transient(format!(
            "unexpected answer: {}",
            raw.chars().take(80).collect::<String>()
        )),
        RequestError::MigrateToChatId(id) => {
            SendError::Permanent(format!("chat migrated to {}", id.0))
        }
        RequestError::Api(
            api @ (ApiError::BotBlocked
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
            | ApiError::BotKickedFromChannel
            | ApiError::UserDeactivated
            | ApiError::CantInitiateConversation
            | ApiError::CantTalkWithBots
            | ApiError::ChatNotFound),
        ) => SendError::Unreachable(api.to_string()),
        RequestError::Api(ApiError::Unknown(description)) => {
            if description.starts_with("Forbidden") || description.starts_with("Unauthorized") {
                SendError::Unreachable(description)
            } else if description.starts_with("Bad Request") {
                SendError::Permanent(description)
            } else {
                // "Internal Server Error", "Bad Gateway", "Too Many Requests" without parameters…
                transient(description)
            }
        }
        RequestError::Api(api) => SendError::Permanent(api.to_string()),
    })
}

/// An error of the database or of contention, which trying again may cure.
fn is_temporary(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<sqlx::Error>().is_some()
            || cause
                .downcast_ref::<TurnError>()
                .is_some_and(TurnError::is_temporary)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use teloxide::types::Seconds;

    #[test]
    fn bot_api_errors_are_sorted_by_what_to_do() {
        let unknown = |d: &str| RequestError::Api(ApiError::Unknown(d.to_string()));
        assert_eq!(
            classify(RequestError::Api(ApiError::MessageNotModified)),
            Ok(())
        );
        assert_eq!(
            classify(unknown("Bad Request: message is not modified")),
            Ok(())
        );
        assert_eq!(
            classify(RequestError::RetryAfter(Seconds::from_seconds(7))),
            Err(SendError::Transient {
                reason: "429 Too Many Requests".into(),
                retry_after: Some(std::time::Duration::from_secs(7))
            })
        );
        assert!(matches!(
            classify(RequestError::Api(ApiError::BotBlocked)),
            Err(SendError::Unreachable(_))
        ));
        assert!(matches!(
            classify(RequestError::Api(ApiError::UserDeactivated)),
            Err(SendError::Unreachable(_))
        ));
        assert!(matches!(
            classify(unknown("Forbidden: bot was blocked")),
            Err(SendError::Unreachable(_))
        ));
        assert!(matches!(
            classify(unknown("Bad Request: can't parse entities")),
            Err(SendError::Permanent(_))
        ));
        assert!(matches!(
            classify(unknown("Internal Server Error")),
            Err(SendError::Transient { .. })
        ));
        assert!(matches!(
            classify(unknown("Bad Gateway")),
            Err(SendError::Transient { .. })
        ));
    }

    #[test]
    fn the_rate_limiter_allows_a_burst_then_one_per_second_per_chat() {
        let limiter = RateLimiter::new(Limits::default());
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.acquire(1, start), Ok(()));
        }
        let wait = limiter.acquire(1, start).unwrap_err();
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // Another chat is not held up by the first.
        assert_eq!(limiter.acquire(2, start), Ok(()));
        assert_eq!(limiter.acquire(1, start + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn the_overall_limit_binds_across_chats() {
        let limiter = RateLimiter::new(Limits::default());
        let start = Instant::now();
        for chat in 0..30 {
            assert_eq!(limiter.acquire(chat, start), Ok(()), "chat {chat}");
        }
        assert!(limiter.acquire(99, start).is_err());
        assert_eq!(
            limiter.acquire(99, start + Duration::from_millis(40)),
            Ok(())
        );
    }

    #[test]
    fn html_escapes_everything_and_bolds_the_step() {
        assert_eq!(
            html("Paso 2 de 19\nEscribe <tu> CURP & ya", true),
            "<b>Paso 2 de 19</b>\nEscribe &lt;tu&gt; CURP &amp; ya"
        );
        assert_eq!(html("Hola <b>", false), "Hola &lt;b&gt;");
        // Only a message marked as headed has its first line in bold, whatever it says.
        assert_eq!(html("Paso\nuno", false), "Paso\nuno");
    }

    #[test]
    fn choices_become_short_callback_data() {
        let templates = Templates::new();
        let message = OutgoingMessage {
            text: "x".into(),
            choices: vec![
                crate::conversation::reply::Choice::new("licenciatura", "Licenciatura"),
                crate::conversation::reply::Choice::new("maestria", "Maestria"),
            ],
            calendar: None,
            template: "ask_level".into(),
            thread: Vec::new(),
            attachments: Vec::new(),
            headed: false,
        };
        let markup = keyboard(9_223_372_036_854_775_807, &message, &templates).unwrap();
        let data: Vec<String> = markup
            .inline_keyboard
            .iter()
            .flatten()
            .filter_map(|b| match &b.kind {
                teloxide::types::InlineKeyboardButtonKind::CallbackData(d) => Some(d.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(data, ["9223372036854775807:0", "9223372036854775807:1"]);
        assert!(data.iter().all(|d| d.len() <= 64));
    }
}
