//! The Telegram channel end to end: the real teloxide `Bot` against a fake Bot API server that
//! speaks Telegram's JSON, the long-polling receiver, the turn service and the outbox worker
//! with the Telegram sender.

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use support::telegram::{Failure, FakeBotApi, TOKEN, TelegramLimits};
use support::{Backend, TestApp, spawn_app_running_from, spawn_app_with};
use ventanilla::channels::telegram::{Limits, Receiver, TelegramSender, bot};
use ventanilla::conversation::state::State;
use ventanilla::delivery::{RetryPolicy, Sender, Worker};
use ventanilla::store;

struct Harness {
    app: TestApp,
    fake: FakeBotApi,
    stop: tokio::sync::watch::Sender<bool>,
    receiver: Option<tokio::task::JoinHandle<()>>,
}

fn loose_limits() -> Limits {
    Limits::unlimited()
}

async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

impl Harness {
    async fn start() -> Harness {
        // The system clock: the worker waits real seconds for `retry_after`.
        Harness::start_with(None, loose_limits()).await
    }

    /// With `now`, the service's clock starts there and runs on, as `VENTANILLA_NOW` sets it.
    async fn start_with(now: Option<&str>, limits: Limits) -> Harness {
        Harness::start_on(FakeBotApi::start().await, now, limits).await
    }

