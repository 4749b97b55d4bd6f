//! The terminal channel: `ventanilla chat`. Each line typed is one turn; the replies are
//! delivered through the outbox like on any other channel (by a worker scoped to this
//! conversation) and printed.
//!
//! `--jsonl` is for scripts: every input line gives exactly one output line,
//! `{"replies":[{"text":…,"choices":[{"id":…,"label":…}],"attachments":[…]}]}`.
//! An input line may also be a JSON object `{"text":…}`, `{"choice":…}` or
//! `{"unsupported":"sticker"}`, with an optional `"id"` (the idempotency key, scoped to the
//! `--user`: two users' scripts may use the same ids).
//!
//! Input is read as bytes: a line that is not UTF-8 is read with its bad bytes replaced (and
//! answered like any other text), and a line longer than [`MAX_LINE`] bytes is cut there.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

use crate::conversation::Input;
use crate::conversation::reply::Choice;
use crate::delivery::{Delivery, RetryPolicy, SendError, SendFuture, Sender, Worker};
use crate::documents::Documents;
use crate::service::{Address, Channel, Inbound, Service, TurnError, TurnResult, UserName};

/// Collects what the worker delivers to this terminal.
#[derive(Default, Clone)]
pub struct TerminalSender {
    delivered: Arc<Mutex<Vec<Delivery>>>,
}

impl TerminalSender {
    /// Takes what was delivered since the last call.
    pub fn take(&self) -> Vec<Delivery> {
        std::mem::take(&mut *self.delivered.lock().expect("terminal sender lock"))
    }
}

impl Sender for TerminalSender {
    fn channel(&self) -> &'static str {
        Channel::Terminal.as_str()
    }

    fn send<'a>(&'a self, delivery: &'a Delivery) -> SendFuture<'a> {
        Box::pin(async move {
            self.delivered
                .lock()
                .map_err(|_| SendError::Transient {
                    reason: "terminal lock poisoned".into(),
                    retry_after: None,
                })?
                .push(delivery.clone());
            Ok(())
        })
    }
}

