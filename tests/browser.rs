//! The console in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`,
//! installed by `scripts/test.sh`) driven through WebDriver with fantoccini, against the
//! service's own HTTP server on a local port. Screenshots of each page go to
//! `target/screenshots/` (1366×768, the office PC's screen).

mod support;

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use support::console::{PASSWORD, booked};
use support::spawn_app;
use ventanilla::domain::staff::Role;
use ventanilla::http::{AppState, router};
use ventanilla::service::{Clock, Service};
use ventanilla::staff::accounts;

/// `chromedriver` on a free port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_driver() -> Driver {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian's chromium-driver; scripts/test.sh installs it)");
    // Owned by the guard from here: killed and waited for however the test ends.
    let driver = Driver { child, port };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start listening");
}

async fn browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1366,768", "--lang=es-MX"],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session")
}

/// The service's HTTP server on a free local port; returns its base URL.
async fn serve(service: Service) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let rules = service.settings.http.clone();
    let app = router(AppState {
        service,
        delivery: Arc::default(),
        telegram_webhook: None,
    });
    tokio::spawn(async move {
        ventanilla::http::server::run(listener, app, &rules, std::future::pending()).await
    });
    base
}

/// Waits until the browser is at `base` + `path` (a click's navigation may finish after the
/// click returns; reading the page before would read the old one).
async fn arrived(client: &Client, base: &str, path: &str) {
    let url = url::Url::parse(&format!("{base}{path}")).unwrap();
    client.wait().for_url(&url).await.unwrap();
}

/// Clicks the submit button whose text is `text` and waits for the page the form leads to: the
/// page before the click is marked, so a check that follows never reads the old page while the
/// browser is still submitting (a POST answered at the same address would pass `arrived` early).
async fn button(client: &Client, text: &str) {
    let xpath = format!("//button[normalize-space(.)='{text}']");
    let found = client.find(Locator::XPath(&xpath)).await.unwrap();
    client
        .execute(
            "document.documentElement.setAttribute('data-before-click', '')",
            vec![],
        )
        .await
        .unwrap();
    found.click().await.unwrap();
    client
        .wait()
        .for_element(Locator::Css("html:not([data-before-click])"))
        .await
        .unwrap();
}

