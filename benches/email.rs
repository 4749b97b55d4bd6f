//! E-mail ingest rate: messages per second from the Maildir inbox into the outbox (parse,
//! classify, cut the quoted history, one durable turn each), next to mail-parser alone on the
//! same messages, in one run.
//!
//! `cargo bench --bench email` (set `BENCH_MESSAGES` to change the number of messages). The
//! messages are the realistic fixtures of `tests/fixtures/mail` (Gmail, Outlook, Apple Mail,
//! Thunderbird replies in several charsets, HTML-only, attachments, auto-replies, DSNs), each
//! copied from a distinct sender with its own Message-ID, so every answerable one starts a
//! conversation of its own.

use std::sync::Arc;
use std::time::Instant;

use ventanilla::channels::email::maildir::Maildir;
use ventanilla::channels::email::{parse, quote};
use ventanilla::config::Settings;
use ventanilla::service::Service;
use ventanilla::store::{self, Db};

/// `raw` with its From and Message-ID replaced (header continuation lines dropped with them).
fn personalise(raw: &[u8], i: usize) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut out = String::new();
    let mut skipping = false;
    for line in head.split("\r\n") {
        if skipping && (line.starts_with(' ') || line.starts_with('\t')) {
            continue;
        }
        skipping = false;
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("from:") {
            out.push_str(&format!("From: Solicitante {i} <s{i}@correo.test>\r\n"));
            skipping = true;
        } else if lower.starts_with("message-id:") {
            out.push_str(&format!("Message-ID: <bench.{i}@correo.test>\r\n"));
            skipping = true;
        } else {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    // Raw bytes of the body are kept as they were (8-bit charsets included).
    let body_start = raw.len() - body.len();
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(&raw[body_start.min(raw.len())..]);
    bytes
}

fn messages(count: usize) -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mail");
    let mut fixtures: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .expect("fixtures")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    fixtures.sort();
    (0..count)
        .map(|i| personalise(&fixtures[i % fixtures.len()], i))
        .collect()
}

fn main() {
    let count: usize = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000);
    let raws = messages(count);
    let bytes: usize = raws.iter().map(Vec::len).sum();

    // mail-parser alone.
    let started = Instant::now();
    let mut parts = 0usize;
    for raw in &raws {
        if let Some(message) = mail_parser::MessageParser::default().parse(raw.as_slice()) {
            parts += message.parts.len();
        }
    }
    let parser_alone = started.elapsed().as_secs_f64();
    assert!(parts >= count, "every message parsed");

    // Our reading, without the database: parse, classify, cut the quoted history.
    let started = Instant::now();
    let mut answerable = 0usize;
    for raw in &raws {
        let mail = parse::parse(raw).expect("fixtures parse");
        if parse::classify(&mail) == parse::Disposition::Answer {
            answerable += 1;
            std::hint::black_box(quote::split_reply(&mail.text));
        }
    }
    let reading = started.elapsed().as_secs_f64();

    // The Maildir path into the outbox.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (ingest, outbox_rows, scanned) = runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let env = vec![
            (
                "VENTANILLA_DATA_DIR".to_string(),
                dir.path().display().to_string(),
            ),
            (
                "MAIL_FROM".to_string(),
                "Ventanilla <tramites@ventanilla.test>".to_string(),
            ),
        ];
        let settings = Settings::from_env(&env).unwrap();
        let db = Db::connect(&settings.database_url).await.unwrap();
        db.migrate().await.unwrap();
        let service = Service::new(db.clone(), Arc::new(settings));
        let maildir = Maildir::open(dir.path().join("inbox")).unwrap();
        for raw in &raws {
            maildir.deliver(raw).unwrap();
        }
        let started = Instant::now();
        let scan = maildir.scan(&service).await.unwrap();
        let elapsed = started.elapsed().as_secs_f64();
        let mut reader = db.reader().await.unwrap();
        let rows = store::outbox::depth(&mut reader.conn()).await.unwrap();
        (elapsed, rows, scan.received)
    });
    assert_eq!(scanned, count, "every message was read");
    assert_eq!(
        outbox_rows as usize, answerable,
        "one answer per answerable message"
    );

    println!(
        "{count} messages ({:.1} KiB on average; {answerable} answerable, the rest automatic mail)",
        bytes as f64 / count as f64 / 1024.0
    );
    println!(
        "mail-parser alone:                  {:>9.0} messages/s",
        count as f64 / parser_alone
    );
    println!(
        "parse + classify + quote stripping: {:>9.0} messages/s",
        count as f64 / reading
    );
    println!(
        "Maildir -> outbox (durable turns):  {:>9.0} messages/s ({outbox_rows} answers queued)",
        count as f64 / ingest
    );
}