/// One line of `--jsonl` output.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct JsonTurn {
    pub replies: Vec<JsonReply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct JsonReply {
    pub text: String,
    pub choices: Vec<Choice>,
    pub attachments: Vec<JsonAttachment>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct JsonAttachment {
    pub name: String,
    pub path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonInput {
    id: Option<String>,
    text: Option<String>,
    choice: Option<String>,
    unsupported: Option<String>,
}

/// Reads one line into an input and its optional idempotency key.
fn parse_line(line: &str, jsonl: bool) -> (Option<String>, Input) {
    if jsonl
        && line.trim_start().starts_with('{')
        && let Ok(parsed) = serde_json::from_str::<JsonInput>(line)
    {
        let input = match (parsed.text, parsed.choice, parsed.unsupported) {
            (_, Some(choice), _) => Input::Choice(choice),
            (_, _, Some(kind)) => Input::Unsupported(kind),
            (Some(text), _, _) => Input::Text(text),
            (None, None, None) => Input::Text(String::new()),
        };
        return (parsed.id, input);
    }
    (None, Input::Text(line.to_string()))
}

/// The idempotency key of a script's `"id"`: scoped to the user, so that two users' scripts may
/// use the same ids. The length prefix keeps `("a:b", "c")` and `("a", "b:c")` apart.
fn scoped_id(user: &str, id: &str) -> String {
    format!("{}:{user}:{id}", user.len())
}

/// The longest input line read, in bytes; the rest of a longer line is dropped.
pub const MAX_LINE: usize = 16 * 1024;

/// Reads one line without its end (`\n` or `\r\n`), bytes that are not UTF-8 replaced, at most
/// [`MAX_LINE`] bytes of it kept; `None` at the end of the input.
async fn read_line(reader: &mut (impl AsyncBufRead + Unpin)) -> std::io::Result<Option<String>> {
    let mut bytes = Vec::new();
    let mut read_any = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            break;
        }
        read_any = true;
        let newline = available.iter().position(|&b| b == b'\n');
        let chunk = &available[..newline.unwrap_or(available.len())];
        let room = MAX_LINE.saturating_sub(bytes.len());
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let consumed = newline.map_or(available.len(), |at| at + 1);
        reader.consume(consumed);
        if newline.is_some() {
            break;
        }
    }
    if !read_any {
        return Ok(None);
    }
    if bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// A fresh idempotency key for a typed line.
fn fresh_id(user: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let random: u64 = rand::random();
    format!("{user}:{nanos:x}:{random:016x}")
}

/// The chat loop: one turn per input line until end of input.
pub async fn run(
    service: &Service,
    user: &str,
    jsonl: bool,
    mut reader: impl AsyncBufRead + Unpin,
    mut output: impl AsyncWrite + Unpin,
) -> anyhow::Result<()> {
    let sender = TerminalSender::default();
    let senders: Vec<Arc<dyn Sender>> = vec![Arc::new(sender.clone())];
    let worker = Worker::new(
        service.db.clone(),
        senders,
        service.clock,
        RetryPolicy::default(),
    );
    let documents = Documents::new(
        service.db.clone(),
        service.templates.clone(),
        &service.settings,
    );

    if !jsonl {
        let banner = service
            .templates
            .render("terminal/banner.txt", serde_json::json!({ "user": user }))?;
        output
            .write_all(format!("{}\n", banner.trim_end()).as_bytes())
            .await?;
        if let Some(last) = last_message(service, user).await? {
            output.write_all(human(&last).as_bytes()).await?;
        }
        output.write_all(b"> ").await?;
        output.flush().await?;
    }

    while let Some(line) = read_line(&mut reader).await? {
        let (id, input) = parse_line(&line, jsonl);
        let external_id = match id {
            Some(id) => scoped_id(user, &id),
            None => fresh_id(user),
        };
        let address = Address::Terminal(UserName(user.to_string()));
        let inbound = Inbound::new(address, external_id, input);
        let result = service.handle(&inbound).await;
        let delivered = match &result {
            Ok(TurnResult::Processed {
                conversation_id, ..
            }) => {
                worker
                    .clone()
                    .for_conversation(*conversation_id)
                    .drain()
                    .await?;
                sender.take()
            }
            _ => Vec::new(),
        };
        let mut files = Vec::with_capacity(delivered.len());
        for delivery in &delivered {
            files.push(save_attachments(&documents, &service.settings.data_dir, delivery).await?);
        }
        let text = if jsonl {
            let turn = JsonTurn {
                replies: delivered
                    .iter()
                    .zip(files)
                    .map(|(delivery, attachments)| JsonReply {
                        attachments,
                        ..json_reply(delivery)
                    })
                    .collect(),
                error: result.as_ref().err().map(error_code).map(str::to_string),
            };
            format!("{}\n", serde_json::to_string(&turn)?)
        } else {
            let mut text = String::new();
            for (delivery, attachments) in delivered.iter().zip(&files) {
                text.push_str(&human(&delivery.message));
                for file in attachments {
                    text.push_str(&format!("  [{}] {}\n", file.name, file.path));
                }
            }
            if let Err(error) = &result {
                let message = service.templates.render(
                    "terminal/error.txt",
                    serde_json::json!({ "code": error_code(error) }),
                )?;
                text.push_str(&format!("{}\n", message.trim_end()));
            }
            text.push_str("> ");
            text
        };
        output.write_all(text.as_bytes()).await?;
        output.flush().await?;
    }
    if !jsonl {
        output.write_all(b"\n").await?;
    }
    output.flush().await?;
    Ok(())
}

fn error_code(error: &TurnError) -> &'static str {
    match error {
        TurnError::Database(_) => "database",
        TurnError::Contended => "contended",
        TurnError::Unexpected(_) => "unexpected",
    }
}

