//! The e-mail channel end to end. The tests marked "real servers" talk to Postfix and Dovecot
//! started by `scripts/mail-servers.sh` (`.ci/run` does it); the others use the Maildir inbox,
//! the MTA pipe and `.eml` files.

mod support;

use support::mail::{
    Received, conversation, email_worker, first_message, mail_app, mail_env, run_email, smtp_send,
    through_pipe, unique_address, wait_for_mail, written_mail,
};
use support::mail_styles::Client;
use support::{Backend, NOW, TestApp, answers_to_review, backends, spawn_app_env};
use ventanilla::channels::email::maildir::Maildir;
use ventanilla::channels::email::{self, Received as Outcome};
use ventanilla::conversation::state::{State, Tracking};
use ventanilla::store;

const FROM_NAME: &str = "Luz María Pérez Gómez";

/// The answers of a whole journey by e-mail, after the first message ("hola"): the chat's
/// answers, except that the sender's address is confirmed instead of typed, then to a booking.
fn journey() -> Vec<String> {
    let mut answers = answers_to_review("AB12CD34EF");
    answers.remove(0);
    answers.pop();
    answers.extend(["sí", "Enviar solicitud", "1", "jue 3 dic", "9:30"].map(String::from));
    answers
}

/// A reply to `message` as `client` writes it, from `from` (with the applicant's name).
fn answer(client: Client, from: &str, message: &Received, text: &str) -> (Vec<u8>, String) {
    support::mail::answer_as(client, &format!("{FROM_NAME} <{from}>"), message, text)
}

async fn inbound_records(app: &TestApp) -> Vec<store::mail::InboundRecord> {
    let mut reader = app.service.db.reader().await.unwrap();
    store::mail::all_inbound(&mut reader.conn()).await.unwrap()
}

async fn outbox_templates(app: &TestApp, conversation_id: i64) -> Vec<String> {
    support::mail::outbox_rows(app, conversation_id)
        .await
        .into_iter()
        .map(|(_, template)| template)
        .collect()
}

/// Status, attempts and last error of the conversation's first outbox row.
async fn first_outbox_status(app: &TestApp, conversation_id: i64) -> (String, i64, Option<String>) {
    let mut reader = app.service.db.reader().await.unwrap();
    let id = store::outbox::for_conversation(&mut reader.conn(), conversation_id)
        .await
        .unwrap()
        .remove(0)
        .id;
    let progress = store::outbox::status(&mut reader.conn(), id)
        .await
        .unwrap()
        .unwrap();
    let status = progress.status.as_str().to_string();
    (status, progress.attempts, progress.last_error)
}