    /// Against `fake` (one that enforces Telegram's limits, say).
    async fn start_on(fake: FakeBotApi, now: Option<&str>, limits: Limits) -> Harness {
        let app = match now {
            Some(now) => spawn_app_running_from(Backend::Sqlite, now).await,
            None => spawn_app_with(Backend::Sqlite, None, None).await,
        };
        let bot = bot(TOKEN, Some(&fake.url)).unwrap();
        let documents = ventanilla::documents::Documents::new(
            app.service.db.clone(),
            app.service.templates.clone(),
            &app.service.settings,
        );
        let sender = TelegramSender::new(
            bot.clone(),
            app.service.templates.clone(),
            limits,
            documents,
        );
        let senders: Vec<Arc<dyn Sender>> = vec![Arc::new(sender)];
        let worker = Worker::new(
            app.service.db.clone(),
            senders,
            app.service.clock,
            RetryPolicy::default(),
        )
        .idle(Duration::from_millis(20));
        let (stop, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(worker.run_many(4, rx.clone()));
        let mut harness = Harness {
            app,
            fake,
            stop,
            receiver: None,
        };
        harness.start_receiver();
        harness
    }

    /// (Re)starts the long-polling receiver, as a restarted service would.
    fn start_receiver(&mut self) {
        let bot = bot(TOKEN, Some(&self.fake.url)).unwrap();
        let receiver = Receiver {
            bot,
            service: self.app.service.clone(),
        };
        let (tx, rx) = tokio::sync::watch::channel(false);
        let handle = tokio::spawn(async move {
            let _keep = tx;
            receiver.poll(stopped(rx)).await
        });
        if let Some(old) = self.receiver.replace(handle) {
            old.abort();
        }
    }

    /// Waits for the replies to an update: at least one new message, then a quiet moment.
    async fn replies(&self, chat: i64, before: usize) -> Vec<Value> {
        self.fake.wait_for(chat, before + 1).await;
        let mut count = self.fake.sent_to(chat).len();
        loop {
            tokio::time::sleep(Duration::from_millis(400)).await;
            let now = self.fake.sent_to(chat).len();
            if now == count {
                break;
            }
            count = now;
        }
        self.fake.sent_to(chat).split_off(before)
    }

    async fn say(&self, chat: i64, text: &str) -> Vec<Value> {
        let before = self.fake.sent_to(chat).len();
        self.fake.text(chat, text);
        self.replies(chat, before).await
    }

    /// Presses the button of the last message whose text matches `label` (exact) or, for
    /// `label = None`, the first live button of the keyboard.
    async fn press(&self, chat: i64, label: Option<&str>) -> Vec<Value> {
        let sent = self.fake.sent_to(chat);
        let last = sent
            .iter()
            .rev()
            .find(|m| !m["reply_markup"].is_null())
            .expect("a message with buttons");
        let message_id = last["_message_id"].as_i64().unwrap();
        let buttons: Vec<&Value> = last["reply_markup"]["inline_keyboard"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| row.as_array().unwrap().iter())
            .collect();
        let button = match label {
            Some(label) => buttons
                .iter()
                .find(|b| b["text"] == label)
                .unwrap_or_else(|| panic!("no button {label}: {buttons:?}")),
            None => buttons
                .iter()
                .find(|b| !b["callback_data"].as_str().unwrap().ends_with(":-"))
                .expect("a live button"),
        };
        let data = button["callback_data"].as_str().unwrap().to_string();
        assert!(data.len() <= 64, "callback_data within Telegram's 64 bytes");
        let before = sent.len();
        self.fake.press(chat, message_id, &data);
        self.replies(chat, before).await
    }

    /// Waits until every message written for `chat` was delivered, and more than `before`
    /// were written; returns how many. The bound only keeps a stalled test from hanging.
    async fn all_delivered(&self, chat: i64, before: usize) -> usize {
        for _ in 0..600 {
            let rows = self.outbox(chat).await;
            let delivered = self.fake.sent_to(chat).len();
            if rows.len() > before && rows.iter().all(|s| s == "sent") && delivered >= rows.len() {
                return rows.len();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "chat {chat}: {:?} written, {} delivered",
            self.outbox(chat).await,
            self.fake.sent_to(chat).len()
        );
    }

    /// The statuses of the outbox rows of `chat`, oldest first.
    async fn outbox(&self, chat: i64) -> Vec<String> {
        let mut reader = self.app.service.db.reader().await.unwrap();
        let mut conn = reader.conn();
        let Some(row) = store::conversations::find(&mut conn, "telegram", &chat.to_string())
            .await
            .unwrap()
        else {
            return Vec::new();
        };
        store::outbox::for_conversation(&mut conn, row.id)
            .await
            .unwrap()
            .into_iter()
            .map(|row| row.status.as_str().to_string())
            .collect()
    }

    async fn state(&self, chat: i64) -> State {
        let mut reader = self.app.service.db.reader().await.unwrap();
        let row = store::conversations::find(&mut reader.conn(), "telegram", &chat.to_string())
            .await
            .unwrap()
            .expect("conversation");
        State::from_json(&row.state).unwrap()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(receiver) = self.receiver.take() {
            receiver.abort();
        }
    }
}

fn text(message: &Value) -> &str {
    message["text"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_journey_by_typing_and_pressing_buttons() {
    let h = Harness::start().await;
    let chat = 4242;

    let welcome = h.say(chat, "/start").await;
    assert!(text(&welcome[0]).contains("Ventanilla"));
    assert_eq!(welcome[1]["parse_mode"], "HTML");
    assert!(
        text(&welcome[1]).starts_with("<b>Paso 1 de 19</b>"),
        "{}",
        text(&welcome[1])
    );

    h.press(chat, Some("Sí, acepto")).await;
    let confirm = h.say(chat, "pegl 890909 mjcrms08").await;
    assert!(text(&confirm[0]).contains("PEGL890909MJCRMS08"));
    h.press(chat, Some("Sí, son correctos")).await;
    h.say(chat, "Luz María").await;
    let refused = h.say(chat, "Pérez <b>").await;
    assert!(
        text(&refused[0]).contains("no lleva el símbolo"),
        "{}",
        text(&refused[0])
    );
    h.say(chat, "Pérez").await;
    h.say(chat, "Gómez").await;
    let sheets = h.press(chat, Some("Licenciatura")).await;
    assert!(text(&sheets[0]).contains("$1,773"), "{}", text(&sheets[0]));
    h.say(chat, "ab12cd34ef").await;
    h.say(chat, "Universidad de Guadalajara & Asociados").await;
    h.say(chat, "Licenciatura en Derecho").await;
    h.say(chat, "Jalisco").await;
    h.say(chat, "15 de marzo de 2015").await;
    h.press(chat, Some("Exento de examen")).await;
    h.say(chat, "01/08/2009").await;
    h.say(chat, "30/06/2013").await;
    let review = h.say(chat, "luz@example.mx").await;
    // What the applicant typed is escaped for HTML.
    assert!(
        text(&review[0]).contains("Guadalajara &amp; Asociados"),
        "{}",
        text(&review[0])
    );
    let submitted = h.press(chat, Some("Enviar solicitud")).await;
    assert!(text(&submitted[0]).contains("SOL-"));
    let calendar = h.press(chat, None).await;
    // The calendar is a month grid: a title row, the weekdays, then weeks of seven cells.
    let grid = calendar[0]["reply_markup"]["inline_keyboard"]
        .as_array()
        .unwrap();
    assert_eq!(grid[1].as_array().unwrap().len(), 7);
    // Under the weeks, the months' navigation, and last the waitlist on a row of its own.
    let (waitlist, weeks) = grid[2..].split_last().unwrap();
    assert_eq!(
        waitlist[0]["text"],
        "Av\u{ed}same si se libera un lugar antes"
    );
    assert_eq!(waitlist.as_array().unwrap().len(), 1);
    assert!(
        weeks
            .iter()
            .all(|row| row.as_array().unwrap().len() == 7 || row == weeks.last().unwrap())
    );
    let slots = h.press(chat, None).await;
    assert!(
        text(&slots[0]).contains("¿A qué hora"),
        "{}",
        text(&slots[0])
    );
    let booked = h.press(chat, None).await;
    assert!(
        text(&booked[0]).contains("Cita confirmada"),
        "{}",
        text(&booked[0])
    );
    assert!(matches!(h.state(chat).await, State::Tracking(_)));

    // The documents came with their messages (sendDocument, uploaded as files): the two
    // payment sheets, the request, the appointment receipt and the invitation.
    let documents: Vec<String> = h
        .fake
        .calls("sendDocument")
        .into_iter()
        .filter(|call| call["chat_id"] == serde_json::json!(chat))
        .map(|call| {
            call["document"]["filename"]
                .as_str()
                .unwrap_or_else(|| panic!("an uploaded file: {call}"))
                .to_string()
        })
        .collect();
    assert_eq!(documents.len(), 5, "{documents:?}");
    assert!(documents[0].starts_with("hoja-de-ayuda-") && documents[0].ends_with(".pdf"));
    assert!(documents[2].starts_with("solicitud-SOL-"), "{documents:?}");
    assert!(documents[4].ends_with(".ics"), "{documents:?}");

    // Every callback query was answered, and pressed keyboards were removed.
    let presses = h.fake.calls("answerCallbackQuery").len();
    assert!(presses >= 8, "{presses}");
    assert_eq!(h.fake.calls("editMessageReplyMarkup").len(), presses);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_update_twice_gets_one_reply_and_a_restart_resumes() {
    let mut h = Harness::start().await;
    let chat = 77;
    h.say(chat, "hola").await;
    h.press(chat, Some("Sí, acepto")).await;
    let sent = h.fake.sent_to(chat).len();

    // A restarted receiver reads every update again from offset 0: all are duplicates.
    h.start_receiver();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        h.fake.sent_to(chat).len(),
        sent,
        "no reply to redelivered updates"
    );

    // The conversation goes on where it was.
    let next = h.say(chat, "PEGL890909MJCRMS08").await;
    assert!(
        text(&next[0]).contains("Fecha de nacimiento"),
        "{}",
        text(&next[0])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_button_does_nothing_harmful_and_says_so() {
    let h = Harness::start().await;
    let chat = 88;
    h.say(chat, "hola").await;
    let privacy = h.fake.sent_to(chat).last().cloned().unwrap();
    h.press(chat, Some("Sí, acepto")).await;
    let state = h.state(chat).await;

    // Press "No acepto" on the old privacy message.
    let old_id = privacy["_message_id"].as_i64().unwrap();
    let data = privacy["reply_markup"]["inline_keyboard"][1][0]["callback_data"]
        .as_str()
        .unwrap()
        .to_string();
    h.fake.press(chat, old_id, &data);
    tokio::time::sleep(Duration::from_millis(800)).await;

    assert_eq!(h.state(chat).await, state);
    let answers = h.fake.calls("answerCallbackQuery");
    assert!(
        answers.last().unwrap()["text"]
            .as_str()
            .unwrap()
            .contains("ya no está vigente")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_ventanilla_now_rate_limited_messages_still_come_due() {
    // The service as `serve` runs it with VENTANILLA_NOW: Telegram's per-chat limit (a burst of
    // three, then one a second) defers the fourth message of a quick exchange in the outbox.
    // On a frozen clock it would never come due again.
    let h = Harness::start_with(Some(support::NOW), Limits::default()).await;
    let chat = 5150;
    enum Step {
        Say(&'static str),
        Press(&'static str),
    }
    let steps = [
        Step::Say("/start"),
        Step::Press("Sí, acepto"),
        Step::Say("pegl 890909 mjcrms08"),
        Step::Press("Sí, son correctos"),
        Step::Say("Luz María"),
        Step::Say("Pérez"),
        Step::Say("Gómez"),
        Step::Press("Licenciatura"),
        Step::Say("ab12cd34ef"),
    ];

    let mut written = 0;
    for step in steps {
        match step {
            Step::Say(text) => {
                h.fake.text(chat, text);
            }
            Step::Press(label) => {
                let sent = h.fake.sent_to(chat);
                let last = sent.last().expect("a message with buttons");
                let data = last["reply_markup"]["inline_keyboard"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|row| row.as_array().unwrap().iter())
                    .find(|b| b["text"] == label)
                    .unwrap_or_else(|| panic!("no button {label}: {last}"))["callback_data"]
                    .as_str()
                    .unwrap()
                    .to_string();
                h.fake
                    .press(chat, last["_message_id"].as_i64().unwrap(), &data);
            }
        }
        written = h.all_delivered(chat, written).await;
    }

    assert!(written >= 10, "more than a burst: {written}");
    assert!(matches!(
        h.state(chat).await,
        State::Collecting(ventanilla::conversation::state::Collecting {
            question: ventanilla::conversation::state::Question::Institution,
            ..
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_document_does_not_send_its_text_again() {
    let h = Harness::start().await;
    let chat = 6160;
    h.say(chat, "/start").await;
    h.press(chat, Some("Sí, acepto")).await;
    h.say(chat, "pegl 890909 mjcrms08").await;
    h.press(chat, Some("Sí, son correctos")).await;
    h.say(chat, "Luz María").await;
    h.say(chat, "Pérez").await;
    h.say(chat, "Gómez").await;
    let before = h.outbox(chat).await.len();
    // The payment sheets' text goes out, then its first document fails once.
    h.fake.fail_next_documents(chat, vec![Failure::ServerError]);

    h.press(chat, Some("Licenciatura")).await;
    h.all_delivered(chat, before).await;

    let sheets: Vec<Value> = h
        .fake
        .sent_to(chat)
        .into_iter()
        .filter(|m| text(m).contains("$1,773"))
        .collect();
    assert_eq!(sheets.len(), 1, "the text once: {sheets:#?}");
    let documents: Vec<Value> = h
        .fake
        .calls("sendDocument")
        .into_iter()
        .filter(|c| c["chat_id"] == serde_json::json!(chat))
        .collect();
    assert_eq!(documents.len(), 3, "one failed upload, then both sheets");
    assert_eq!(documents[0]["_failed"], true);
    assert_eq!(
        documents[1]["document"]["filename"], documents[0]["document"]["filename"],
        "the failed upload is the one sent again"
    );
}

/// A message with documents is as many messages to Telegram's limits: its text and documents go
/// out within them (the rest of a message over them waits in the outbox, its sent parts
/// recorded), so a Bot API that enforces the limits refuses nothing.
#[tokio::test]
async fn each_document_counts_against_telegrams_limits() {
    let fake = FakeBotApi::start_limited(TelegramLimits::default()).await;
    let h = Harness::start_on(fake, None, Limits::default()).await;
    let chat = 6170;
    // One step at a time, each answer whole before the next (a chat gets about a message a
    // second, so an answer can take a few).
    let mut written = 0;
    h.say(chat, "/start").await;
    written = h.all_delivered(chat, written).await;
    h.press(chat, Some("S\u{ed}, acepto")).await;
    written = h.all_delivered(chat, written).await;
    h.say(chat, "pegl 890909 mjcrms08").await;
    written = h.all_delivered(chat, written).await;
    h.press(chat, Some("S\u{ed}, son correctos")).await;
    written = h.all_delivered(chat, written).await;
    for answer in ["Luz Mar\u{ed}a", "P\u{e9}rez", "G\u{f3}mez"] {
        h.say(chat, answer).await;
        written = h.all_delivered(chat, written).await;
    }
    let before = written;

    // The payment sheets: a text, two documents, then the next question, at once.
    h.press(chat, Some("Licenciatura")).await;
    h.all_delivered(chat, before).await;

    assert_eq!(h.fake.over_limit(), 0, "nothing refused with 429");
    let documents = h.fake.documents_to(chat);
    assert_eq!(documents.len(), 2, "{documents:?}");
    assert!(documents.iter().all(|name| name.ends_with(".pdf")));
}

/// Sends "hola" to a chat whose first send fails with `failure`; returns the two messages
/// finally delivered and how many sendMessage attempts the chat saw.
async fn deliver_after(failure: Failure, chat: i64) -> (Vec<Value>, usize) {
    let h = Harness::start().await;
    h.fake.fail_next_sends(chat, vec![failure]);
    h.fake.text(chat, "hola");
    let sent = h.fake.wait_for(chat, 2).await;
    let attempts = h
        .fake
        .calls("sendMessage")
        .iter()
        .filter(|c| c["chat_id"] == chat)
        .count();
    (sent, attempts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_waited_out_and_the_order_kept() {
    let (sent, attempts) = deliver_after(Failure::TooManyRequests { retry_after: 1 }, 99).await;

    assert!(
        text(&sent[0]).contains("Ventanilla"),
        "the welcome first: {}",
        text(&sent[0])
    );
    assert!(text(&sent[1]).contains("Aviso de privacidad"));
    assert_eq!(attempts, 3, "one refused attempt, then the two messages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_is_retried_with_backoff() {
    let (sent, attempts) = deliver_after(Failure::ServerError, 44).await;

    assert!(text(&sent[0]).contains("Ventanilla"), "{}", text(&sent[0]));
    assert_eq!(attempts, 3, "one failed attempt, retried once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_marks_the_chat_unreachable_without_retrying() {
    let h = Harness::start().await;
    let chat = 66;
    h.fake.fail_next_sends(chat, vec![Failure::Blocked]);

    h.fake.text(chat, "hola");
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let attempts = h
        .fake
        .calls("sendMessage")
        .iter()
        .filter(|c| c["chat_id"] == chat)
        .count();
    assert_eq!(attempts, 1, "no retry storm");
    let mut reader = h.app.service.db.reader().await.unwrap();
    let row = store::conversations::find(&mut reader.conn(), "telegram", "66")
        .await
        .unwrap()
        .unwrap();
    assert!(row.unreachable_reason.unwrap().contains("blocked"));
    assert!(
        matches!(h.state(chat).await, State::AwaitingConsent),
        "the conversation is intact"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stickers_photos_and_groups_get_an_explanation() {
    let h = Harness::start().await;
    let chat = 55;
    h.say(chat, "hola").await;
    h.press(chat, Some("Sí, acepto")).await;
    let state = h.state(chat).await;

    let before = h.fake.sent_to(chat).len();
    h.fake.content(chat, serde_json::json!({ "photo": [{ "file_id": "a", "file_unique_id": "b", "width": 90, "height": 90 }] }));
    let photo = h.replies(chat, before).await;
    let before = h.fake.sent_to(chat).len();
    h.fake.content(
        chat,
        serde_json::json!({ "sticker": {
        "file_id": "s", "file_unique_id": "u", "type": "regular", "width": 512, "height": 512,
        "is_animated": false, "is_video": false } }),
    );
    let sticker = h.replies(chat, before).await;

    assert!(text(&photo[0]).contains("fotos"), "{}", text(&photo[0]));
    assert!(
        text(&sticker[0]).contains("sticker"),
        "{}",
        text(&sticker[0])
    );
    assert_eq!(h.state(chat).await, state);

    let group = -1001;
    h.fake.group_text(group, "hola");
    let reply = h.fake.wait_for(group, 1).await;
    assert!(text(&reply[0]).contains("chats privados"));
}

/// Posts `body` to the webhook with an optional secret header; returns the status line.
async fn post_webhook(port: u16, secret: Option<&str>, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let header = secret
        .map(|s| format!("X-Telegram-Bot-Api-Secret-Token: {s}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST /telegram/webhook HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{header}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response.lines().next().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_refuses_a_wrong_secret_and_serves_the_right_one() {
    let mut h = Harness::start().await;
    if let Some(polling) = h.receiver.take() {
        polling.abort(); // exactly one receiver: the webhook
    }
    let receiver = Receiver {
        bot: bot(TOKEN, Some(&h.fake.url)).unwrap(),
        service: h.app.service.clone(),
    };
    let state = ventanilla::http::AppState {
        service: h.app.service.clone(),
        delivery: Arc::default(),
        telegram_webhook: Some(ventanilla::http::TelegramWebhook {
            receiver,
            secret: "s3cret-token".into(),
        }),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(ventanilla::http::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let update = serde_json::json!({ "update_id": 1, "message": {
        "message_id": 1, "date": 1_764_518_400,
        "chat": { "id": 31, "type": "private", "first_name": "Ana" },
        "from": { "id": 31, "is_bot": false, "first_name": "Ana" },
        "text": "hola" } })
    .to_string();

    let missing = post_webhook(port, None, &update).await;
    let wrong = post_webhook(port, Some("guess"), &update).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let nothing = h.fake.sent_to(31).len();
    let right = post_webhook(port, Some("s3cret-token"), &update).await;
    let replies = h.fake.wait_for(31, 2).await;

    assert!(missing.contains("401"), "{missing}");
    assert!(wrong.contains("401"), "{wrong}");
    assert_eq!(nothing, 0, "a refused request changes nothing");
    assert!(right.contains("200"), "{right}");
    assert!(text(&replies[0]).contains("Ventanilla"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_menu_is_published_in_spanish() {
    let fake = FakeBotApi::start().await;
    let templates = ventanilla::templates::Templates::new();

    ventanilla::channels::telegram::set_commands(&bot(TOKEN, Some(&fake.url)).unwrap(), &templates)
        .await
        .unwrap();

    let calls = fake.calls("setMyCommands");
    let commands: Vec<&str> = calls[0]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap())
        .collect();
    assert_eq!(
        commands,
        [
            "start",
            "ayuda",
            "estado",
            "corregir",
            "cancelar",
            "reiniciar",
            "reenviar"
        ]
    );
    assert!(
        calls[0]["commands"][2]["description"]
            .as_str()
            .unwrap()
            .contains("trámite")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_that_fails_twice_is_set_aside_and_polling_moves_past_it() {
    let mut h = Harness::start().await;
    let chat = 71;
    h.say(chat, "hola").await;
    // The chat's record is damaged: every turn of it fails. A restarted receiver (nothing
    // cached) meets it.
    let mut reader = h.app.service.db.reader().await.unwrap();
    let row = store::conversations::find(&mut reader.conn(), "telegram", &chat.to_string())
        .await
        .unwrap()
        .unwrap();
    drop(reader);
    let mut tx = h.app.service.db.begin().await.unwrap();
    store::conversations::update_state(
        &mut tx.conn(),
        row.id,
        row.version,
        "{",
        h.app.service.clock.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    h.app.service =
        ventanilla::service::Service::new(h.app.service.db.clone(), h.app.service.settings.clone());
    h.start_receiver();

    let poison = h.fake.text(chat, "sí");
    let mut moved_on = false;
    for _ in 0..300 {
        if h.fake.confirmed() > poison {
            moved_on = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(moved_on, "polling is stuck at the failing update");
    let mut reader = h.app.service.db.reader().await.unwrap();
    let events = store::audit::by_event(&mut reader.conn(), store::audit::Event::InputQuarantined)
        .await
        .unwrap();
    drop(reader);
    // The poison, and the chat's first update, fetched again by the restarted receiver (its
    // state cannot be read either).
    let details: Vec<&str> = events.iter().map(|e| e.detail.as_str()).collect();
    let key = format!("\"key\":\"{poison}\"");
    assert!(
        details
            .iter()
            .any(|d| d.contains(&key) && d.contains("\"channel\":\"telegram\"")),
        "{details:?}"
    );
    // Everyone else is still answered.
    assert!(!h.say(72, "hola").await.is_empty());
}
