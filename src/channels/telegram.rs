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

use teloxide::payloads::{AnswerCallbackQuerySetters, GetUpdatesSetters};
use teloxide::prelude::Requester;
use teloxide::types::{BotCommand, ChatId, MessageId, Update, UpdateKind};
use teloxide::{Bot, RequestError};

use crate::conversation::Input;
use crate::guard::{self, Counting, Ending, Guarded};
use crate::service::{Address, ChatId as TelegramChat, Inbound, Service, TurnError};
use crate::templates::Templates;

mod limits;
mod send;

pub use limits::{Limits, RateLimiter};
use send::is_not_modified;
pub use send::{TelegramSender, classify, html, keyboard};

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
        let address = Address::Telegram(TelegramChat(chat_id));
        Translated::Turn(Inbound::new(address, update_id.clone(), input))
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
        Translated::Turn(Inbound {
            address: Address::Telegram(TelegramChat(chat)),
            ..
        }) => Some(chat),
        Translated::Turn(_) => None,
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
    let address = Address::Telegram(TelegramChat(chat_id));
    let Some(found) = service.message_to(&address, id).await? else {
        return Ok(ButtonPress::Stale);
    };
    // Only the buttons of the last message count: questions close their turn, so anything
    // written after a message means its question was answered or asked anew.
    if !found.is_last {
        return Ok(ButtonPress::Stale);
    }
    if index == "-" {
        return Ok(ButtonPress::Unavailable);
    }
    let message = found.message;
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
                    let address = Address::Telegram(TelegramChat(chat_id));
                    let inbound = Inbound::new(address, update_id, Input::Choice(choice));
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
mod tests;