// ---------------------------------------------------------------------------------------------
// Real servers

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_journey_by_replying_to_e_mails_through_postfix_and_dovecot() {
    for backend in backends() {
        // Arrange: Ventanilla reads its mailbox over IMAP and sends over SMTP.
        let service = unique_address("tramites", "ventanilla.test");
        let luz = unique_address("luz", "correo.test");
        let app = mail_app(backend, &service, true, None).await;
        let running = run_email(&app, true);

        // Act: a first message, then every answer as a reply written by a real client.
        let hello = first_message(
            &format!("{FROM_NAME} <{luz}>"),
            &service,
            "Cédula profesional",
            "Hola, quiero tramitar mi cédula profesional.",
        );
        smtp_send(&hello, &luz, &service).await;
        let mut last = wait_for_mail(&luz, 1).await.remove(0);
        let first = last.clone();
        let clients = [Client::Gmail, Client::Outlook, Client::AppleMail];
        let journey = journey();
        for (i, text) in journey.iter().enumerate() {
            let (raw, to) = answer(clients[i % 3], &luz, &last, text);
            smtp_send(&raw, &luz, &to).await;
            last = wait_for_mail(&luz, i + 2).await.pop().unwrap();
        }

        // Assert: the first answer threads, carries the token and no personal data.
        let reply_to = first.mail.reply_to.clone().unwrap();
        let (local, domain) = reply_to.split_once('@').unwrap();
        assert_eq!(domain, "ventanilla.test");
        let token = local.split_once('+').expect("Reply-To local+TOKEN").1;
        assert_eq!(token.len(), 24, "{backend:?}");
        assert_eq!(
            first.header("Auto-Submitted").as_deref(),
            Some("auto-replied")
        );
        assert_eq!(first.header("Content-Language").as_deref(), Some("es-MX"));
        assert!(first.mail.in_reply_to[0].starts_with("first."));
        assert!(first.mail.message_id.as_ref().unwrap().contains(token));
        assert_eq!(
            first.mail.subject, last.mail.subject,
            "one subject per case"
        );
        for personal in ["Luz", "PEGL", "luz."] {
            assert!(!last.mail.subject.contains(personal));
        }
        assert!(
            first.raw.windows(9).any(|w| w == b"text/html"),
            "an HTML alternative"
        );
        // The last e-mail confirms the appointment: Thursday 3 December at 9:30, with the
        // receipt and the invitation attached; the level's e-mail carried the payment sheets.
        let names = |m: &Received| -> Vec<String> {
            m.mail
                .attachments
                .iter()
                .filter_map(|a| a.name.clone())
                .collect()
        };
        let booked = names(&last);
        assert!(
            booked.iter().any(|n| n.starts_with("comprobante-cita-")),
            "{booked:?}"
        );
        assert!(booked.iter().any(|n| n.ends_with(".ics")), "{booked:?}");
        let all = wait_for_mail(&luz, journey.len() + 1).await;
        let sheets: Vec<String> = all.iter().flat_map(names).collect();
        assert!(
            sheets
                .iter()
                .filter(|n| n.starts_with("hoja-de-ayuda-"))
                .count()
                == 2,
            "{sheets:?}"
        );
        assert!(last.mail.text.contains("9:30"), "{}", last.mail.text);
        assert!(
            last.mail.text.contains("3 de diciembre"),
            "{}",
            last.mail.text
        );
        // The store: the case is booked; every message was read as an answer, history kept.
        let row = conversation(&app, &luz).await;
        let State::Tracking(Tracking { app: tracked }) = State::from_json(&row.state).unwrap()
        else {
            panic!("{backend:?}: not tracking: {}", row.state);
        };
        let mut reader = app.service.db.reader().await.unwrap();
        let view = store::applications::view(&mut reader.conn(), tracked.id)
            .await
            .unwrap()
            .unwrap();
        assert!(view.appointment.is_some(), "{backend:?}: no appointment");
        let records = inbound_records(&app).await;
        assert_eq!(records.len(), journey.len() + 1);
        assert!(records.iter().all(|r| r.disposition == "answered"));
        // Every reply's quoted history is kept (the first message's greeting too).
        assert!(
            records.iter().skip(1).all(|r| !r.quoted.is_empty()),
            "every reply's quoted history is kept"
        );
        running.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_mail_gets_no_answer_a_bounce_marks_the_address_and_a_double_delivery_one_answer()
{
    let backend = Backend::Sqlite;
    let service = unique_address("tramites", "ventanilla.test");
    let luz = unique_address("luz", "correo.test");
    let nobody = unique_address("nadie", "rebota.test");
    let app = mail_app(backend, &service, true, None).await;
    let running = run_email(&app, true);

    // The same message delivered twice: one answer.
    let hello = first_message(&luz, &service, "Hola", "Hola");
    smtp_send(&hello, &luz, &service).await;
    smtp_send(&hello, &luz, &service).await;
    let first = wait_for_mail(&luz, 1).await.remove(0);

    // Automatic mail from luz's address: out of office, with and without Auto-Submitted, and a
    // mailing list. None is answered; each is recorded as ignored with its reason.
    let automatic = [
        (
            "Auto-Submitted: auto-replied\r\n",
            "Respuesta automática: Tu trámite",
            "ooo-1",
        ),
        ("", "Fuera de la oficina", "ooo-2"),
        ("List-Id: <avisos.correo.test>\r\n", "Boletín", "list-1"),
    ];
    for (header, subject, id) in automatic {
        let raw = format!(
            "From: {luz}\r\nTo: {}\r\nSubject: {subject}\r\nMessage-ID: <{id}.{luz}>\r\n{header}\
             Content-Type: text/plain; charset=utf-8\r\n\r\nEstoy fuera hasta el lunes.\r\n",
            first.mail.reply_to.as_ref().unwrap()
        );
        smtp_send(raw.as_bytes(), &luz, first.mail.reply_to.as_ref().unwrap()).await;
    }
    // An applicant whose address bounces: Postfix accepts our answer, cannot deliver it, and
    // sends a delivery status notification back to our address.
    smtp_send(
        &first_message(&nobody, &service, "Hola", "Hola"),
        &nobody,
        &service,
    )
    .await;

    let mut marked = None;
    for _ in 0..600 {
        let records = inbound_records(&app).await;
        let ignored = records
            .iter()
            .filter(|r| r.disposition == "ignored")
            .count();
        let bounced = records.iter().any(|r| r.disposition == "bounce");
        if ignored == 3 && bounced {
            marked = Some(records);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let records = marked.expect("three ignored messages and a bounce recorded within 60 s");
    running.stop().await;

    let mut reasons: Vec<_> = records
        .iter()
        .filter(|r| r.disposition == "ignored")
        .map(|r| r.reason.clone().unwrap())
        .collect();
    reasons.sort();
    assert_eq!(reasons, ["auto_submitted", "mailing_list", "out_of_office"]);
    // One answer to luz: the double delivery and the automatic mail got none.
    let luz_conversation = conversation(&app, &luz).await;
    assert_eq!(outbox_templates(&app, luz_conversation.id).await.len(), 1);
    assert_eq!(support::mail::mailbox(&luz).await.len(), 1);
    // The bounce marked the address, on the case and in the audit trail.
    let nobody_conversation = conversation(&app, &nobody).await;
    let reason = nobody_conversation
        .unreachable_reason
        .expect("marked unreachable");
    assert!(reason.starts_with("bounce "), "{reason}");
    let mut reader = app.service.db.reader().await.unwrap();
    let events = store::audit::list(&mut reader.conn(), Some(nobody_conversation.id), None)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.event == "address_bounced"));
}

#[tokio::test]
async fn smtp_refusals_fail_with_the_reason_and_temporary_failures_are_retried() {
    let backend = Backend::Sqlite;
    let service = unique_address("tramites", "ventanilla.test");
    let app = mail_app(backend, &service, true, None).await;
    let refused = unique_address("x", "rechaza.test");
    let later = unique_address("x", "demora.test");
    for address in [&refused, &later] {
        let outcome = email::receive(
            &app.service,
            &first_message(address, &service, "Hola", "Hola"),
        )
        .await
        .unwrap();
        assert!(matches!(outcome, Outcome::Answered { .. }));
    }
    let worker = email_worker(&app);
    worker.try_execute_task().await.unwrap();
    worker.try_execute_task().await.unwrap();

    let refused_row = conversation(&app, &refused).await;
    let later_row = conversation(&app, &later).await;
    let (state, attempts, error) = first_outbox_status(&app, refused_row.id).await;
    assert_eq!((state.as_str(), attempts), ("failed", 1));
    assert_eq!(error.as_deref(), Some("SMTP 554"));
    let (state, attempts, error) = first_outbox_status(&app, later_row.id).await;
    assert_eq!((state.as_str(), attempts), ("pending", 1), "retried later");
    assert!(error.unwrap().contains("SMTP 451"));

    // A server that cannot be reached: retried later too.
    let unreachable = [("SMTP_URL".to_string(), "smtp://127.0.0.1:9".to_string())];
    let mut env = mail_env(&service, false);
    env.extend(unreachable);
    let app = spawn_app_env(backend, Some(NOW), None, &env).await;
    email::receive(
        &app.service,
        &first_message(&later, &service, "Hola", "Hola"),
    )
    .await
    .unwrap();
    email_worker(&app).try_execute_task().await.unwrap();
    let row = conversation(&app, &later).await;
    let (state, attempts, error) = first_outbox_status(&app, row.id).await;
    assert_eq!((state.as_str(), attempts), ("pending", 1));
    assert!(error.unwrap().contains("SMTP connection"));
}

// ---------------------------------------------------------------------------------------------
// Maildir, the MTA pipe and .eml files

/// Delivers `raw` to the app's Maildir inbox and reads it.
async fn through_maildir(app: &TestApp, raw: &[u8]) {
    let maildir = Maildir::open(app.data_dir.join("inbox")).unwrap();
    maildir.deliver(raw).unwrap();
    let scan = maildir.scan(&app.service).await.unwrap();
    assert_eq!((scan.received, scan.deferred), (1, 0));
    assert!(maildir.waiting().unwrap().is_empty());
}

#[tokio::test]
async fn the_mta_pipe_and_the_maildir_reach_the_same_result() {
    let service = unique_address("tramites", "ventanilla.test");
    let luz = unique_address("luz", "correo.test");
    let by_maildir = mail_app(Backend::Sqlite, &service, false, None).await;
    let mut by_pipe = mail_app(Backend::Sqlite, &service, false, None).await;
    // `mail receive` runs on VENTANILLA_NOW's running clock, so what it writes is due a moment
    // after NOW: this side's worker delivers it a minute later.
    let minute_later =
        chrono::DateTime::parse_from_rfc3339(NOW).unwrap() + chrono::Duration::minutes(1);
    by_pipe.service.clock = ventanilla::service::Clock::Fixed(minute_later.to_utc());
    let hello = first_message(&luz, &service, "Hola", "Hola, buenas tardes");
    let pipe_url = by_pipe.service.settings.database_url.clone();

    through_maildir(&by_maildir, &hello).await;
    assert_eq!(through_pipe(&by_pipe, &hello, &pipe_url).await, 0);
    for (i, text) in journey()[..6].iter().enumerate() {
        let client = [Client::Gmail, Client::Outlook, Client::AppleMail][i % 3];
        email_worker(&by_maildir).drain().await.unwrap();
        let last = written_mail(&by_maildir).pop().unwrap();
        through_maildir(&by_maildir, &answer(client, &luz, &last, text).0).await;
        email_worker(&by_pipe).drain().await.unwrap();
        let last = written_mail(&by_pipe).pop().unwrap();
        let code = through_pipe(&by_pipe, &answer(client, &luz, &last, text).0, &pipe_url).await;
        assert_eq!(code, 0);
    }

    let a = conversation(&by_maildir, &luz).await;
    let b = conversation(&by_pipe, &luz).await;
    assert_eq!(a.state, b.state);
    assert!(
        matches!(State::from_json(&a.state).unwrap(), State::Collecting(_)),
        "{}",
        a.state
    );
    assert_eq!(
        outbox_templates(&by_maildir, a.id).await,
        outbox_templates(&by_pipe, b.id).await
    );
    // Exit codes for the MTA: unusable data, and a database that is not there.
    assert_eq!(
        through_pipe(&by_pipe, b"\x00\x01 not a message", &pipe_url).await,
        65
    );
    assert_eq!(through_pipe(&by_pipe, b"", &pipe_url).await, 65);
    let down = "postgres://postgres@127.0.0.1:1/nothing";
    assert_eq!(through_pipe(&by_pipe, &hello, down).await, 75);
}

#[tokio::test]
async fn a_forged_from_without_the_token_changes_nothing() {
    let service = unique_address("tramites", "ventanilla.test");
    let luz = unique_address("luz", "correo.test");
    let app = mail_app(Backend::Sqlite, &service, false, None).await;
    through_maildir(&app, &first_message(&luz, &service, "Hola", "Hola")).await;
    email_worker(&app).drain().await.unwrap();
    let welcome = written_mail(&app).pop().unwrap();
    through_maildir(&app, &answer(Client::Gmail, &luz, &welcome, "sí").0).await;
    let before = conversation(&app, &luz).await;

    // Someone writes as luz, to our plain address, without the token; then with a made-up
    // In-Reply-To.
    let forged = first_message(&luz, &service, "Hola", "PEGL890909MJCRMS08");
    let outcome = email::receive(&app.service, &forged).await.unwrap();
    assert!(matches!(outcome, Outcome::Unthreaded { .. }), "{outcome:?}");
    let guessed = String::from_utf8(first_message(
        &luz,
        &service,
        "Re: Hola",
        "PEGL890909MJCRMS08",
    ))
    .unwrap()
    .replace(
        "Subject:",
        "In-Reply-To: <1.aaaaaaaaaaaaaaaaaaaaaaaa@ventanilla.test>\r\nSubject:",
    );
    let outcome = email::receive(&app.service, guessed.as_bytes())
        .await
        .unwrap();
    // Not threaded either; the notice of the first one is still waiting, so no second one.
    assert!(matches!(outcome, Outcome::NoticeHeld { .. }), "{outcome:?}");

    // The state did not move; the known address got the question again, with the token.
    let after = conversation(&app, &luz).await;
    assert_eq!(after.state, before.state);
    email_worker(&app).drain().await.unwrap();
    let sent = written_mail(&app);
    let told = sent.last().unwrap();
    assert_eq!(told.header("To").as_deref(), Some(luz.as_str()));
    assert_eq!(told.mail.reply_to, welcome.mail.reply_to);
    assert!(
        told.mail.text.contains("solo leo las respuestas"),
        "{}",
        told.mail.text
    );
    assert!(
        told.mail.text.contains("CURP"),
        "the current question: {}",
        told.mail.text
    );
    // The right token from another address starts that address's own case, not luz's.
    let ana = unique_address("ana", "correo.test");
    let (raw, _) = answer(Client::Outlook, &ana, &welcome, "PEGL890909MJCRMS08");
    let outcome = email::receive(&app.service, &raw).await.unwrap();
    let Outcome::Answered { conversation_id } = outcome else {
        panic!("{outcome:?}")
    };
    assert_ne!(conversation_id, before.id);
    assert_eq!(conversation(&app, &luz).await.state, before.state);
}

#[tokio::test]
async fn the_same_message_twice_is_answered_once() {
    let service = unique_address("tramites", "ventanilla.test");
    let luz = unique_address("luz", "correo.test");
    let app = mail_app(Backend::Sqlite, &service, false, None).await;
    let hello = first_message(&luz, &service, "Hola", "Hola");
    let first = email::receive(&app.service, &hello).await.unwrap();
    let second = email::receive(&app.service, &hello).await.unwrap();
    assert!(matches!(first, Outcome::Answered { .. }));
    assert_eq!(second, Outcome::Duplicate);
    // Without a Message-ID the raw bytes are the key.
    let anonymous = String::from_utf8(hello)
        .unwrap()
        .replace("Message-ID:", "X-Old-Id:");
    let outcome = email::receive(&app.service, anonymous.as_bytes())
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Unthreaded { .. }));
    assert_eq!(
        email::receive(&app.service, anonymous.as_bytes())
            .await
            .unwrap(),
        Outcome::Duplicate
    );
    let row = conversation(&app, &luz).await;
    assert_eq!(outbox_templates(&app, row.id).await.len(), 2);
    // Our own address writing to us is never answered (no loop with ourselves).
    let ours = first_message(&service, &service, "Hola", "Hola");
    assert_eq!(
        email::receive(&app.service, &ours).await.unwrap(),
        Outcome::Ignored("own_address")
    );
}

