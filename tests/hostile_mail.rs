//! Hostile and clumsy e-mail against the Maildir inbox, the MTA pipe and `.eml` files: inputs
//! whose cost is bounded, inputs set aside after failing twice, delivery reports that only
//! count when they are ours, and forged mail that cannot bury an applicant's real answers.

mod support;

use support::mail::{
    Received, answer_as, conversation, email_worker, first_message, mail_app, outbox_rows,
    through_pipe, unique_address, written_mail,
};
use support::mail_styles::Client;
use support::{Backend, TestApp, backends};
use ventanilla::channels::email::maildir::Maildir;
use ventanilla::channels::email::{self, Outcome, Received as Got};
use ventanilla::service::Service;
use ventanilla::store;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hostile");

/// A reply to `message` from `from`, as Gmail writes it.
fn answer(from: &str, message: &Received, text: &str) -> Vec<u8> {
    answer_as(Client::Gmail, from, message, text).0
}

/// A delivery status notification from a remote MTA, to `to`, saying `failed` could not be
/// delivered, returning the headers of the message `original`.
fn dsn(to: &str, failed: &[&str], original: &str) -> Vec<u8> {
    let blocks: String = failed
        .iter()
        .map(|address| {
            format!(
                "Final-Recipient: rfc822; {address}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
                 Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
            )
        })
        .collect();
    let id = support::next_id();
    format!(
        "From: MAILER-DAEMON@mx.otro.test\r\nTo: {to}\r\nSubject: Undelivered Mail\r\n\
         Message-ID: <dsn.{id}@mx.otro.test>\r\nDate: Mon, 30 Nov 2026 09:00:00 -0600\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
         --b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.otro.test\r\n\r\n\
         {blocks}--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: tramites@ventanilla.test\r\n\
         Message-ID: <{original}>\r\nSubject: x\r\n\r\n--b1--\r\n"
    )
    .into_bytes()
}

/// The details of the audit events of a kind.
async fn audit_events(app: &TestApp, event: store::audit::Event) -> Vec<String> {
    let mut reader = app.service.db.reader().await.unwrap();
    store::audit::by_event(&mut reader.conn(), event)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.detail)
        .collect()
}

/// An applicant who wrote once and got the welcome: (their address, our welcome e-mail).
async fn applicant(app: &TestApp, service: &str, name: &str) -> (String, Received) {
    let address = unique_address(name, "correo.test");
    let hello = first_message(&address, service, "Hola", "Hola");
    assert!(matches!(
        email::receive(&app.service, &hello).await.unwrap(),
        Got::Answered { .. }
    ));
    email_worker(app).drain().await.unwrap();
    let welcome = written_mail(app)
        .into_iter()
        .rev()
        .find(|m| m.header("To").as_deref() == Some(address.as_str()))
        .unwrap();
    (address, welcome)
}

#[tokio::test]
async fn nested_blockquotes_are_bounded_and_the_mail_behind_them_is_answered() {
    let service = unique_address("tramites", "ventanilla.test");
    let app = mail_app(Backend::Sqlite, &service, false, None).await;
    let maildir = Maildir::open(app.data_dir.join("inbox")).unwrap();
    let hostile = std::fs::read(format!("{FIXTURES}/nested_blockquotes.eml")).unwrap();
    maildir.deliver(&hostile).unwrap();
    let luz = unique_address("luz", "correo.test");
    maildir
        .deliver(&first_message(&luz, &service, "Hola", "Hola"))
        .unwrap();

    let scan = maildir.scan(&app.service).await.unwrap();
    assert_eq!((scan.received, scan.deferred, scan.quarantined), (2, 0, 0));
    assert!(maildir.waiting().unwrap().is_empty());
    // Both were read: the hostile one with a bounded quoted part, and the next one answered.
    let mut reader = app.service.db.reader().await.unwrap();
    let record = store::mail::inbound(&mut reader.conn(), "nested-blockquotes@correo.test")
        .await
        .unwrap()
        .expect("recorded");
    assert!(
        record.quoted.len() <= app.service.settings.mail.max_quoted_bytes,
        "{}",
        record.quoted.len()
    );
    drop(reader);
    let luz_case = conversation(&app, &luz).await;
    assert_eq!(
        outbox_rows(&app, luz_case.id).await[0].1,
        "privacy_notice",
        "the next message is answered"
    );
}

