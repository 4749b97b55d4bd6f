//! The office side and the documents: check-in, issuing the signed cédula (its PDF read back
//! with poppler, its QR code decoded, verification of the real and a tampered PDF, the public
//! page), rejection, and every refusal, from the library and from the command line.

mod support;

use std::process::Command;

use support::{Backend, TestApp, answers_to_review, backends, spawn_app, spawn_app_with};
use ventanilla::documents::signature::Signer;
use ventanilla::documents::{self, DocumentRef, Documents, SignedCedula, Verdict};
use ventanilla::service::OutgoingMessage;
use ventanilla::staff::{self, Refusal};
use ventanilla::store;

/// Takes `user` through the journey to a booked appointment; returns the folio.
async fn booked(app: &TestApp, user: &str, key: &str) -> String {
    for answer in answers_to_review(key) {
        app.say(user, &answer).await;
    }
    let submitted = app.say(user, "Enviar solicitud").await;
    for answer in ["1", "jue 3 dic", "9:30"] {
        app.say(user, answer).await;
    }
    let text = &submitted[0].text;
    let at = text.find("SOL-").expect("the folio is told");
    text[at..at + 15].to_string()
}

/// The clerk marks every item of the counter's checklist as seen.
async fn all_seen(app: &TestApp, folio: &str) {
    let changes: Vec<(String, bool)> = app
        .service
        .settings
        .console
        .checklist
        .iter()
        .map(|key| (key.clone(), true))
        .collect();
    let (_, items) = staff::counter::check(&app.service, None, folio, &changes)
        .await
        .unwrap()
        .unwrap();
    assert!(items.iter().all(|item| item.seen), "{items:?}");
}

fn documents(app: &TestApp) -> Documents {
    Documents::new(
        app.service.db.clone(),
        app.service.templates.clone(),
        &app.service.settings,
    )
}

async fn cedula_pdf(app: &TestApp, number: i64) -> Vec<u8> {
    documents(app)
        .render(&DocumentRef::Cedula { number })
        .await
        .unwrap()
        .bytes
}

/// The PDF's text, as poppler's pdftotext reads it.
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils; scripts/test.sh installs it)");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// The QR codes on the PDF's first page, decoded (rendered at 200 dpi by pdftoppm).
fn pdf_qr_codes(pdf: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "200", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&path)
        .arg(dir.path().join("page"))
        .status()
        .expect("pdftoppm (poppler-utils)");
    assert!(status.success());
    let image = image::open(dir.path().join("page.png")).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, content)| content))
        .collect()
}

