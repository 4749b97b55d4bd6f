use super::super::quote::split_reply;
use super::body::unflow;
use super::report::failed_recipients;
use super::*;
use mail_parser::PartType;

use std::collections::BTreeMap;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mail");

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    new_text: String,
    disposition: String,
    from: String,
    subject: Option<String>,
    attachments: Option<usize>,
    message_id: Option<String>,
    /// Pieces the whole decoded text (quote included) must contain.
    #[serde(default)]
    text_contains: Vec<String>,
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn expectations() -> BTreeMap<String, Expected> {
    let text = std::fs::read_to_string(format!("{FIXTURES}/expected.toml")).expect("expected.toml");
    toml::from_str(&text).expect("expected.toml parses")
}

fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(FIXTURES)
        .expect("fixtures directory")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".eml"))
        .collect();
    names.sort();
    names
}

fn disposition_label(disposition: &Disposition) -> String {
    match disposition {
        Disposition::Answer => "answer".to_string(),
        Disposition::Ignore(reason) => format!("ignore:{reason}"),
        Disposition::Bounce(failed) => {
            let addresses: Vec<&str> = failed.iter().map(|f| f.address.as_str()).collect();
            format!("bounce:{}", addresses.join(","))
        }
    }
}

#[test]
fn every_fixture_matches_expected_toml() {
    let expected = expectations();
    let names = fixture_names();
    assert!(names.len() >= 10, "fixtures: {names:?}");
    for name in &names {
        let want = expected
            .get(name)
            .unwrap_or_else(|| panic!("{name} is missing from expected.toml"));
        let mail = parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            split_reply(&mail.text).new,
            want.new_text,
            "{name}: new text"
        );
        assert_eq!(
            disposition_label(&classify(&mail)),
            want.disposition,
            "{name}"
        );
        assert_eq!(
            mail.from.as_deref(),
            Some(want.from.as_str()),
            "{name}: from"
        );
        if let Some(subject) = &want.subject {
            assert_eq!(&mail.subject, subject, "{name}: subject");
        }
        if let Some(count) = want.attachments {
            assert_eq!(mail.attachments.len(), count, "{name}: attachments");
        }
        if let Some(id) = &want.message_id {
            assert_eq!(mail.message_id.as_ref(), Some(id), "{name}: message id");
        }
        for piece in &want.text_contains {
            assert!(
                mail.text.contains(piece),
                "{name}: {piece:?} in {}",
                mail.text
            );
        }
        let headers = parse_headers(&fixture(name)).expect("headers parse");
        assert_eq!(headers.from, mail.from, "{name}: headers-only from");
        assert_eq!(
            headers.subject, mail.subject,
            "{name}: headers-only subject"
        );
        assert!(headers.text.is_empty() && headers.attachments.is_empty());
        assert_eq!(headers.report, None);
    }
    for name in expected.keys() {
        assert!(names.contains(name), "expected.toml names a missing {name}");
    }
}

#[test]
fn gmail_reply_headers() {
    let mail = parse(&fixture("gmail_es.eml")).expect("parses");
    assert_eq!(
        mail.message_id.as_deref(),
        Some("CAHk3xQ7vN2pLr8dYz+Q1w9s@mail.gmail.com")
    );
    assert_eq!(mail.in_reply_to, ["20261130161500.a1b2c3@ventanilla.test"]);
    assert_eq!(
        mail.references,
        [
            "20261130160000.0f0e0d@ventanilla.test",
            "20261130161500.a1b2c3@ventanilla.test"
        ]
    );
    assert_eq!(mail.recipients, ["tramites+k7q2m@ventanilla.test"]);
    // Its quoted question, and the accents of the Windows-1252 and ISO-8859-1 fixtures, are
    // checked with every fixture (`text_contains` in expected.toml).
}

#[test]
fn html_only_body_becomes_text_with_quotes() {
    // The fixture's quote as text is checked with every fixture (`text_contains`).
    assert_eq!(
        html_to_text(
            "<html><head><style>p{}</style></head><body><div>Hola &amp; adi&oacute;s</div>\
                 <div><br></div><div>Luz&nbsp;P&#233;rez</div><blockquote><p>Uno</p><p>Dos</p>\
                 </blockquote><hr><p>x &lt; y</p></body></html>",
            &Limits::default()
        ),
        "Hola & adiós\n\nLuz Pérez\n> Uno\n> Dos\n________________________________\nx < y"
    );
}