#[tokio::test]
async fn a_message_that_fails_twice_is_set_aside_and_the_next_one_is_read() {
    for backend in backends() {
        let service = unique_address("tramites", "ventanilla.test");
        let app = mail_app(backend, &service, false, None).await;
        let (luz, _) = applicant(&app, &service, "luz").await;
        // Luz's case can no longer be read (a damaged record): every message of hers fails.
        let luz_case = conversation(&app, &luz).await;
        let mut tx = app.service.db.begin().await.unwrap();
        store::conversations::update_state(
            &mut tx.conn(),
            luz_case.id,
            luz_case.version,
            "{",
            app.service.clock.now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        // A fresh process: nothing cached.
        let fresh = Service::new(app.service.db.clone(), app.service.settings.clone());

        let maildir = Maildir::open(app.data_dir.join("inbox")).unwrap();
        let poison = first_message(&luz, &service, "Hola", "otra vez");
        maildir.deliver(&poison).unwrap();
        let first = maildir.scan(&fresh).await.unwrap();
        assert_eq!(
            (first.deferred, first.quarantined),
            (1, 0),
            "{backend:?}: once"
        );

        let ana = unique_address("ana", "correo.test");
        maildir
            .deliver(&first_message(&ana, &service, "Hola", "Hola"))
            .unwrap();
        let second = maildir.scan(&fresh).await.unwrap();
        assert_eq!(
            (second.received, second.deferred, second.quarantined),
            (2, 0, 1),
            "{backend:?}: the second failure sets it aside, the next message is read"
        );
        assert!(maildir.waiting().unwrap().is_empty());
        let aside = maildir.quarantined().unwrap();
        assert_eq!(aside.len(), 1);
        assert_eq!(std::fs::read(&aside[0]).unwrap(), poison);
        assert_eq!(
            fresh
                .metrics
                .quarantined
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
        let events = audit_events(&app, store::audit::Event::InputQuarantined).await;
        let detail = events.first().expect("in the audit trail");
        assert!(detail.contains("\"reason\":\"failed\""), "{detail}");
        assert!(!detail.contains(&luz), "no address in the audit detail");
        let ana_case = conversation(&app, &ana).await;
        assert_eq!(
            outbox_rows(&app, ana_case.id).await.len(),
            1,
            "ana is answered"
        );
    }
}

#[tokio::test]
async fn a_message_that_crashed_the_service_twice_is_set_aside_at_start() {
    let service = unique_address("tramites", "ventanilla.test");
    let app = mail_app(Backend::Sqlite, &service, false, None).await;
    let luz = unique_address("luz", "correo.test");
    let raw = first_message(&luz, &service, "Hola", "Hola");
    // Two processes began reading this message and died (the attempt is counted before the
    // message is read; nothing finished it).
    use sha2::Digest;
    let key: String = sha2::Sha256::digest(&raw)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for _ in 0..2 {
        let mut tx = app.service.db.begin().await.unwrap();
        store::quarantine::begin(&mut tx.conn(), "email", &key, app.service.clock.now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let outcome = email::receive_guarded(&app.service, &raw).await;
    assert!(
        matches!(outcome, Outcome::Quarantined("crashed")),
        "{outcome:?}"
    );
    assert_eq!(outcome.exit_code(), 65);
    // Nothing of it was processed, and it stays aside.
    let mut reader = app.service.db.reader().await.unwrap();
    assert!(
        store::conversations::find(&mut reader.conn(), "email", &luz)
            .await
            .unwrap()
            .is_none()
    );
    drop(reader);
    assert!(matches!(
        email::receive_guarded(&app.service, &raw).await,
        Outcome::Quarantined(_)
    ));
    // The pipe says 65 (unusable) for it.
    let url = app.service.settings.database_url.clone();
    assert_eq!(through_pipe(&app, &raw, &url).await, 65);
}

#[tokio::test]
async fn a_delivery_report_counts_only_when_it_is_about_a_message_we_sent_to_that_address() {
    for backend in backends() {
        let service = unique_address("tramites", "ventanilla.test");
        let app = mail_app(backend, &service, false, None).await;
        let (luz, welcome) = applicant(&app, &service, "luz").await;
        let (beto, _) = applicant(&app, &service, "beto").await;
        let luz_case = conversation(&app, &luz).await;

        // Anyone's report naming luz and beto, about no message of ours: recorded, ignored.
        let forged = dsn(&service, &[&luz, &beto], "whatever@otro.test");
        let outcome = email::receive(&app.service, &forged).await.unwrap();
        assert_eq!(outcome, Got::Ignored("foreign_bounce"), "{backend:?}");
        // Our message id, but the report names another address than it went to: ignored too.
        let welcome_id = welcome.mail.message_id.clone().unwrap();
        let misdirected = dsn(&service, &[&beto], &welcome_id);
        let outcome = email::receive(&app.service, &misdirected).await.unwrap();
        assert_eq!(outcome, Got::Ignored("foreign_bounce"), "{backend:?}");
        assert!(conversation(&app, &luz).await.unreachable_reason.is_none());
        assert!(conversation(&app, &beto).await.unreachable_reason.is_none());

        // The report that comes back to the envelope sender of our welcome to luz.
        let return_path = welcome
            .header("Return-Path")
            .expect("the .eml records its envelope sender");
        let return_path = return_path.trim_matches(['<', '>']).to_string();
        assert!(
            return_path.contains("+bounce-"),
            "VERP envelope sender: {return_path}"
        );
        let genuine = dsn(&return_path, &[&luz], "not-quoted@otro.test");
        let outcome = email::receive(&app.service, &genuine).await.unwrap();
        assert_eq!(outcome, Got::Bounce { marked: 1 }, "{backend:?}");
        assert!(
            conversation(&app, &luz)
                .await
                .unreachable_reason
                .unwrap()
                .starts_with("bounce 5.1.1")
        );
        assert!(conversation(&app, &beto).await.unreachable_reason.is_none());

        // Luz answers in her thread (she fixed her mailbox): her reply is queued, the mail to
        // her is paused, not failed; nothing is lost.
        let answered = email::receive(&app.service, &answer(&luz, &welcome, "sí"))
            .await
            .unwrap();
        assert!(matches!(answered, Got::Answered { .. }), "{answered:?}");
        // Writing again resumed her address: the answer goes out.
        email_worker(&app).drain().await.unwrap();
        let statuses: Vec<String> = outbox_rows(&app, luz_case.id)
            .await
            .into_iter()
            .map(|(status, _)| status)
            .collect();
        assert_eq!(statuses, ["sent", "sent"], "{backend:?}");

        // Luz writes again; before her answer goes out, a report about our welcome to her comes
        // back: the answer is paused (kept, in order), not failed.
        let last = written_mail(&app)
            .into_iter()
            .rev()
            .find(|m| m.header("To").as_deref() == Some(luz.as_str()))
            .unwrap();
        email::receive(&app.service, &answer(&luz, &last, "ayuda"))
            .await
            .unwrap();
        let bounced = dsn(&return_path, &[&luz], &welcome_id);
        assert_eq!(
            email::receive(&app.service, &bounced).await.unwrap(),
            Got::Bounce { marked: 1 }
        );
        email_worker(&app).drain().await.unwrap();
        let statuses = |rows: Vec<(String, String)>| -> Vec<String> {
            rows.into_iter().map(|(status, _)| status).collect()
        };
        assert_eq!(
            statuses(outbox_rows(&app, luz_case.id).await),
            ["sent", "sent", "paused"],
            "{backend:?}"
        );
        let beto_case = conversation(&app, &beto).await;
        assert_eq!(statuses(outbox_rows(&app, beto_case.id).await), ["sent"]);
        let mut reader = app.service.db.reader().await.unwrap();
        let paused = store::mail::paused(&mut reader.conn()).await.unwrap();
        drop(reader);
        assert_eq!(paused.len(), 1);
        assert_eq!(paused[0].address, luz);
        assert_eq!(paused[0].message_id, welcome_id);

        // She writes again in her thread: everything waiting goes out, in order.
        email::receive(&app.service, &answer(&luz, &last, "estado"))
            .await
            .unwrap();
        email_worker(&app).drain().await.unwrap();
        assert_eq!(
            statuses(outbox_rows(&app, luz_case.id).await),
            ["sent", "sent", "sent", "sent"],
            "{backend:?}"
        );
        let sent = written_mail(&app);
        let to_luz: Vec<&Received> = sent
            .iter()
            .filter(|m| m.header("To").as_deref() == Some(luz.as_str()))
            .collect();
        assert_eq!(to_luz.len(), 4);
        assert!(
            !audit_events(&app, store::audit::Event::AddressBounced)
                .await
                .is_empty()
        );
        assert_eq!(
            audit_events(&app, store::audit::Event::AddressReachable)
                .await
                .len(),
            2
        );
    }
}

#[tokio::test]
async fn forged_mail_from_a_known_address_cannot_bury_her_real_answers() {
    for backend in backends() {
        let service = unique_address("tramites", "ventanilla.test");
        let app = mail_app(backend, &service, false, None).await;
        let (luz, welcome) = applicant(&app, &service, "luz").await;
        let luz_case = conversation(&app, &luz).await;

        // 200 forged messages "from" luz, without her token.
        let mut held = 0;
        for i in 0..200 {
            let forged = first_message(&luz, &service, "Hola", &format!("spam {i}"));
            match email::receive(&app.service, &forged).await.unwrap() {
                Got::Unthreaded { .. } => {}
                Got::NoticeHeld { .. } => held += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(held, 199, "{backend:?}: one notice, the others held");
        let waiting: Vec<(String, String)> = outbox_rows(&app, luz_case.id)
            .await
            .into_iter()
            .filter(|(status, _)| status == "pending")
            .collect();
        assert_eq!(waiting.len(), 1, "{backend:?}: {waiting:?}");

        // Her real answer, in her thread: the worker sends it before the notice.
        email::receive(&app.service, &answer(&luz, &welcome, "sí"))
            .await
            .unwrap();
        let worker = email_worker(&app);
        worker.try_execute_task().await.unwrap();
        // Rows: the welcome, the notice (queued first, still waiting), her answer (sent).
        let after: Vec<(String, String)> = outbox_rows(&app, luz_case.id).await;
        let statuses: Vec<&str> = after.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            statuses,
            ["sent", "pending", "sent"],
            "{backend:?}: {after:?}"
        );
        assert_eq!(after[2].1, "ask_curp", "the answer to her consent");
        worker.drain().await.unwrap();
        // Later forged mail still gets no second notice within the interval.
        let forged = first_message(&luz, &service, "Hola", "otra");
        assert!(matches!(
            email::receive(&app.service, &forged).await.unwrap(),
            Got::NoticeHeld { .. }
        ));
    }
}

#[tokio::test]
async fn an_overlong_message_id_is_not_echoed_into_our_headers() {
    let service = unique_address("tramites", "ventanilla.test");
    let app = mail_app(Backend::Sqlite, &service, false, None).await;
    let luz = unique_address("luz", "correo.test");
    let long = format!("{}@correo.test", "x".repeat(1500));
    let raw = String::from_utf8(first_message(&luz, &service, "Hola", "Hola"))
        .unwrap()
        .replacen(
            "Message-ID: <",
            &format!("Message-ID: <{long}>\r\nX-Old-ID: <"),
            1,
        );
    assert!(matches!(
        email::receive(&app.service, raw.as_bytes()).await.unwrap(),
        Got::Answered { .. }
    ));
    email_worker(&app).drain().await.unwrap();
    let sent = written_mail(&app).pop().unwrap();
    let text = String::from_utf8_lossy(&sent.raw);
    assert!(!text.contains("xxxxxxxxxx"), "the id is not echoed");
    assert!(text.lines().all(|line| line.len() <= 998));
    // The same message again is still a duplicate (its key is the hash of the id).
    assert_eq!(
        email::receive(&app.service, raw.as_bytes()).await.unwrap(),
        Got::Duplicate
    );
}

#[tokio::test]
async fn a_bounce_of_mail_to_a_telegram_applicant_pauses_it_and_tells_her_in_the_chat() {
    for backend in backends() {
        let service = unique_address("tramites", "ventanilla.test");
        let app = mail_app(backend, &service, false, None).await;
        // A Telegram applicant, and an e-mail to her verified address (as the office sends
        // the cédula).
        let chat = ventanilla::service::ChatId(4242);
        let inbound = ventanilla::service::Inbound::new(
            ventanilla::service::Address::Telegram(chat),
            support::next_id(),
            ventanilla::conversation::Input::Text("hola".into()),
        );
        let ventanilla::service::TurnResult::Processed {
            conversation_id, ..
        } = app.service.handle(&inbound).await.unwrap()
        else {
            panic!("processed")
        };
        let luz = unique_address("luz", "correo.test");
        let message = app
            .service
            .render(&ventanilla::conversation::reply::Reply::new("help"))
            .unwrap();
        let mut tx = app.service.db.begin().await.unwrap();
        store::outbox::enqueue(
            &mut tx.conn(),
            &[store::outbox::NewMessage {
                conversation_id,
                channel: "email",
                address: &luz,
                payload: serde_json::to_string(&message).unwrap(),
                priority: store::outbox::Priority::Reply,
            }],
            app.service.clock.now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        email_worker(&app).drain().await.unwrap();
        let sent = written_mail(&app).pop().unwrap();
        let return_path = sent.header("Return-Path").unwrap();

        let report = dsn(return_path.trim_matches(['<', '>']), &[&luz], "x@otro.test");
        assert_eq!(
            email::receive(&app.service, &report).await.unwrap(),
            Got::Bounce { marked: 1 },
            "{backend:?}"
        );
        // She hears of it in her chat, in the notice lane; the address is paused.
        let mut reader = app.service.db.reader().await.unwrap();
        let chat = store::outbox::for_conversation(&mut reader.conn(), conversation_id)
            .await
            .unwrap();
        let last = chat.last().unwrap();
        let (id, status) = (&last.id, last.status.as_str());
        let told: ventanilla::service::OutgoingMessage =
            serde_json::from_str(&last.payload).unwrap();
        assert_eq!(told.template, "email_paused", "{backend:?}");
        assert!(told.text.contains(&luz), "{}", told.text);
        assert_eq!(status, "pending");
        let row = store::outbox::get(&mut reader.conn(), *id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.channel, "telegram");
        let paused = store::mail::paused(&mut reader.conn()).await.unwrap();
        assert_eq!(
            paused.iter().map(|p| &p.address).collect::<Vec<_>>(),
            [&luz]
        );
        // The office sees it.
        let listed = std::process::Command::new(env!("CARGO_BIN_EXE_ventanilla"))
            .args(["staff", "paused"])
            .env_clear()
            .env("DATABASE_URL", &app.service.settings.database_url)
            .env("VENTANILLA_DATA_DIR", &app.data_dir)
            .output()
            .unwrap();
        let listed = String::from_utf8_lossy(&listed.stdout);
        assert!(
            listed.contains(&luz) && listed.contains("bounce 5.1.1"),
            "{listed}"
        );
    }
}