async fn screenshot(client: &Client, name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

#[tokio::test]
async fn a_clerk_logs_in_finds_todays_applicant_and_logs_out() {
    let app = spawn_app(support::Backend::Sqlite).await;
    accounts::add_user(
        &app.service,
        None,
        "ana",
        Role::Clerk,
        Some("dgp-cdmx"),
        Some(PASSWORD),
    )
    .await
    .unwrap()
    .unwrap();
    booked(&app, "luz", "B123456789").await;
    ventanilla::documents::signature::Signer::generate(&app.service.settings.signing_key).unwrap();
    // The office opens on the day of the appointment.
    let mut office_day = app.service.clone();
    office_day.clock = Clock::Fixed("2026-12-03T09:05:00-06:00".parse().unwrap());
    let base = serve(office_day).await;

    let driver = start_driver().await;
    let client = browser(&driver).await;
    client
        .goto(&format!("{base}/oficina/agenda"))
        .await
        .unwrap();
    // Without a session the agenda leads to the login form.
    assert_eq!(
        client.current_url().await.unwrap().path(),
        "/oficina/entrar"
    );
    assert_eq!(client.title().await.unwrap(), "Entrar \u{b7} Ventanilla");
    screenshot(&client, "01-login").await;

    // A wrong password is refused with an explanation.
    let form = client
        .form(Locator::Css("form[method=post]"))
        .await
        .unwrap();
    form.set_by_name("username", "ana").await.unwrap();
    form.set_by_name("password", "no es la clave")
        .await
        .unwrap();
    form.submit().await.unwrap();
    let alert = client
        .wait()
        .for_element(Locator::Css("[role=alert]"))
        .await
        .unwrap();
    assert!(alert.text().await.unwrap().contains("no son correctos"));
    screenshot(&client, "02-login-refused").await;

    // With the keyboard: the name is kept, the password typed, Enter submits.
    let password = client.find(Locator::Id("password")).await.unwrap();
    password
        .send_keys(&format!("{PASSWORD}\u{e007}"))
        .await
        .unwrap();
    client
        .wait()
        .for_url(&url::Url::parse(&format!("{base}/oficina/agenda")).unwrap())
        .await
        .unwrap();
    let heading = client
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        heading.starts_with("Agenda del jueves 3 de diciembre"),
        "{heading}"
    );
    let table = client
        .find(Locator::Css("table"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(table.contains("SOL-2026-000001"), "{table}");
    assert!(
        table.contains("Luz Mar\u{ed}a P\u{e9}rez G\u{f3}mez"),
        "{table}"
    );
    assert!(table.contains("agendada"), "{table}");
    screenshot(&client, "03-agenda").await;

    // The case: search by folio from the header, register the arrival, approve with its
    // confirmation; the cédula's e-mail is then in the outbox.
    let search = client.find(Locator::Id("q")).await.unwrap();
    search.send_keys("sol-2026-000001\u{e007}").await.unwrap();
    client
        .wait()
        .for_url(&url::Url::parse(&format!("{base}/oficina/casos/SOL-2026-000001")).unwrap())
        .await
        .unwrap();
    let main = client
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        main.contains("PEGL890909MJCRMS08") && main.contains("agendada"),
        "{main}"
    );
    assert!(
        main.contains("recibido") && main.contains("enviado"),
        "the timeline: {main}"
    );
    screenshot(&client, "06-case").await;
    button(&client, "Registrar llegada").await;
    arrived(
        &client,
        &base,
        "/oficina/casos/SOL-2026-000001?hecho=llegada",
    )
    .await;
    let status = client.find(Locator::Css("[role=status]")).await.unwrap();
    assert_eq!(status.text().await.unwrap(), "Llegada registrada.");
    // Today's page now counts her as arrived and waiting for a decision.
    client.goto(&format!("{base}/oficina/hoy")).await.unwrap();
    let waiting = client
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(waiting.contains("SOL-2026-000001"), "{waiting}");
    screenshot(&client, "06b-today").await;
    client
        .find(Locator::LinkText("SOL-2026-000001"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrived(&client, &base, "/oficina/casos/SOL-2026-000001").await;
    // The counter's checklist: each item's label ticks its box.
    for key in [
        "title_original",
        "title_copies",
        "payment_receipts",
        "identification",
    ] {
        client
            .find(Locator::Css(&format!("label[for=visto-{key}]")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    screenshot(&client, "06c-checklist").await;
    button(&client, "Guardar la revisi\u{f3}n de documentos").await;
    arrived(
        &client,
        &base,
        "/oficina/casos/SOL-2026-000001?hecho=documentos",
    )
    .await;
    let saved = client
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        saved.contains("Revisi\u{f3}n de documentos guardada."),
        "{saved}"
    );
    assert_eq!(saved.matches("(revisado ").count(), 4, "{saved}");
    button(&client, "Aprobar y expedir la c\u{e9}dula").await;
    // A GET form without fields leaves an empty query.
    arrived(&client, &base, "/oficina/casos/SOL-2026-000001/aprobar?").await;
    assert_eq!(
        client
            .find(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "Aprobar la solicitud SOL-2026-000001"
    );
    screenshot(&client, "07-confirm").await;
    button(&client, "Confirmar y expedir la c\u{e9}dula").await;
    arrived(
        &client,
        &base,
        "/oficina/casos/SOL-2026-000001?hecho=expedida",
    )
    .await;
    let status = client.find(Locator::Css("[role=status]")).await.unwrap();
    let said = status.text().await.unwrap();
    assert!(said.starts_with("C\u{e9}dula 00000001 expedida"), "{said}");
    screenshot(&client, "08-issued").await;
    let outbox = app.outbox("luz").await;
    let cedula_mail = outbox.iter().find(|(_, message)| {
        message
            .attachments
            .iter()
            .any(|a| matches!(a, ventanilla::documents::DocumentRef::Cedula { .. }))
    });
    assert!(cedula_mail.is_some(), "the cédula's e-mail is queued");
    let audit = {
        let mut reader = app.service.db.reader().await.unwrap();
        ventanilla::store::audit::by_event(
            &mut reader.conn(),
            ventanilla::store::audit::Event::CedulaIssued,
        )
        .await
        .unwrap()
    };
    assert!(
        audit[0].staff_id.is_some(),
        "the clerk's id is in the audit trail"
    );
    client
        .find(Locator::LinkText("Agenda"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrived(&client, &base, "/oficina/agenda").await;

    // The next day, then the print view.
    client
        .find(Locator::LinkText("D\u{ed}a siguiente \u{2192}"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrived(
        &client,
        &base,
        "/oficina/agenda?fecha=2026-12-04&oficina=dgp-cdmx",
    )
    .await;
    let body = client
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("No hay citas este d\u{ed}a"), "{body}");
    screenshot(&client, "04-next-day").await;
    for link in ["\u{2190} D\u{ed}a anterior", "Vista para imprimir"] {
        let found = client.find(Locator::LinkText(link)).await.unwrap();
        found.click().await.unwrap();
        let path = match link {
            "Vista para imprimir" => {
                "/oficina/agenda?fecha=2026-12-03&oficina=dgp-cdmx&vista=imprimir"
            }
            _ => "/oficina/agenda?fecha=2026-12-03&oficina=dgp-cdmx",
        };
        arrived(&client, &base, path).await;
    }
    // The print view: the day's table, without the console's header and forms.
    let printed = client
        .find(Locator::Css("table"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(printed.contains("SOL-2026-000001"), "{printed}");
    assert!(
        client.find(Locator::Css("header")).await.is_err(),
        "no header to print"
    );
    assert!(
        client.find(Locator::Css("form")).await.is_err(),
        "no forms to print"
    );
    screenshot(&client, "05-print").await;
    client
        .find(Locator::LinkText("Volver a la agenda"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrived(
        &client,
        &base,
        "/oficina/agenda?fecha=2026-12-03&oficina=dgp-cdmx",
    )
    .await;

    // Logout: back to the login, and the agenda needs a session again.
    client
        .find(Locator::Css("form[action='/oficina/salir'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_url(&url::Url::parse(&format!("{base}/oficina/entrar")).unwrap())
        .await
        .unwrap();
    client
        .goto(&format!("{base}/oficina/agenda"))
        .await
        .unwrap();
    assert_eq!(
        client.current_url().await.unwrap().path(),
        "/oficina/entrar"
    );
    client.close().await.unwrap();
}

/// Logs `name` in through the login form with the keyboard; waits for the agenda.
async fn log_in(client: &Client, base: &str, name: &str) {
    log_in_with(client, base, name, PASSWORD).await;
}

async fn log_in_with(client: &Client, base: &str, name: &str, password: &str) {
    client
        .goto(&format!("{base}/oficina/entrar"))
        .await
        .unwrap();
    let form = client
        .form(Locator::Css("form[method=post]"))
        .await
        .unwrap();
    form.set_by_name("username", name).await.unwrap();
    form.set_by_name("password", password).await.unwrap();
    form.submit().await.unwrap();
    arrived(client, base, "/oficina/agenda").await;
}

#[tokio::test]
async fn a_supervisor_closes_a_day_and_sees_the_moved_applicants() {
    let app = spawn_app(support::Backend::Sqlite).await;
    accounts::add_user(
        &app.service,
        None,
        "sara",
        Role::Supervisor,
        Some("dgp-cdmx"),
        Some(PASSWORD),
    )
    .await
    .unwrap()
    .unwrap();
    for (n, user) in ["luz", "eva", "rosa"].iter().enumerate() {
        booked(&app, user, &format!("B12345678{n}")).await;
    }
    let base = serve(app.service.clone()).await;
    let driver = start_driver().await;
    let client = browser(&driver).await;
    log_in(&client, &base, "sara").await;

    // From the header to the capacity page.
    client
        .find(Locator::LinkText("Capacidad y cierres"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrived(&client, &base, "/oficina/capacidad").await;
    let heading = client.find(Locator::Css("h1")).await.unwrap();
    assert!(
        heading
            .text()
            .await
            .unwrap()
            .starts_with("Capacidad y cierres")
    );
    screenshot(&client, "11-capacity").await;

    // The closure form: the day and the reason, then the preview.
    client
        .find(Locator::Id("desde"))
        .await
        .unwrap()
        .send_keys("2026-12-03")
        .await
        .unwrap();
    client
        .find(Locator::Id("motivo"))
        .await
        .unwrap()
        .send_keys("fumigación del edificio")
        .await
        .unwrap();
    button(&client, "Ver las citas afectadas").await;
    arrived(&client, &base, "/oficina/cierres").await;
    let preview = client.find(Locator::Css("main")).await.unwrap();
    let text = preview.text().await.unwrap();
    assert!(text.contains("3 citas se mover"), "{text}");
    for n in 1..=3 {
        assert!(text.contains(&format!("SOL-2026-00000{n}")), "{text}");
    }
    screenshot(&client, "12-closure-preview").await;

    // Confirmed: the closure's page lists each applicant moved, with the new day.
    button(&client, "Confirmar el cierre").await;
    arrived(&client, &base, "/oficina/cierres/1").await;
    let rows = client
        .find_all(Locator::Css("main table tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        let text = row.text().await.unwrap();
        assert!(text.contains("jueves 3 de diciembre"), "{text}");
        assert!(text.contains("viernes 4 de diciembre 09:30"), "{text}");
        assert!(text.contains("en cola"), "{text}");
    }
    let counts = client.find(Locator::Css("ul.counts")).await.unwrap();
    assert!(counts.text().await.unwrap().contains("Movidas: 3"));
    screenshot(&client, "13-closure-done").await;
    let mut reader = app.service.db.reader().await.unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
    let taken = ventanilla::store::appointments::day_taken(&mut reader.conn(), "dgp-cdmx", day)
        .await
        .unwrap();
    assert_eq!(taken, 0, "nobody is left on the closed day");
    client.close().await.unwrap();
}

#[tokio::test]
async fn an_admin_creates_an_account_and_reopens_a_rejected_case() {
    let app = spawn_app(support::Backend::Sqlite).await;
    accounts::add_user(
        &app.service,
        None,
        "root",
        Role::Admin,
        None,
        Some(PASSWORD),
    )
    .await
    .unwrap()
    .unwrap();
    booked(&app, "luz", "B123456780").await;
    ventanilla::staff::reject(
        &app.service,
        None,
        "SOL-2026-000001",
        "El pago no corresponde al nivel",
    )
    .await
    .unwrap()
    .unwrap();
    let base = serve(app.service.clone()).await;
    let driver = start_driver().await;
    let client = browser(&driver).await;
    log_in(&client, &base, "root").await;

    // The users page, from the header: a supervisor account with a generated password.
    client
        .find(Locator::LinkText("Usuarios"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrived(&client, &base, "/oficina/usuarios").await;
    screenshot(&client, "14-users").await;
    client
        .find(Locator::Id("nombre"))
        .await
        .unwrap()
        .send_keys("beto")
        .await
        .unwrap();
    client
        .find(Locator::Css("#rol option[value=supervisor]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    button(&client, "Crear la cuenta").await;
    let heading = client.find(Locator::Css("h1")).await.unwrap();
    assert_eq!(
        heading.text().await.unwrap(),
        "Cuenta \u{ab}beto\u{bb} creada"
    );
    let password = client
        .find(Locator::Id("clave"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(password.chars().count(), 20, "{password}");
    screenshot(&client, "15-user-created").await;
    client
        .find(Locator::LinkText("Volver a los usuarios"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let table = client
        .find(Locator::Css("main table"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        table.contains("beto") && table.contains("supervisi\u{f3}n"),
        "{table}"
    );
    client
        .find(Locator::LinkText("Oficinas"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrived(&client, &base, "/oficina/oficinas").await;
    let offices = client
        .find(Locator::Css("main table"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(offices.contains("50 al d\u{ed}a"), "{offices}");
    screenshot(&client, "18-offices").await;

    // The new account logs in with the password shown, and reopens the rejected case.
    button(&client, "Salir").await;
    log_in_with(&client, &base, "beto", &password).await;
    client
        .goto(&format!("{base}/oficina/casos/SOL-2026-000001"))
        .await
        .unwrap();
    let main = client
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        main.contains("Estado: rechazada")
            && main.contains("Motivo del rechazo: El pago no corresponde al nivel"),
        "{main}"
    );
    screenshot(&client, "16-rejected-case").await;
    button(&client, "Reabrir la solicitud").await;
    arrived(
        &client,
        &base,
        "/oficina/casos/SOL-2026-000001?hecho=reabierta",
    )
    .await;
    let main = client
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        main.contains("Solicitud reabierta") && main.contains("Estado: sin cita"),
        "{main}"
    );
    screenshot(&client, "17-reopened").await;
    let outbox = app.outbox("luz").await;
    assert_eq!(outbox.last().unwrap().1.template, "application_reopened");
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_supervisor_sees_the_missed_appointments_and_lets_the_applicant_book_again() {
    let app = spawn_app(support::Backend::Sqlite).await;
    accounts::add_user(
        &app.service,
        None,
        "sara",
        Role::Supervisor,
        Some("dgp-cdmx"),
        Some(PASSWORD),
    )
    .await
    .unwrap()
    .unwrap();
    // Luz misses two appointments (Thursday 3 and Friday 4 December, 09:30).
    let after = |rfc3339: &str| {
        let mut service = app.service.clone();
        service.clock = ventanilla::service::Clock::Fixed(
            chrono::DateTime::parse_from_rfc3339(rfc3339)
                .unwrap()
                .with_timezone(&chrono::Utc),
        );
        service
    };
    booked(&app, "luz", "B123456781").await;
    ventanilla::staff::no_show(&after("2026-12-03T12:00:00-06:00"), None, "SOL-2026-000001")
        .await
        .unwrap()
        .unwrap();
    for answer in ["Agendar mi cita", "1", "vie 4 dic", "9:30"] {
        app.turn("luz", answer).await;
    }
    ventanilla::staff::no_show(&after("2026-12-04T12:00:00-06:00"), None, "SOL-2026-000001")
        .await
        .unwrap()
        .unwrap();
    let base = serve(app.service.clone()).await;
    let driver = start_driver().await;
    let client = browser(&driver).await;
    log_in(&client, &base, "sara").await;
    client
        .goto(&format!("{base}/oficina/casos/SOL-2026-000001"))
        .await
        .unwrap();
    let main = client
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        main.contains("Citas perdidas: 2") && main.contains("necesita autorizaci\u{f3}n"),
        "{main}"
    );
    screenshot(&client, "20-no-shows").await;
    button(&client, "Autorizar una nueva cita").await;
    let main = client
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        main.contains("Nueva cita autorizada") && !main.contains("necesita autorizaci\u{f3}n"),
        "{main}"
    );
    screenshot(&client, "21-booking-approved").await;
    let outbox = app.outbox("luz").await;
    assert_eq!(outbox.last().unwrap().1.template, "booking_approved");
    client.close().await.unwrap();
}