#[tokio::test]
async fn large_empty_and_attachment_only_messages_get_an_explanation() {
    let service = unique_address("tramites", "ventanilla.test");
    let luz = unique_address("luz", "correo.test");
    let config = "[mail]\nmax_message_bytes = 4000\n";
    let app = mail_app(Backend::Sqlite, &service, false, Some(config)).await;
    through_maildir(&app, &first_message(&luz, &service, "Hola", "Hola")).await;
    email_worker(&app).drain().await.unwrap();
    let welcome = written_mail(&app).pop().unwrap();
    let before = conversation(&app, &luz).await.state;

    let big = "x".repeat(5000);
    let (raw, _) = answer(Client::Gmail, &luz, &welcome, &big);
    let outcome = email::receive(&app.service, &raw).await.unwrap();
    assert!(matches!(outcome, Outcome::TooLarge { .. }), "{outcome:?}");
    let (raw, _) = answer(Client::AppleMail, &luz, &welcome, "");
    email::receive(&app.service, &raw).await.unwrap();

    assert_eq!(
        conversation(&app, &luz).await.state,
        before,
        "nothing moved"
    );
    email_worker(&app).drain().await.unwrap();
    let sent = written_mail(&app);
    let n = sent.len();
    assert!(
        sent[n - 2]
            .mail
            .text
            .contains("más grande de lo que puedo recibir")
    );
    assert!(
        sent[n - 1].mail.text.contains("mensaje vacío"),
        "{}",
        sent[n - 1].mail.text
    );
}