/// Writes the documents of a message under `$VENTANILLA_DATA_DIR/documents/CONVERSATION/`.
async fn save_attachments(
    documents: &Documents,
    data_dir: &std::path::Path,
    delivery: &Delivery,
) -> anyhow::Result<Vec<JsonAttachment>> {
    let mut saved = Vec::new();
    if delivery.message.attachments.is_empty() {
        return Ok(saved);
    }
    let dir = data_dir
        .join("documents")
        .join(delivery.conversation_id.to_string());
    crate::files::create_private_dir_all_async(&dir).await?;
    for document in &delivery.message.attachments {
        let rendered = documents.render(document).await?;
        let path = dir.join(&rendered.file_name);
        crate::files::write_private(&path, &rendered.bytes).await?;
        saved.push(JsonAttachment {
            name: rendered.file_name,
            path: path.display().to_string(),
        });
    }
    Ok(saved)
}

fn json_reply(delivery: &Delivery) -> JsonReply {
    JsonReply {
        text: delivery.message.text.clone(),
        choices: delivery.message.choices.clone(),
        attachments: Vec::new(),
    }
}

/// A message for a person: the text, then the choices numbered.
fn human(message: &crate::service::OutgoingMessage) -> String {
    let mut out = format!("\n{}\n", message.text);
    for (i, choice) in message.choices.iter().enumerate() {
        out.push_str(&format!("  {}. {}\n", i + 1, choice.label));
    }
    out
}

/// The last message sent to this user, shown again when a conversation is resumed.
async fn last_message(
    service: &Service,
    user: &str,
) -> anyhow::Result<Option<crate::service::OutgoingMessage>> {
    let address = Address::Terminal(UserName(user.to_string()));
    Ok(service.last_message(&address).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_read_lossily_and_bounded() {
        let mut long = vec![b'a'; MAX_LINE + 10];
        long.push(b'\n');
        let mut input: Vec<u8> = b"Hola\xff\xfe mundo\r\n".to_vec();
        input.extend_from_slice(&long);
        input.extend_from_slice(b"fin");
        let mut reader = &input[..];

        let first = read_line(&mut reader).await.unwrap();
        let second = read_line(&mut reader).await.unwrap().unwrap();
        let third = read_line(&mut reader).await.unwrap();
        let end = read_line(&mut reader).await.unwrap();

        assert_eq!(first.as_deref(), Some("Hola\u{fffd}\u{fffd} mundo"));
        assert_eq!(second.len(), MAX_LINE);
        assert_eq!(third.as_deref(), Some("fin"));
        assert_eq!(end, None);
    }

    #[test]
    fn script_ids_are_scoped_to_their_user() {
        assert_ne!(scoped_id("ana", "m1"), scoped_id("luz", "m1"));
        assert_ne!(scoped_id("a:b", "c"), scoped_id("a", "b:c"));
        assert_eq!(scoped_id("ana", "m1"), scoped_id("ana", "m1"));
    }

    #[test]
    fn input_lines_are_text_or_json_objects() {
        assert_eq!(parse_line("hola", true), (None, Input::Text("hola".into())));
        assert_eq!(
            parse_line(r#"{"id":"m1","text":"s\u00ed"}"#, true),
            (Some("m1".into()), Input::Text("s\u{ed}".into()))
        );
        assert_eq!(
            parse_line(r#"{"choice":"licenciatura"}"#, true),
            (None, Input::Choice("licenciatura".into()))
        );
        assert_eq!(
            parse_line(r#"{"unsupported":"sticker"}"#, true),
            (None, Input::Unsupported("sticker".into()))
        );
        // Not our JSON: the line is text, as typed.
        assert_eq!(
            parse_line(r#"{"foo":1}"#, true),
            (None, Input::Text(r#"{"foo":1}"#.into()))
        );
        // A person's terminal never interprets JSON.
        assert_eq!(
            parse_line(r#"{"text":"x"}"#, false),
            (None, Input::Text(r#"{"text":"x"}"#.into()))
        );
    }
}