#[test]
fn html_alternatives_split_like_their_plain_text() {
    for name in [
        "gmail_es.eml",
        "outlook_es.eml",
        "outlook_android.eml",
        "pdf_attachment.eml",
    ] {
        let raw = fixture(name);
        let message = MessageParser::new().parse(&raw).expect("parses");
        let html = message
            .html_body
            .iter()
            .find_map(|&id| match &message.parts[id as usize].body {
                PartType::Html(html) => Some(html_to_text(html, &Limits::default())),
                _ => None,
            })
            .expect("an html part");
        let plain = parse(&raw).expect("parses").text;
        assert_eq!(
            split_reply(&html).new,
            split_reply(&plain).new,
            "{name}:\n{html}"
        );
    }
}

#[test]
fn flowed_text_is_joined() {
    assert_eq!(
        unflow("Uno dos \ntres\n> cita \n> larga\n-- \nFirma", false, 8),
        "Uno dos tres\n> cita larga\n-- \nFirma"
    );
    assert_eq!(unflow("Uno-\u{20}\ndos", true, 8), "Uno-dos");
}

#[test]
fn bounce_names_the_failed_recipient() {
    let mail = parse(&fixture("dsn_failed.eml")).expect("parses");
    assert_eq!(
        mail.report,
        Some(Report {
            report_type: "delivery-status".to_string(),
            failed: vec![FailedRecipient {
                address: "nadie@correo.test".to_string(),
                status: Some("5.1.1".to_string()),
                diagnostic: Some(
                    "x-unix; user unknown. Command output: Invalid user specified.".to_string()
                ),
            }],
            original_ids: vec!["20261130161600.b7k2q@ventanilla.test".to_string()],
        })
    );
}

#[test]
fn delivery_status_fields_are_read_loosely() {
    let status = "Reporting-MTA: dns; mx.test\r\n\r\nfinal-recipient: RFC822;\r\n <Ana@Correo.Test>\r\nACTION: Failed\r\nStatus: 5.2.2 (mailbox full)\r\nDiagnostic-Code: smtp; 552 5.2.2\r\n Mailbox full\r\n\r\nOriginal-Recipient: rfc822;beto@correo.test\r\nAction: delayed\r\n\r\nOriginal-Recipient: rfc822;carla@correo.test\r\nAction: failed\r\n";
    assert_eq!(
        failed_recipients(status),
        [
            FailedRecipient {
                address: "ana@correo.test".to_string(),
                status: Some("5.2.2".to_string()),
                diagnostic: Some("smtp; 552 5.2.2 Mailbox full".to_string()),
            },
            FailedRecipient {
                address: "carla@correo.test".to_string(),
                status: None,
                diagnostic: None,
            },
        ]
    );
}