#[tokio::test]
async fn replies_to_one_address_stay_under_the_hourly_limit() {
    let service = unique_address("tramites", "ventanilla.test");
    let luz = unique_address("luz", "correo.test");
    let config = "[mail]\nmax_replies_per_hour = 2\n";
    let app = mail_app(Backend::Sqlite, &service, false, Some(config)).await;
    through_maildir(&app, &first_message(&luz, &service, "Hola", "Hola")).await;
    email_worker(&app).drain().await.unwrap();
    let welcome = written_mail(&app).pop().unwrap();
    through_maildir(&app, &answer(Client::Gmail, &luz, &welcome, "sí").0).await;
    through_maildir(&app, &answer(Client::Gmail, &luz, &welcome, "ayuda").0).await;

    email_worker(&app).drain().await.unwrap();

    assert_eq!(written_mail(&app).len(), 2, "two sent, the third waits");
    let row = conversation(&app, &luz).await;
    let mut reader = app.service.db.reader().await.unwrap();
    let rows = store::outbox::for_conversation(&mut reader.conn(), row.id)
        .await
        .unwrap();
    let statuses: Vec<&str> = rows.iter().map(|row| row.status.as_str()).collect();
    assert_eq!(statuses, ["sent", "sent", "pending"]);
}

/// Real servers: over IMAP, a message larger than allowed is fetched only up to the limit and
/// answered from its headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_fetches_a_large_message_only_up_to_the_limit() {
    let service = unique_address("tramites", "ventanilla.test");
    let app = mail_app(
        Backend::Sqlite,
        &service,
        true,
        Some("[mail]\nmax_message_bytes = 4096\n"),
    )
    .await;
    let running = run_email(&app, true);
    let luz = unique_address("luz", "correo.test");
    let large = first_message(&luz, &service, "Hola", &"Hola. ".repeat(5000));
    assert!(large.len() > 20_000);
    smtp_send(&large, &luz, &service).await;
    let answer = wait_for_mail(&luz, 1).await.remove(0);
    running.stop().await;
    assert!(
        answer
            .mail
            .text
            .contains("más grande de lo que puedo recibir"),
        "{}",
        answer.mail.text
    );
    let records = inbound_records(&app).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].disposition, "too_large");
    assert!(records[0].size <= 4097, "read {} bytes", records[0].size);
}