#[tokio::test]
async fn issuing_a_cedula_signs_it_delivers_it_by_e_mail_and_it_verifies() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let signer = Signer::generate(&app.service.settings.signing_key).unwrap();
        let folio = booked(&app, "luz", "AB12CD34EF").await;

        // Refusals before the applicant came, and for a folio that does not exist.
        assert_eq!(
            staff::approve(&app.service, None, &signer, &folio)
                .await
                .unwrap(),
            Err(Refusal::NotAttended)
        );
        assert_eq!(
            staff::checkin(&app.service, None, "SOL-2026-999999")
                .await
                .unwrap(),
            Err(Refusal::UnknownFolio)
        );
        // The clerk may type the folio in lower case.
        let lower = folio.to_lowercase();
        assert_eq!(
            staff::checkin(&app.service, None, &lower).await.unwrap(),
            Ok(folio.clone())
        );
        assert_eq!(
            staff::checkin(&app.service, None, &folio).await.unwrap(),
            Err(Refusal::AlreadyAttended)
        );
        // Not before the counter saw every document; an item nobody configured is refused.
        assert_eq!(
            staff::approve(&app.service, None, &signer, &folio)
                .await
                .unwrap(),
            Err(Refusal::ChecklistIncomplete)
        );
        let unknown = [("passport_photo".to_string(), true)];
        assert_eq!(
            staff::counter::check(&app.service, None, &folio, &unknown)
                .await
                .unwrap(),
            Err(Refusal::UnknownItem)
        );
        let first = [("title_original".to_string(), true)];
        let (_, items) = staff::counter::check(&app.service, None, &folio, &first)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(items.iter().filter(|i| i.seen).count(), 1, "{items:?}");
        assert_eq!(
            staff::approve(&app.service, None, &signer, &folio)
                .await
                .unwrap(),
            Err(Refusal::ChecklistIncomplete),
            "one item seen is not all"
        );
        all_seen(&app, &folio).await;
        let issued = staff::approve(&app.service, None, &signer, &folio)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(issued.number, "00000001");
        assert_eq!(
            staff::approve(&app.service, None, &signer, &folio)
                .await
                .unwrap(),
            Err(Refusal::AlreadyIssued),
            "{backend:?}: never twice"
        );
        assert_eq!(
            staff::reject(&app.service, None, &folio, "x")
                .await
                .unwrap(),
            Err(Refusal::AlreadyIssued)
        );

        // The store: the registry row, the status, the audit trail, the notifications.
        let mut reader = app.service.db.reader().await.unwrap();
        let row = store::cedulas::by_number(&mut reader.conn(), 1)
            .await
            .unwrap()
            .unwrap();
        let case = store::cases::by_folio(&mut reader.conn(), &folio)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(case.status, ventanilla::domain::application::Status::Issued);
        assert!(row.cadena.starts_with("||2|00000001|"), "{}", row.cadena);
        assert!(
            row.cadena
                .ends_with("|http://127.0.0.1:8080/verificar/00000001||"),
            "the verification address is signed: {}",
            row.cadena
        );
        assert!(row.cadena.contains("PEGL890909MJCRMS08"));
        let events: Vec<String> = store::audit::list(&mut reader.conn(), None, Some(case.id))
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect();
        assert!(events.contains(&"checked_in".to_string()), "{events:?}");
        assert!(events.contains(&"cedula_issued".to_string()), "{events:?}");
        let outbox = store::outbox::for_conversation(&mut reader.conn(), case.conversation_id)
            .await
            .unwrap();
        drop(reader);
        let last_payload = &outbox.last().unwrap().payload;
        let email_row = outbox
            .iter()
            .rev()
            .map(|row| {
                (
                    row.id,
                    serde_json::from_str::<OutgoingMessage>(&row.payload).unwrap(),
                )
            })
            .find(|(_, m)| !m.attachments.is_empty())
            .expect("an e-mail with the cédula");
        assert_eq!(email_row.1.attachments, [DocumentRef::Cedula { number: 1 }]);
        assert_eq!(email_row.1.template, "cedula_issued");
        assert!(
            last_payload.contains("cedula_issued"),
            "a notice on the chat too"
        );

        // The PDF: its fields, its QR code, byte-identical when rendered again.
        let pdf = cedula_pdf(&app, 1).await;
        assert_eq!(pdf, cedula_pdf(&app, 1).await, "{backend:?}: reproducible");
        let text = pdf_text(&pdf);
        for field in [
            "00000001",
            "Luz María Pérez Gómez",
            "PEGL890909MJCRMS08",
            "Universidad de Guadalajara",
            "Licenciatura en Derecho",
            &folio,
            "Cadena original",
        ] {
            assert!(text.contains(field), "{field} not in:\n{text}");
        }
        let url = format!("{}/verificar/00000001", app.service.settings.public_url);
        assert_eq!(pdf_qr_codes(&pdf), [url]);

        // Verification: the real PDF, a tampered payload, another key, not a cédula.
        let key = signer.public_key();
        let renderer = documents(&app);
        let Verdict::Valid { signed } = documents::verify_pdf(&renderer, Some(&key), &pdf)
            .await
            .unwrap()
        else {
            panic!("{backend:?}: the issued PDF verifies");
        };
        assert_eq!(signed.number.to_string(), "00000001");
        assert_eq!(signed.full_name(), "Luz María Pérez Gómez");
        let mut tampered = row.clone();
        let mut signed: ventanilla::domain::cedula::CedulaPayload =
            serde_json::from_str(&row.payload).unwrap();
        signed.institution = "Universidad Falsa".into();
        tampered.payload = serde_json::to_string(&signed).unwrap();
        let forged = documents(&app).cedula(&tampered).unwrap().bytes;
        let verdict = |bytes: Vec<u8>, key: Option<String>| {
            let renderer = renderer.clone();
            async move {
                documents::verify_pdf(&renderer, key.as_deref(), &bytes)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            verdict(forged, Some(key.clone())).await,
            Verdict::Invalid {
                reason: "signature_mismatch",
                signed: None
            }
        );
        let other = Signer::generate(&app.data_dir.join("other.key")).unwrap();
        assert_eq!(
            verdict(pdf.clone(), Some(other.public_key())).await,
            Verdict::Invalid {
                reason: "foreign_key",
                signed: None
            }
        );
        assert_eq!(
            verdict(b"%PDF-1.7 nothing".to_vec(), None).await,
            Verdict::Invalid {
                reason: "no_signed_payload",
                signed: None
            }
        );
        let attached = documents::pdf::attachment(&pdf, "cedula.json")
            .unwrap()
            .unwrap();
        let signed: SignedCedula = serde_json::from_slice(&attached).unwrap();
        assert_eq!(signed.public_key, key);
    }
}