#[test]
fn classify_rules_in_order() {
    let person = Mail {
        from: Some("luz@correo.test".to_string()),
        ..Mail::default()
    };
    assert_eq!(classify(&person), Disposition::Answer);
    let with = |change: fn(&mut Mail)| {
        let mut mail = person.clone();
        change(&mut mail);
        classify(&mail)
    };
    assert_eq!(
        with(|m| m.auto_submitted = Some("no".into())),
        Disposition::Answer
    );
    assert_eq!(
        with(|m| m.auto_submitted = Some("auto-generated".into())),
        Disposition::Ignore("auto_submitted")
    );
    assert_eq!(
        with(|m| m.precedence = Some("bulk".into())),
        Disposition::Ignore("precedence")
    );
    assert_eq!(
        with(|m| m.precedence = Some("first-class".into())),
        Disposition::Answer
    );
    assert_eq!(
        with(|m| m.null_sender = true),
        Disposition::Ignore("null_sender")
    );
    assert_eq!(
        with(|m| m.auto_reply_headers = true),
        Disposition::Ignore("auto_reply")
    );
    assert_eq!(
        with(|m| {
            m.report = Some(Report {
                report_type: "delivery-status".into(),
                failed: Vec::new(),
                original_ids: Vec::new(),
            })
        }),
        Disposition::Ignore("delivery_report")
    );
    for sender in [
        "MAILER-DAEMON@mx.test",
        "postmaster@correo.test",
        "noreply@banco.test",
        "no-reply@x.test",
        "no_reply@x.test",
        "donotreply@x.test",
        "do-not-reply@x.test",
        "do_not_reply@x.test",
        "noreply-avisos@x.test",
    ] {
        let mut mail = person.clone();
        mail.from = Some(sender.to_lowercase());
        assert_eq!(
            classify(&mail),
            Disposition::Ignore("system_sender"),
            "{sender}"
        );
    }
    for subject in [
        "Respuesta automática: Tu trámite",
        "Respuesta automatica: Tu trámite",
        "Fuera de la oficina: Tu trámite",
        "Fuera de oficina",
        "Ausencia",
        "Estoy de vacaciones",
        "Out of Office: Your application",
        "Out of the office",
        "Automatic reply: Tu trámite",
        "Auto-reply",
        "Autoreply: hola",
        "Auto reply",
        "Vacation reply",
        "Abwesenheitsnotiz: Tu trámite",
    ] {
        let mut mail = person.clone();
        mail.subject = subject.to_string();
        assert_eq!(
            classify(&mail),
            Disposition::Ignore("out_of_office"),
            "{subject}"
        );
    }
    let mut mail = person.clone();
    mail.subject = "RE: Tu trámite: ¿cuándo te titulaste?".to_string();
    assert_eq!(classify(&mail), Disposition::Answer);
}

#[test]
fn unusable_messages() {
    assert_eq!(parse(b""), Err(Unusable::Empty));
    assert_eq!(parse(b" \r\n\r\n"), Err(Unusable::Empty));
    assert_eq!(parse_headers(b""), Err(Unusable::Empty));
    assert_eq!(
        parse(b"Subject: hola\r\nTo: a@b.test\r\n\r\nSin remitente\r\n"),
        Err(Unusable::NoSender)
    );
    assert_eq!(
        parse(b"From: Luz P\xc3\xa9rez\r\n\r\nSin direcci\xc3\xb3n\r\n"),
        Err(Unusable::NoSender)
    );
    let mail = parse(b"From: Luz <LUZ@Correo.Test>\r\n\r\nHola\r\n").expect("parses");
    assert_eq!(mail.from.as_deref(), Some("luz@correo.test"));
    assert_eq!(mail.text, "Hola\n");
}

#[test]
fn recipients_come_from_all_destination_headers() {
    let raw = b"Delivered-To: tramites+a1@ventanilla.test\r\n\
            X-Original-To: Tramites+A1@ventanilla.test\r\n\
            Return-Path: < >\r\n\
            From: luz@correo.test\r\n\
            To: Ventanilla <tramites@ventanilla.test>, otra@correo.test\r\n\
            Cc: \"P\xc3\xa9rez, Luz\" <luz@correo.test>\r\n\
            Subject: =?iso-8859-1?Q?Re:_tr=E1mite?=\r\n\
            Auto-Submitted:  No \r\n\
            \r\n\
            Hola\r\n";
    let mail = parse(raw).expect("parses");
    assert_eq!(
        mail.recipients,
        [
            "tramites+a1@ventanilla.test",
            "tramites@ventanilla.test",
            "otra@correo.test",
            "luz@correo.test"
        ]
    );
    assert!(mail.null_sender);
    assert_eq!(mail.subject, "Re: trámite");
    assert_eq!(mail.auto_submitted.as_deref(), Some("no"));
}

/// A fixed linear congruential generator: the same "random" bytes on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn exercise(raw: &[u8]) {
    if let Ok(mail) = parse(raw) {
        let _ = classify(&mail);
        let _ = split_reply(&mail.text);
    }
    let _ = parse_headers(raw);
}