// ---------------------------------------------------------------------------------------------
// Writing habits (issue 10)

/// The answers of a polite writer's whole journey, after the first message: values inside
/// sentences, abbreviations and a two-digit year, each wrapped by the habit's greeting and
/// sign-off.
const POLITE_JOURNEY: [&str; 20] = [
    "1",
    "Mi CURP es PEGL890909MJCRMS08",
    "Sí, son correctos",
    "Luz María",
    "Pérez",
    "Gómez",
    "Lic.",
    "La llave de pago es AB12CD34EF",
    "Universidad de Guadalajara",
    "Licenciatura en Derecho",
    "Jal.",
    "15/03/15",
    "Exenta",
    "01/08/09",
    "30/06/13",
    "Sí",
    "Sí, está bien",
    "En la CDMX",
    "jue 3 dic",
    "9:30",
];

/// `template` (a fixture of `tests/fixtures/mail/habits/`) filled in as a reply to `message`.
fn habit_reply(template: &str, from: &str, message: &Received, answer: &str, n: usize) -> Vec<u8> {
    let html = template.contains("text/html");
    let quoted = if html {
        message
            .mail
            .text
            .lines()
            .map(|line| line.replace('&', "&amp;").replace('<', "&lt;"))
            .collect::<Vec<_>>()
            .join("<br>\n")
    } else {
        message
            .mail
            .text
            .lines()
            .map(|line| format!("> {line}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    template
        .replace("{{from}}", from)
        .replace(
            "{{to}}",
            message.mail.reply_to.as_deref().expect("a Reply-To"),
        )
        .replace("{{subject}}", &message.mail.subject)
        .replace("{{message_id}}", &format!("habit.{n}@correo.test"))
        .replace(
            "{{in_reply_to}}",
            message.mail.message_id.as_deref().expect("a Message-ID"),
        )
        .replace("{{answer}}", answer)
        .replace("{{quoted}}", &quoted)
        .replace('\n', "\r\n")
        .into_bytes()
}

#[tokio::test]
async fn polite_writers_reach_a_booked_appointment_through_mail_receive() {
    for habit in ["polite_plain", "outlook_mso", "outlook_mso_paragraphs"] {
        let template =
            std::fs::read_to_string(format!("tests/fixtures/mail/habits/{habit}.eml")).unwrap();
        let service = unique_address("tramites", "ventanilla.test");
        let luz = unique_address("luz", "correo.test");
        let mut app = mail_app(Backend::Sqlite, &service, false, None).await;
        // `mail receive` runs on VENTANILLA_NOW's running clock: deliver a minute later.
        let minute_later =
            chrono::DateTime::parse_from_rfc3339(NOW).unwrap() + chrono::Duration::minutes(1);
        app.service.clock = ventanilla::service::Clock::Fixed(minute_later.to_utc());
        let url = app.service.settings.database_url.clone();
        let hello = first_message(&luz, &service, "Hola", "Buenas tardes, quiero mi cédula");
        assert_eq!(through_pipe(&app, &hello, &url).await, 0);
        let mut before = conversation(&app, &luz).await.state;
        for (n, answer) in POLITE_JOURNEY.iter().enumerate() {
            email_worker(&app).drain().await.unwrap();
            let last = written_mail(&app).pop().unwrap();
            let raw = habit_reply(&template, &luz, &last, answer, n);
            assert_eq!(through_pipe(&app, &raw, &url).await, 0, "{habit}: {answer}");
            // Every answer is understood: the conversation moves on.
            let row = conversation(&app, &luz).await;
            assert_ne!(row.state, before, "{habit}: {answer:?} was not understood");
            before = row.state;
        }
        let row = conversation(&app, &luz).await;
        let State::Tracking(Tracking { app: tracked }) = State::from_json(&row.state).unwrap()
        else {
            panic!("{habit}: not booked: {}", row.state);
        };
        let mut reader = app.service.db.reader().await.unwrap();
        let view = store::applications::view(&mut reader.conn(), tracked.id)
            .await
            .unwrap()
            .unwrap();
        let appointment = view.appointment.expect("an appointment");
        assert_eq!(appointment.day.to_string(), "2026-12-03", "{habit}");
        let data = store::applications::data(&mut reader.conn(), tracked.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            data.academic.title_issued_on.to_string(),
            "2015-03-15",
            "{habit}"
        );
        assert_eq!(
            data.academic.studies_started_on.to_string(),
            "2009-08-01",
            "{habit}"
        );
        assert_eq!(data.payment_key.as_str(), "AB12CD34EF", "{habit}");
        assert_eq!(data.academic.entity.code(), "JC", "{habit}");
        assert_eq!(data.academic.level.key(), "licenciatura", "{habit}");
        assert_eq!(data.curp.as_str(), "PEGL890909MJCRMS08", "{habit}");
        // The greetings and sign-offs were kept with the quoted history, not lost.
        let records = inbound_records(&app).await;
        assert!(
            records.iter().all(|r| r.disposition == "answered"),
            "{habit}"
        );
        let signed = records.iter().filter(|r| r.quoted.contains("Luisa"));
        assert_eq!(
            signed.count(),
            POLITE_JOURNEY.len(),
            "{habit}: every sign-off is kept"
        );
    }
}
