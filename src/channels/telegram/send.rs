//! Outbox messages as Bot API calls: HTML with everything escaped, choices as inline keyboards,
//! the calendar as a month grid, and Bot API errors sorted for the delivery worker.

use std::time::Instant;

use teloxide::payloads::SendMessageSetters;
use teloxide::prelude::Requester;
use teloxide::types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, ParseMode};
use teloxide::{ApiError, Bot, RequestError};

use super::limits::{Limits, RateLimiter};
use crate::conversation::reply::{CalendarView, DayStatusView};
use crate::delivery::{Delivery, SendError, SendFuture, Sender};
use crate::documents::Documents;
use crate::service::{Channel, OutgoingMessage};
use crate::templates::Templates;

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
            // Part 0 is the text, then each document (sendDocument) follows it. Each part is
            // recorded as soon as Telegram took it, so a retry, a restart or a takeover resumes
            // after it: the text is not sent twice because a document failed.
            let parts = 1 + delivery.message.attachments.len() as u32;
            // Each part, the text and every document, is a message to Telegram's limits: over
            // them, the rest waits in the outbox (the parts sent are recorded), not a 429.
            let token = || {
                self.limiter
                    .acquire(chat_id, delivery.priority, Instant::now())
                    .map_err(SendError::Later)
            };
            let record = |done: u32| async move {
                if done < parts {
                    delivery.progress.record(done).await
                } else {
                    // The last part: the worker marks the row sent right away.
                    Ok(())
                }
            };
            if delivery.parts_sent == 0 {
                token()?;
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
                token()?;
                let file = self
                    .documents
                    .render(document)
                    .await
                    .map_err(SendError::cannot_render)?;
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
    // Any other choice (the waitlist) gets a row of its own under the grid.
    let days: Vec<String> = calendar.days.iter().map(|d| d.date.to_string()).collect();
    for (i, choice) in message.choices.iter().enumerate() {
        if !days.contains(&choice.id) && choice.id != "prev" && choice.id != "next" {
            rows.push(vec![InlineKeyboardButton::callback(
                choice.label.clone(),
                format!("{outbox_id}:{i}"),
            )]);
        }
    }
    rows
}

pub(super) fn is_not_modified(error: &RequestError) -> bool {
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