#[tokio::test]
async fn a_rejection_tells_the_applicant_why_and_closes_the_case() {
    let app = spawn_app(Backend::Sqlite).await;
    let signer = Signer::generate(&app.service.settings.signing_key).unwrap();
    let folio = booked(&app, "ana", "ZZ11YY22XX").await;

    assert_eq!(
        staff::reject(&app.service, None, &folio, "   ")
            .await
            .unwrap(),
        Err(Refusal::ReasonRequired)
    );
    let reason = "El título no coincide con el programa registrado";
    assert_eq!(
        staff::reject(&app.service, None, &folio, reason)
            .await
            .unwrap(),
        Ok(folio.clone())
    );
    assert_eq!(
        staff::approve(&app.service, None, &signer, &folio)
            .await
            .unwrap(),
        Err(Refusal::Rejected)
    );
    assert_eq!(
        staff::checkin(&app.service, None, &folio).await.unwrap(),
        Err(Refusal::Rejected)
    );
    let told = app.outbox("ana").await;
    let (_, last) = told.last().unwrap();
    assert_eq!(last.template, "application_rejected");
    assert!(
        last.text.contains(reason) && last.text.contains(&folio),
        "{}",
        last.text
    );
    // The seat was given back.
    let mut reader = app.service.db.reader().await.unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
    assert_eq!(
        store::appointments::active_count(&mut reader.conn(), "dgp-cdmx", day)
            .await
            .unwrap(),
        0
    );
}

fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ventanilla"))
        .args(args)
        .env_clear()
        .env("DATABASE_URL", &app.service.settings.database_url)
        .env("VENTANILLA_DATA_DIR", &app.data_dir)
        .env("VENTANILLA_NOW", support::NOW)
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_staff_commands_and_verify_on_the_command_line() {
    let app = spawn_app(Backend::Sqlite).await;
    let folio = booked(&app, "eva", "QQ11YY22XX").await;

    let keygen = cli(&app, &["staff", "keygen"]);
    assert!(keygen.status.success(), "{keygen:?}");
    let again = cli(&app, &["staff", "keygen"]);
    assert!(!again.status.success(), "an existing key is never replaced");

    let agenda = cli(&app, &["staff", "agenda", "--date", "2026-12-03"]);
    let listed = String::from_utf8_lossy(&agenda.stdout);
    assert!(
        listed.contains(&folio) && listed.contains("09:30"),
        "{listed}"
    );
    assert!(listed.contains("Eva") || listed.contains("Luz"), "{listed}");

    let early = cli(&app, &["staff", "approve", &folio]);
    assert_eq!(early.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&early.stderr).contains("asistencia"));
    let unknown = cli(&app, &["staff", "checkin", "SOL-2026-424242"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("No existe"));
    assert!(cli(&app, &["staff", "checkin", &folio]).status.success());
    let incomplete = cli(&app, &["staff", "approve", &folio]);
    assert_eq!(incomplete.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&incomplete.stderr).contains("revisados"));
    let partly = cli(
        &app,
        &["staff", "checklist", &folio, "--seen", "title_original"],
    );
    let listed = String::from_utf8_lossy(&partly.stdout);
    assert!(partly.status.success(), "{partly:?}");
    assert!(
        listed.contains("[x] T\u{ed}tulo original")
            && listed.contains("[ ] Copias del t\u{ed}tulo"),
        "{listed}"
    );
    let typo = cli(&app, &["staff", "checklist", &folio, "--seen", "titulo"]);
    assert_eq!(typo.status.code(), Some(1), "{typo:?}");
    let all = "title_original,title_copies,payment_receipts,identification";
    assert!(
        cli(&app, &["staff", "checklist", &folio, "--seen", all])
            .status
            .success()
    );
    let approved = cli(&app, &["staff", "approve", &folio]);
    assert!(approved.status.success(), "{approved:?}");
    assert!(String::from_utf8_lossy(&approved.stdout).contains("00000001"));

    let pdf = cedula_pdf(&app, 1).await;
    let path = app.data_dir.join("cedula.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let valid = cli(&app, &["verify", path.to_str().unwrap()]);
    assert!(valid.status.success());
    let printed = String::from_utf8_lossy(&valid.stdout);
    assert!(printed.starts_with("VALID"), "{printed}");
    // The holder as signed, beside the verdict.
    for field in [
        "Titular:     Luz María Pérez Gómez",
        "Cédula:      00000001",
        "Nivel:       Licenciatura",
        "Programa:    Licenciatura en Derecho",
        "Institución: Universidad de Guadalajara",
    ] {
        assert!(printed.contains(field), "{field} not in: {printed}");
    }
    let junk = app.data_dir.join("junk.pdf");
    std::fs::write(&junk, b"%PDF-1.4 not a cedula").unwrap();
    let invalid = cli(&app, &["verify", junk.to_str().unwrap()]);
    assert_eq!(invalid.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&invalid.stdout).starts_with("INVALID"));
}

/// Serves `app` over HTTP in this process; returns its port and what stops it.
async fn serve_http(
    app: &TestApp,
) -> (
    u16,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = ventanilla::http::AppState {
        service: app.service.clone(),
        delivery: Default::default(),
        telegram_webhook: None,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ventanilla::http::serve(listener, state, async {
        let _ = stopped.await;
    }));
    (port, stop, server)
}

/// One GET from the local address `from` (any 127.x.y.z is this machine), with extra header
/// lines; the whole response.
async fn http_get(port: u16, from: &str, path: &str, headers: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let mut stream = socket
        .connect(format!("127.0.0.1:{port}").parse().unwrap())
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let read = stream.read_to_end(&mut response);
    tokio::time::timeout(std::time::Duration::from_secs(30), read)
        .await
        .expect("the server answers")
        .unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

/// The value of `name` in a raw HTTP response, if present.
fn response_header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next().unwrap_or("");
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then_some(value.trim())
    })
}

fn assert_security_headers(response: &str) {
    assert_eq!(
        response_header(response, "x-content-type-options"),
        Some("nosniff"),
        "{response}"
    );
    let policy = response_header(response, "content-security-policy").unwrap_or_default();
    assert!(
        policy.contains("frame-ancestors 'none'") && policy.contains("default-src 'none'"),
        "{response}"
    );
    assert_eq!(
        response_header(response, "referrer-policy"),
        Some("no-referrer"),
        "{response}"
    );
}