#[test]
fn never_panics_on_truncated_or_garbage_input() {
    for name in fixture_names() {
        let raw = fixture(&name);
        for end in 0..=raw.len() {
            exercise(&raw[..end]);
        }
    }
    let mut lcg = Lcg(0x5EED);
    let alphabet = b"<>:;=?\r\n \t-abcXYZ@\"/\\boundary_";
    for round in 0..2000 {
        let len = (lcg.next() % 600) as usize;
        let raw: Vec<u8> = (0..len)
            .map(|_| {
                let n = lcg.next();
                if round % 2 == 0 {
                    n as u8
                } else {
                    alphabet[n as usize % alphabet.len()]
                }
            })
            .collect();
        exercise(&raw);
    }
    for name in fixture_names() {
        let mut raw = fixture(&name);
        for _ in 0..200 {
            let at = lcg.next() as usize % raw.len();
            raw[at] = lcg.next() as u8;
            exercise(&raw);
        }
    }
}

/// A message with the given extra header lines and body.
fn message(headers: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "From: luz@correo.test\r\nTo: tramites@ventanilla.test\r\nSubject: Re: x\r\n\
             Message-ID: <m1@correo.test>\r\n{headers}MIME-Version: 1.0\r\n\
             Content-Type: {content_type}\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

#[test]
fn nested_blockquotes_cost_a_bounded_text() {
    // Today's failure: each level repeats '>' on every line below it, so 20,000 levels of a
    // few hundred KiB became ~1 GB of text.
    let depth = 20_000;
    let html = format!(
        "<p>1</p>{}{}",
        "<blockquote>cita<br>".repeat(depth),
        "</blockquote>".repeat(depth)
    );
    let limits = Limits::default();
    let mail = parse(&message("", "text/html; charset=utf-8", &html)).expect("parses");
    assert!(
        mail.text.len() <= limits.max_text_bytes,
        "{}",
        mail.text.len()
    );
    assert!(mail.text.starts_with('1'), "{}", &mail.text[..40]);
    let deepest = mail
        .text
        .lines()
        .map(|line| line.bytes().take_while(|&b| b == b'>').count())
        .max()
        .unwrap();
    assert_eq!(deepest, limits.max_quote_depth);
    // The plain-text path, too: flowed lines quoted 100,000 deep.
    let deep = format!("Hola\r\n{} cita\r\n", ">".repeat(100_000));
    let mail = parse(&message("", "text/plain; format=flowed", &deep)).expect("parses");
    assert!(
        mail.text.lines().all(|l| l.len() < 100),
        "{}",
        mail.text.len()
    );
}

#[test]
fn the_text_is_cut_at_its_cap_on_a_character_boundary() {
    let limits = Limits {
        max_text_bytes: 1001,
        ..Limits::default()
    };
    let body = "ñ".repeat(5000);
    let raw = message("", "text/plain; charset=utf-8", &body);
    let mail = parse_with(&raw, &limits).expect("parses");
    assert!(mail.text_truncated);
    assert_eq!(mail.text.len(), 1000);
    assert!(!parse(&raw).unwrap().text_truncated);
}

#[test]
fn an_oversized_header_block_is_read_up_to_its_cap_only() {
    let limits = Limits::default();
    let filler = format!("X-Filler: {}\r\n", "a".repeat(70));
    let headers = filler.repeat(limits.max_header_bytes / filler.len() + 10);
    let raw = message(&headers, "text/plain", "PEGL890909MJCRMS08");
    let mail = parse(&raw).expect("the start of the headers still names the sender");
    assert!(mail.headers_truncated);
    assert!(mail.text.is_empty(), "the body is not read");
    assert_eq!(mail.from.as_deref(), Some("luz@correo.test"));
    // A normal message is not affected, with LF or CRLF line ends.
    let normal = message("", "text/plain", "hola");
    assert!(!parse(&normal).unwrap().headers_truncated);
    let lf = String::from_utf8(normal).unwrap().replace("\r\n", "\n");
    assert!(!parse(lf.as_bytes()).unwrap().headers_truncated);
    assert_eq!(parse(lf.as_bytes()).unwrap().text.trim(), "hola");
}

#[test]
fn recipients_and_references_are_capped_and_deduplicated_linearly() {
    // 500,000 recipients took 214 s of CPU with a quadratic de-duplication.
    let mut recipients = Recipients::new(100);
    recipients.extend((0..500_000).map(|i| format!("r{}@correo.test", i % 7)));
    recipients.extend((0..500_000).map(|i| format!("s{i}@correo.test")));
    let list = recipients.into_vec();
    assert_eq!(list.len(), 100);
    assert_eq!(
        list[..7],
        (0..7)
            .map(|i| format!("r{i}@correo.test"))
            .collect::<Vec<_>>()[..]
    );

    let limits = Limits::default();
    let to: Vec<String> = (0..300).map(|i| format!("p{i}@correo.test")).collect();
    let ids: Vec<String> = (0..300).map(|i| format!("<id{i}@correo.test>")).collect();
    let headers = format!("Cc: {}\r\nReferences: {}\r\n", to.join(", "), ids.join(" "));
    let mail = parse(&message(&headers, "text/plain", "hola")).expect("parses");
    assert_eq!(mail.recipients.len(), limits.max_recipients);
    assert_eq!(mail.references.len(), limits.max_references);
    assert_eq!(
        mail.references[0], "id0@correo.test",
        "the thread's root stays"
    );
    assert_eq!(mail.references.last().unwrap(), "id299@correo.test");
}

#[test]
fn a_message_of_thousands_of_parts_is_read_from_its_headers_only() {
    let parts = "--b\r\nContent-Type: application/x-a; name=a\r\n\r\nx\r\n".repeat(5000);
    let raw = message(
        "",
        "multipart/mixed; boundary=\"b\"",
        &format!("{parts}--b--"),
    );
    let mail = parse(&raw).expect("parses");
    assert!(mail.too_many_parts);
    assert!(mail.attachments.is_empty());
    let few = "--b\r\nContent-Type: application/x-a; name=a\r\n\r\nx\r\n".repeat(3);
    let raw = message(
        "",
        "multipart/mixed; boundary=\"b\"",
        &format!("{few}--b--"),
    );
    let mail = parse(&raw).expect("parses");
    assert!(!mail.too_many_parts);
    assert_eq!(mail.attachments.len(), 3);
}

#[test]
fn overlong_or_unprintable_message_ids_are_replaced_by_their_hash() {
    let long = format!("{}@correo.test", "a".repeat(1200));
    let raw = message("", "text/plain", "hola");
    let raw = String::from_utf8(raw).unwrap().replace(
        "<m1@correo.test>",
        &format!("<{long}>\r\nIn-Reply-To: <{long}>"),
    );
    let mail = parse(raw.as_bytes()).expect("parses");
    let id = mail.message_id.unwrap();
    assert!(id.len() < 64 && id.ends_with("@hashed.invalid"), "{id}");
    assert_eq!(mail.in_reply_to, std::slice::from_ref(&id));
    assert_eq!(
        safe_message_id(&long),
        id,
        "the same id gives the same hash"
    );
    assert_eq!(safe_message_id("a1@b.test"), "a1@b.test");
    assert_ne!(safe_message_id("a\u{7}b@c.test"), "a\u{7}b@c.test");
}

#[test]
fn control_characters_in_addresses_are_refused() {
    for from in [
        "luz\u{0}@correo.test",
        "luz@correo.test\u{1b}",
        "l uz@correo.test",
    ] {
        let raw =
            format!("From: <{from}>\r\nTo: tramites@ventanilla.test\r\nSubject: x\r\n\r\nhola\r\n");
        assert_eq!(parse(raw.as_bytes()), Err(Unusable::NoSender), "{from:?}");
    }
    let raw = "From: luz@correo.test\r\nTo: <a\u{0}b@correo.test>, ok@correo.test\r\n\
                   Delivered-To: x\u{7}@ventanilla.test\r\nSubject: x\r\n\r\nhola\r\n";
    assert_eq!(
        parse(raw.as_bytes()).unwrap().recipients,
        ["ok@correo.test"]
    );
}

#[test]
fn a_report_returns_the_message_id_of_what_bounced() {
    let mail = parse(&fixture("dsn_delayed.eml")).expect("parses");
    assert_eq!(
        mail.report.unwrap().original_ids,
        ["20261130161600.n3m4b@ventanilla.test"]
    );
}