#[tokio::test]
async fn the_verification_page_publishes_what_the_registry_does_and_no_more() {
    let app = spawn_app(Backend::Sqlite).await;
    let signer = Signer::generate(&app.service.settings.signing_key).unwrap();
    let folio = booked(&app, "ivan", "PP11YY22XX").await;
    staff::checkin(&app.service, None, &folio)
        .await
        .unwrap()
        .unwrap();
    all_seen(&app, &folio).await;
    staff::approve(&app.service, None, &signer, &folio)
        .await
        .unwrap()
        .unwrap();

    let (port, stop, server) = serve_http(&app).await;
    let get = |path: &'static str| http_get(port, "127.0.0.1", path, "");
    let page = get("/verificar/00000001").await;
    let missing = get("/verificar/00000999").await;
    let garbage = get("/verificar/abc").await;
    let key = get("/clave-publica").await;
    let unknown = get("/nothing-here").await;
    let health = get("/healthz").await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();

    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    for shown in [
        "Cédula válida",
        "00000001",
        "Luz María Pérez Gómez",
        "Licenciatura",
        "Licenciatura en Derecho",
        "Universidad de Guadalajara",
        "30 de noviembre de 2026",
        "Vigente",
    ] {
        assert!(page.contains(shown), "{shown} not on the page: {page}");
    }
    // Not the CURP, whole or in part, nor the folio or the cadena (which holds the CURP).
    for hidden in ["PEGL890909MJCRMS08", "PEGL", "MJCRMS08", &folio, "||2|"] {
        assert!(!page.contains(hidden), "{hidden} on the page: {page}");
    }
    assert!(missing.starts_with("HTTP/1.1 404") && missing.contains("No encontramos"));
    assert!(garbage.starts_with("HTTP/1.1 404"));
    assert!(key.contains(&signer.public_key()), "{key}");
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
    // Answered (503 only because no delivery worker beats here).
    assert!(health.contains(r#""database":"ok""#), "{health}");
    for response in [&page, &missing, &key, &unknown, &health] {
        assert_security_headers(response);
    }
}

#[tokio::test]
async fn counting_through_the_numbers_is_rate_limited_per_address() {
    // A burst of 3, then one a minute: the requests below come far faster than that.
    let config = "[http]\nrate_limit_burst = 3\nrate_limit_per_minute = 1\n";
    let app = spawn_app_with(Backend::Sqlite, Some(support::NOW), Some(config)).await;
    let (port, stop, server) = serve_http(&app).await;

    let mut answers = Vec::new();
    for n in 1..=20 {
        let path = format!("/verificar/{n:08}");
        let response = http_get(port, "127.0.0.1", &path, "").await;
        let limited = response.starts_with("HTTP/1.1 429");
        answers.push(response);
        if limited {
            break;
        }
    }
    let limited = answers.last().unwrap().clone();
    // Another address is not affected; claiming to be another one is not believed (no proxy
    // is configured); /healthz is never limited.
    let neighbour = http_get(port, "127.0.0.2", "/verificar/00000001", "").await;
    let spoofed = http_get(
        port,
        "127.0.0.1",
        "/clave-publica",
        "X-Forwarded-For: 203.0.113.9\r\n",
    )
    .await;
    let health = http_get(port, "127.0.0.1", "/healthz", "").await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();

    for early in &answers[..3] {
        assert!(early.starts_with("HTTP/1.1 404"), "{early}");
    }
    assert!(
        limited.starts_with("HTTP/1.1 429"),
        "no 429 after {} requests: {limited}",
        answers.len()
    );
    assert!(limited.contains("Demasiadas consultas"), "{limited}");
    assert!(
        response_header(&limited, "retry-after").is_some(),
        "{limited}"
    );
    assert_security_headers(&limited);
    assert!(neighbour.starts_with("HTTP/1.1 404"), "{neighbour}");
    assert!(spoofed.starts_with("HTTP/1.1 429"), "{spoofed}");
    assert!(health.contains(r#""database":"ok""#), "{health}");
}

/// The stream of the file embedded in `pdf` (its only `/EmbeddedFile`) replaced by `stream`.
fn with_attachment(pdf: &[u8], stream: lopdf::Stream) -> Vec<u8> {
    let mut doc = lopdf::Document::load_mem(pdf).unwrap();
    let ids: Vec<lopdf::ObjectId> = doc
        .objects
        .iter()
        .filter(|(_, object)| {
            object
                .as_stream()
                .is_ok_and(|s| s.dict.has_type(b"EmbeddedFile"))
        })
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(ids.len(), 1, "one embedded file");
    let mut stream = stream;
    stream
        .dict
        .set("Type", lopdf::Object::Name(b"EmbeddedFile".to_vec()));
    doc.objects.insert(ids[0], lopdf::Object::Stream(stream));
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

#[tokio::test]
async fn a_genuine_payload_in_a_page_showing_someone_else_does_not_verify() {
    let app = spawn_app(Backend::Sqlite).await;
    let signer = Signer::generate(&app.service.settings.signing_key).unwrap();
    let folio = booked(&app, "luz", "FF11YY22XX").await;
    staff::checkin(&app.service, None, &folio)
        .await
        .unwrap()
        .unwrap();
    all_seen(&app, &folio).await;
    staff::approve(&app.service, None, &signer, &folio)
        .await
        .unwrap()
        .unwrap();
    let genuine = cedula_pdf(&app, 1).await;
    let attached = documents::pdf::attachment(&genuine, "cedula.json")
        .unwrap()
        .unwrap();

    // A page rendered for someone else (any content: its own signature does not matter),
    // carrying the genuine signed payload.
    let mut reader = app.service.db.reader().await.unwrap();
    let row = store::cedulas::by_number(&mut reader.conn(), 1)
        .await
        .unwrap()
        .unwrap();
    drop(reader);
    let mut other: ventanilla::domain::cedula::CedulaPayload =
        serde_json::from_str(&row.payload).unwrap();
    other.given_names = "Ana Forjada".into();
    other.program = "Medicina".into();
    let mut forged_row = row.clone();
    forged_row.payload = serde_json::to_string(&other).unwrap();
    let forged_page = documents(&app).cedula(&forged_row).unwrap().bytes;
    let forged = with_attachment(
        &forged_page,
        lopdf::Stream::new(lopdf::Dictionary::new(), attached.clone()),
    );
    assert!(pdf_text(&forged).contains("Ana Forjada"));
    assert_eq!(
        documents::pdf::attachment(&forged, "cedula.json")
            .unwrap()
            .unwrap(),
        attached,
        "the forgery carries the genuine payload"
    );
    // Even the genuine page, rewritten (same content, other bytes), is not the issued PDF.
    let rewritten = with_attachment(
        &genuine,
        lopdf::Stream::new(lopdf::Dictionary::new(), attached.clone()),
    );

    let key = signer.public_key();
    let renderer = documents(&app);
    let Verdict::Invalid { reason, signed } = documents::verify_pdf(&renderer, Some(&key), &forged)
        .await
        .unwrap()
    else {
        panic!("a forged page verifies");
    };
    assert_eq!(reason, "page_differs");
    let signed = signed.expect("the signed payload is reported");
    assert_eq!(signed.full_name(), "Luz María Pérez Gómez");
    assert!(matches!(
        documents::verify_pdf(&renderer, Some(&key), &rewritten)
            .await
            .unwrap(),
        Verdict::Invalid {
            reason: "page_differs",
            ..
        }
    ));

    // On the command line: the verdict, its reason and what the signature really certifies.
    let path = app.data_dir.join("forged.pdf");
    std::fs::write(&path, &forged).unwrap();
    let out = cli(&app, &["verify", path.to_str().unwrap()]);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{printed}");
    assert!(printed.starts_with("INVALID"), "{printed}");
    assert!(
        printed.contains("la página del PDF no es la que expidió"),
        "{printed}"
    );
    for field in [
        "Luz María Pérez Gómez",
        "00000001",
        "Licenciatura",
        "Licenciatura en Derecho",
        "Universidad de Guadalajara",
    ] {
        assert!(printed.contains(field), "{field} not in: {printed}");
    }
    assert!(!printed.contains("Ana Forjada"), "{printed}");
}

#[tokio::test]
async fn an_attachment_that_inflates_without_end_is_refused_within_a_cap() {
    let app = spawn_app(Backend::Sqlite).await;
    let signer = Signer::generate(&app.service.settings.signing_key).unwrap();
    let folio = booked(&app, "bomba", "BB11YY22XX").await;
    staff::checkin(&app.service, None, &folio)
        .await
        .unwrap()
        .unwrap();
    all_seen(&app, &folio).await;
    staff::approve(&app.service, None, &signer, &folio)
        .await
        .unwrap()
        .unwrap();
    let genuine = cedula_pdf(&app, 1).await;
    // 64 MiB of spaces, deflated to some 64 kB: the attachment of a "cédula".
    let mut bomb = lopdf::Stream::new(lopdf::Dictionary::new(), vec![b' '; 64 << 20]);
    bomb.compress().unwrap();
    assert!(bomb.content.len() < 1 << 20);
    let hostile = with_attachment(&genuine, bomb);

    assert_eq!(
        documents::pdf::attachment(&hostile, "cedula.json"),
        Err(documents::pdf::AttachmentError::TooLarge)
    );
    assert_eq!(
        documents::verify_pdf(&documents(&app), Some(&signer.public_key()), &hostile)
            .await
            .unwrap(),
        Verdict::Invalid {
            reason: "too_large",
            signed: None
        }
    );
}

/// The attachments queued for `user` so far, in order.
async fn attachments(app: &TestApp, user: &str) -> Vec<DocumentRef> {
    app.outbox(user)
        .await
        .into_iter()
        .flat_map(|(_, message)| message.attachments)
        .collect()
}

/// The properties of an iCalendar text's calendar and of its one event, as parsed by the
/// icalendar crate's parser.
type Properties = Vec<(String, String)>;

fn ics_properties(text: &str) -> (Properties, Properties) {
    let unfolded = icalendar::parser::unfold(text);
    let calendar = icalendar::parser::read_calendar(&unfolded)
        .unwrap_or_else(|e| panic!("not a valid iCalendar ({e}):\n{text}"));
    let pairs = |props: &[icalendar::parser::Property<'_>]| {
        props
            .iter()
            .map(|p| (p.name.as_str().to_string(), p.val.as_str().to_string()))
            .collect::<Vec<_>>()
    };
    let events: Vec<_> = calendar
        .components
        .iter()
        .filter(|c| c.name.as_str() == "VEVENT")
        .collect();
    assert_eq!(events.len(), 1);
    (pairs(&calendar.properties), pairs(&events[0].properties))
}

fn value<'a>(props: &'a [(String, String)], name: &str) -> &'a str {
    props
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {props:?}"))
}

#[tokio::test]
async fn every_document_is_rendered_from_records_readable_and_reproducible() {
    let app = spawn_app(Backend::Sqlite).await;
    let folio = booked(&app, "olga", "OL11YY22XX").await;
    let docs = documents(&app);

    let sent = attachments(&app, "olga").await;
    assert_eq!(
        sent.len(),
        5,
        "two payment sheets, the request, the receipt, the invite: {sent:?}"
    );
    let mut rendered = Vec::new();
    for document in &sent {
        let first = docs.render(document).await.unwrap();
        let again = docs.render(document).await.unwrap();
        assert_eq!(
            first, again,
            "{document:?} is byte-identical when rendered again"
        );
        rendered.push(first);
    }
    let names: Vec<&str> = rendered.iter().map(|r| r.file_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "hoja-de-ayuda-registration.pdf".to_string(),
            "hoja-de-ayuda-cotejo.pdf".to_string(),
            format!("solicitud-{folio}.pdf"),
            format!("comprobante-cita-{folio}.pdf"),
            format!("cita-{folio}.ics"),
        ]
    );

    let sheet = pdf_text(&rendered[0].bytes);
    for field in [
        "0141",
        "0014100000000",
        "PEGL890909MJCRMS08",
        "Luz María Pérez Gómez",
        "Licenciatura",
    ] {
        assert!(
            sheet.contains(field),
            "{field} not in the payment sheet:\n{sheet}"
        );
    }
    assert!(sheet.contains("Secretaría de Educación Pública"));
    let cotejo = pdf_text(&rendered[1].bytes);
    assert!(
        cotejo.contains("por confirmar"),
        "unknown fees stay unknown:\n{cotejo}"
    );
    let request = pdf_text(&rendered[2].bytes);
    for field in [
        &folio,
        "PEGL890909MJCRMS08",
        "Universidad de Guadalajara",
        "luz@example.mx",
        "Jalisco",
    ] {
        assert!(
            request.contains(field),
            "{field} not in the request:\n{request}"
        );
    }
    let receipt = pdf_text(&rendered[3].bytes);
    for field in [
        &folio,
        "Luz María Pérez Gómez",
        "Viaducto Río de la Piedad",
        "3 de diciembre",
        "09:30",
        "título original",
    ] {
        assert!(
            receipt.contains(field),
            "{field} not in the receipt:\n{receipt}"
        );
    }

    // The invitation: 9:30 in Mexico City is 15:30 UTC.
    let ics = String::from_utf8(rendered[4].bytes.clone()).unwrap();
    let (calendar, event) = ics_properties(&ics);
    assert_eq!(value(&calendar, "METHOD"), "REQUEST");
    assert_eq!(value(&event, "DTSTART"), "20261203T153000Z");
    assert_eq!(value(&event, "DTEND"), "20261203T160000Z");
    assert_eq!(value(&event, "SEQUENCE"), "0");
    assert!(value(&event, "LOCATION").contains("Viaducto Río de la Piedad"));
    let uid = value(&event, "UID").to_string();

    // Rescheduling updates the same event with a higher SEQUENCE; cancelling sends CANCEL.
    app.say("olga", "cambiar mi cita").await;
    app.say("olga", "1").await;
    app.say("olga", "2").await;
    app.say("olga", "10:00").await;
    app.say("olga", "cancelar").await;
    app.say("olga", "sí").await;
    let sent = attachments(&app, "olga").await;
    let moved = docs.render(&sent[sent.len() - 2]).await.unwrap();
    let (calendar, event) = ics_properties(std::str::from_utf8(&moved.bytes).unwrap());
    assert_eq!(value(&calendar, "METHOD"), "REQUEST");
    assert_eq!(value(&event, "UID"), uid);
    assert_eq!(value(&event, "SEQUENCE"), "2");
    assert_eq!(value(&event, "DTSTART"), "20261204T160000Z");
    let cancelled = docs.render(sent.last().unwrap()).await.unwrap();
    let (calendar, event) = ics_properties(std::str::from_utf8(&cancelled.bytes).unwrap());
    assert_eq!(value(&calendar, "METHOD"), "CANCEL");
    assert_eq!(value(&event, "UID"), uid);
    assert_eq!(value(&event, "SEQUENCE"), "3");
    assert_eq!(value(&event, "STATUS"), "CANCELLED");
}

#[tokio::test]
async fn the_chat_writes_documents_and_lists_their_paths() {
    let app = spawn_app(Backend::Sqlite).await;
    let answers = answers_to_review("CH11YY22XX");
    let mut input = answers[..8].join("\n");
    input.push('\n');
    let mut output = Vec::new();
    ventanilla::channels::terminal::run(
        &app.service,
        "chat-user",
        true,
        tokio::io::BufReader::new(input.as_bytes()),
        &mut output,
    )
    .await
    .unwrap();
    let lines: Vec<ventanilla::channels::terminal::JsonTurn> = String::from_utf8(output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let level_turn = &lines[7];
    let files: Vec<_> = level_turn
        .replies
        .iter()
        .flat_map(|r| &r.attachments)
        .collect();
    assert_eq!(files.len(), 2, "{:?}", level_turn.replies);
    for file in files {
        let bytes = std::fs::read(&file.path).unwrap();
        assert!(bytes.starts_with(b"%PDF"), "{}", file.path);
        assert!(file.path.starts_with(app.data_dir.to_str().unwrap()));
    }
}

#[tokio::test]
async fn reenviar_sends_every_document_again() {
    let app = spawn_app(Backend::Sqlite).await;
    let signer = Signer::generate(&app.service.settings.signing_key).unwrap();
    let folio = booked(&app, "pia", "PI11YY22XX").await;
    staff::checkin(&app.service, None, &folio)
        .await
        .unwrap()
        .unwrap();
    all_seen(&app, &folio).await;
    staff::approve(&app.service, None, &signer, &folio)
        .await
        .unwrap()
        .unwrap();

    let delivered = app.say("pia", "reenviar").await;

    // The notice of issuance (queued by the office) goes first, then the answer.
    let templates: Vec<&str> = delivered.iter().map(|m| m.template.as_str()).collect();
    assert_eq!(templates, ["cedula_issued", "documents_resent", "status"]);
    let kinds: Vec<String> = delivered[1]
        .attachments
        .iter()
        .map(|d| {
            serde_json::to_value(d).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        ["request", "appointment_receipt", "invite", "cedula"]
    );
}
