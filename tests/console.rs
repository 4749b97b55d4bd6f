//! The office console over HTTP, through the service's own router (every layer but the socket):
//! accounts made with the library the CLI calls, login, a wrong password, throttling, the
//! form token (CSRF), session expiry and logout, a member of one office refused another's
//! agenda, and the day's agenda with a booked applicant; on SQLite and PostgreSQL.

mod support;

use axum::http::{Method, StatusCode};
use support::console::{PASSWORD, add, booked, call, cli, get, login};
use support::{backends, spawn_app};
use ventanilla::domain::staff::Role;
use ventanilla::service::Clock;
use ventanilla::staff::accounts;

#[tokio::test]
async fn a_clerk_logs_in_sees_the_day_and_logs_out() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        add(&app, "ana", Role::Clerk, Some("dgp-cdmx")).await;
        booked(&app, "luz", "B123456789").await;

        // The login page, for people and for automation.
        let form = get(&app.service, "/oficina/entrar", &[]).await;
        assert!(
            form.body.contains("<title>Entrar · Ventanilla</title>"),
            "{} {}",
            form.status,
            form.body
        );
        assert_eq!(form.body.matches("<h1>").count(), 1);
        for field in ["name=\"username\"", "name=\"password\"", "name=\"csrf\""] {
            assert!(form.body.contains(field), "{field}");
        }
        assert!(form.body.contains("<form method=\"post\""));
        let login_cookie = form.cookies.join("\n");
        assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Strict"));

        // Without a session, every page leads to the login.
        let anonymous = get(&app.service, "/oficina/agenda", &[]).await;
        assert!(anonymous.status.is_redirection(), "{:?}", backend);
        assert_eq!(anonymous.location.as_deref(), Some("/oficina/entrar"));

        let (page, session) = login(&app.service, "ana", PASSWORD).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location.as_deref(), Some("/oficina/agenda"));
        let set = page.cookies.join("\n");
        assert!(set.contains("ventanilla_sesion=") && set.contains("HttpOnly"));
        assert!(set.contains("SameSite=Strict") && set.contains("Path=/oficina"));
        assert!(!set.contains("Secure"), "PUBLIC_URL is http here");
        let session = session.expect("a session cookie");

        let agenda = get(
            &app.service,
            "/oficina/agenda?fecha=2026-12-03&oficina=dgp-cdmx",
            std::slice::from_ref(&session),
        )
        .await;
        assert_eq!(agenda.status, StatusCode::OK, "{}", agenda.body);
        assert!(agenda.body.contains("<h1>Agenda del jueves 3 de diciembre"));
        assert!(agenda.body.contains("SOL-2026-000001"), "{}", agenda.body);
        assert!(agenda.body.contains("Luz María Pérez Gómez"));
        assert!(agenda.body.contains("Licenciatura"));
        assert!(agenda.body.contains(">agendada<"), "status as text");
        assert!(agenda.body.contains("<th scope=\"col\">Hora</th>"));
        assert!(
            agenda.body.contains("fecha=2026-12-02") && agenda.body.contains("fecha=2026-12-04")
        );
        assert!(agenda.body.contains("09:30"));

        // Another day has no appointments; a date that cannot be read says so.
        let empty = get(
            &app.service,
            "/oficina/agenda?fecha=2026-12-04",
            std::slice::from_ref(&session),
        )
        .await;
        assert!(empty.body.contains("No hay citas este d\u{ed}a"));
        let odd = get(
            &app.service,
            "/oficina/agenda?fecha=3-12",
            std::slice::from_ref(&session),
        )
        .await;
        assert!(odd.body.contains("No entend\u{ed} la fecha"));

        // Logout needs the session's form token; then the session is over.
        let refused = call(
            &app.service,
            Method::POST,
            "/oficina/salir",
            std::slice::from_ref(&session),
            Some(&[("csrf", "not-the-token")]),
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.body.contains("El formulario venci\u{f3}"));
        let csrf = agenda.csrf();
        let out = call(
            &app.service,
            Method::POST,
            "/oficina/salir",
            std::slice::from_ref(&session),
            Some(&[("csrf", &csrf)]),
        )
        .await;
        assert_eq!(out.location.as_deref(), Some("/oficina/entrar"));
        let after = get(
            &app.service,
            "/oficina/agenda",
            std::slice::from_ref(&session),
        )
        .await;
        assert_eq!(after.location.as_deref(), Some("/oficina/entrar"));
    }
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_throttled_and_forms_need_their_token() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        add(&app, "ana", Role::Clerk, None).await;

        let (page, session) = login(&app.service, "ana", "no es la clave").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(page.body.contains("no son correctos"));
        assert!(session.is_none());
        // An unknown name gets the same answer.
        let (unknown, _) = login(&app.service, "nadie", PASSWORD).await;
        assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            unknown.body.replace("nadie", "ana").len(),
            page.body.len(),
            "the same page, whatever the name"
        );

        // A login form posted without its cookie (from another site) is refused.
        let forged = call(
            &app.service,
            Method::POST,
            "/oficina/entrar",
            &[],
            Some(&[("username", "ana"), ("password", PASSWORD), ("csrf", "x")]),
        )
        .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{backend:?}");
        assert!(forged.cookie("ventanilla_sesion").is_none());

        // Five failures for the account: even the right password waits out the window.
        for _ in 0..4 {
            let (page, _) = login(&app.service, "ana", "tampoco es la clave").await;
            assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        }
        let (throttled, session) = login(&app.service, "ana", PASSWORD).await;
        assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(throttled.body.contains("espera 15 minutos"));
        assert!(session.is_none());

        // After the window, the right password opens a session (the clock is moved, not slept).
        let mut later = app.service.clone();
        later.clock = Clock::Fixed(app.service.clock.now() + chrono::Duration::minutes(16));
        let (page, session) = login(&later, "ana", PASSWORD).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert!(session.is_some());
    }
}

#[tokio::test]
async fn sessions_end_when_idle_after_hours_and_with_the_account() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        add(&app, "ana", Role::Supervisor, None).await;
        let start = app.service.clock.now();
        let at = |minutes: i64| {
            let mut service = app.service.clone();
            service.clock = Clock::Fixed(start + chrono::Duration::minutes(minutes));
            service
        };

        // Used every 20 minutes, the session lives until its 10 hours are up.
        let (_, session) = login(&app.service, "ana", PASSWORD).await;
        let session = session.unwrap();
        let cookies = std::slice::from_ref(&session);
        for minutes in (20..=580).step_by(20) {
            let page = get(&at(minutes), "/oficina/agenda", cookies).await;
            assert_eq!(page.status, StatusCode::OK, "{backend:?} at {minutes} min");
        }
        let late = get(&at(601), "/oficina/agenda", cookies).await;
        assert_eq!(late.location.as_deref(), Some("/oficina/entrar"));

        // Unused for more than 30 minutes, it ends.
        let (_, session) = login(&app.service, "ana", PASSWORD).await;
        let cookies = [session.unwrap()];
        assert_eq!(
            get(&at(29), "/oficina/agenda", &cookies).await.status,
            StatusCode::OK
        );
        let idle = get(&at(61), "/oficina/agenda", &cookies).await;
        assert_eq!(idle.location.as_deref(), Some("/oficina/entrar"));

        // Disabling the account ends its sessions and its logins.
        let (_, session) = login(&app.service, "ana", PASSWORD).await;
        let cookies = [session.unwrap()];
        accounts::disable_user(&app.service, None, "ana")
            .await
            .unwrap()
            .unwrap();
        let gone = get(&app.service, "/oficina/agenda", &cookies).await;
        assert_eq!(gone.location.as_deref(), Some("/oficina/entrar"));
        let (refused, _) = login(&app.service, "ana", PASSWORD).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    }
}

const TWO_OFFICES: &str = r#"
[[offices]]
id = "dgp-cdmx"
name = "Direccion General de Profesiones"
address = "Viaducto 551"
time_zone = "America/Mexico_City"
opens_at = "09:00:00"
closes_at = "15:00:00"
slot_minutes = 30
daily_capacity = 50

[[offices]]
id = "dgp-gdl"
name = "Oficina Guadalajara"
address = "Av. Alcalde 1, Guadalajara"
time_zone = "America/Mexico_City"
opens_at = "09:00:00"
closes_at = "14:00:00"
slot_minutes = 30
daily_capacity = 20
"#;

#[tokio::test]
async fn a_member_of_one_office_is_refused_another_offices_agenda() {
    for backend in backends() {
        let app = support::spawn_app_with(backend, Some(support::NOW), Some(TWO_OFFICES)).await;
        add(&app, "ana", Role::Clerk, Some("dgp-gdl")).await;
        add(&app, "eva", Role::Admin, None).await;
        let (_, ana) = login(&app.service, "ana", PASSWORD).await;
        let (_, eva) = login(&app.service, "eva", PASSWORD).await;
        let (ana, eva) = ([ana.unwrap()], [eva.unwrap()]);

        let own = get(&app.service, "/oficina/agenda", &ana).await;
        assert_eq!(own.status, StatusCode::OK);
        assert!(
            own.body.contains("Oficina Guadalajara"),
            "her office by default"
        );
        let other = get(&app.service, "/oficina/agenda?oficina=dgp-cdmx", &ana).await;
        assert_eq!(other.status, StatusCode::FORBIDDEN, "{backend:?}");
        assert!(other.body.contains("otra oficina"));
        let unknown = get(&app.service, "/oficina/agenda?oficina=dgp-marte", &eva).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert!(
            unknown.body.contains("No existe la oficina"),
            "{}",
            unknown.body
        );
        // A national member sees both and can choose.
        let national = get(&app.service, "/oficina/agenda?oficina=dgp-cdmx", &eva).await;
        assert_eq!(national.status, StatusCode::OK);
        assert!(national.body.contains("<select id=\"oficina\""));
    }
}

#[tokio::test]
async fn accounts_refuse_bad_names_short_passwords_unknown_offices_and_twins() {
    let app = spawn_app(support::Backend::Sqlite).await;
    let add = |name: &'static str, office: Option<&'static str>, password: &'static str| {
        let service = app.service.clone();
        async move {
            accounts::add_user(&service, None, name, Role::Clerk, office, Some(password))
                .await
                .unwrap()
        }
    };
    use accounts::AccountRefusal::*;
    assert_eq!(add("Ana López", None, PASSWORD).await, Err(BadName));
    assert_eq!(add("ana", None, "corta").await, Err(ShortPassword));
    assert_eq!(
        add("ana", Some("dgp-marte"), PASSWORD).await,
        Err(UnknownOffice)
    );
    assert_eq!(add("ana", None, PASSWORD).await, Ok(PASSWORD.to_string()));
    assert_eq!(add("ana", None, PASSWORD).await, Err(NameTaken));
    let generated = accounts::add_user(&app.service, None, "eva", Role::Admin, None, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(generated.chars().count(), 20);
    let (page, session) = login(&app.service, "eva", &generated).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(session.is_some());
    // A new password ends the sessions and the old password.
    let changed =
        accounts::set_password(&app.service, None, "eva", Some("otra clave bastante larga"))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(changed, "otra clave bastante larga");
    let ended = get(&app.service, "/oficina/agenda", &[session.unwrap()]).await;
    assert_eq!(ended.location.as_deref(), Some("/oficina/entrar"));
    assert_eq!(
        login(&app.service, "eva", &generated).await.0.status,
        StatusCode::UNAUTHORIZED
    );
}

/// `ventanilla staff user …` with `stdin` as its input.
#[tokio::test]
async fn the_user_commands_read_the_password_or_generate_one() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let given = cli(
            &app,
            &[
                "staff", "user", "add", "ana", "--role", "clerk", "--office", "dgp-cdmx",
            ],
            &format!("{PASSWORD}\n"),
        );
        assert!(given.status.success(), "{given:?}");
        let out = String::from_utf8_lossy(&given.stdout);
        assert!(
            out.contains("Cuenta \u{ab}ana\u{bb} creada") && !out.contains(PASSWORD),
            "{out}"
        );
        assert!(
            login(&app.service, "ana", PASSWORD).await.1.is_some(),
            "{backend:?}"
        );

        // Nothing on stdin: a password is generated and printed once.
        let generated = cli(
            &app,
            &["staff", "user", "add", "eva", "--role", "admin"],
            "",
        );
        assert!(generated.status.success(), "{generated:?}");
        let out = String::from_utf8_lossy(&generated.stdout).to_string();
        let password = out
            .lines()
            .find_map(|line| line.rsplit_once(": ").map(|(_, p)| p.trim().to_string()))
            .filter(|p| p.len() == 20)
            .unwrap_or_else(|| panic!("a generated password in {out}"));
        assert!(login(&app.service, "eva", &password).await.1.is_some());

        // Refusals exit 1 with the reason; disable and password act on the account.
        let twin = cli(
            &app,
            &["staff", "user", "add", "ana", "--role", "clerk"],
            "",
        );
        assert_eq!(twin.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&twin.stderr).contains("Ya existe una cuenta"));
        let bad_role = cli(&app, &["staff", "user", "add", "leo", "--role", "jefe"], "");
        assert_eq!(bad_role.status.code(), Some(1));
        let changed = cli(
            &app,
            &["staff", "user", "password", "ana"],
            "otra clave bastante larga\n",
        );
        assert!(changed.status.success(), "{changed:?}");
        assert!(
            login(&app.service, "ana", "otra clave bastante larga")
                .await
                .1
                .is_some()
        );
        let disabled = cli(&app, &["staff", "user", "disable", "ana"], "");
        assert!(disabled.status.success());
        let listed = cli(&app, &["staff", "user", "list"], "");
        let listed = String::from_utf8_lossy(&listed.stdout);
        assert!(
            listed.contains("ana\tclerk\tdgp-cdmx\tdesactivada"),
            "{listed}"
        );
        assert!(listed.contains("eva\tadmin\ttodas"), "{listed}");
    }
}

#[tokio::test]
async fn the_case_page_and_its_actions_over_http() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        add(&app, "ana", Role::Clerk, Some("dgp-cdmx")).await;
        booked(&app, "luz", "B123456789").await;
        ventanilla::documents::signature::Signer::generate(&app.service.settings.signing_key)
            .unwrap();
        let (_, session) = login(&app.service, "ana", PASSWORD).await;
        let cookies = [session.unwrap()];
        let case = get(&app.service, "/oficina/casos/SOL-2026-000001", &cookies).await;
        assert_eq!(case.status, StatusCode::OK, "{}", case.body);
        assert!(case.body.contains("PEGL890909MJCRMS08"));
        let csrf = case.csrf();
        let post = |uri: &'static str, fields: Vec<(&'static str, String)>| {
            let service = app.service.clone();
            let cookies = cookies.clone();
            async move {
                let fields: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                call(&service, Method::POST, uri, &cookies, Some(&fields)).await
            }
        };
        // Approving before the arrival is refused with the reason.
        let early = post(
            "/oficina/casos/SOL-2026-000001/aprobar",
            vec![("csrf", csrf.clone())],
        )
        .await;
        assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
        assert!(early.body.contains("no tiene registrada la asistencia"));
        // A form without the session's token changes nothing.
        let forged = post(
            "/oficina/casos/SOL-2026-000001/llegada",
            vec![("csrf", "x".into())],
        )
        .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        let arrived = post(
            "/oficina/casos/SOL-2026-000001/llegada",
            vec![("csrf", csrf.clone())],
        )
        .await;
        assert_eq!(
            arrived.location.as_deref(),
            Some("/oficina/casos/SOL-2026-000001?hecho=llegada")
        );
        // The counter's checklist: the page offers it once the applicant came; approving
        // before every item was seen says what is missing and is refused.
        let case = get(&app.service, "/oficina/casos/SOL-2026-000001", &cookies).await;
        assert!(case.body.contains("Guardar la revisi\u{f3}n de documentos"));
        assert!(
            case.body.contains("value=\"title_original\""),
            "{}",
            case.body
        );
        let seen = post(
            "/oficina/casos/SOL-2026-000001/documentos-revisados",
            vec![
                ("csrf", csrf.clone()),
                ("visto", "title_original".into()),
                ("visto", "payment_receipts".into()),
            ],
        )
        .await;
        assert_eq!(
            seen.location.as_deref(),
            Some("/oficina/casos/SOL-2026-000001?hecho=documentos")
        );
        let confirm = get(
            &app.service,
            "/oficina/casos/SOL-2026-000001/aprobar",
            &cookies,
        )
        .await;
        assert!(
            confirm.body.contains("Copias del t\u{ed}tulo")
                && !confirm.body.contains("Confirmar y expedir"),
            "{}",
            confirm.body
        );
        let early = post(
            "/oficina/casos/SOL-2026-000001/aprobar",
            vec![("csrf", csrf.clone())],
        )
        .await;
        assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
        assert!(early.body.contains("revisados"), "{}", early.body);
        let crafted = post(
            "/oficina/casos/SOL-2026-000001/documentos-revisados",
            vec![("csrf", csrf.clone()), ("visto", "<script>".into())],
        )
        .await;
        assert_eq!(crafted.status, StatusCode::CONFLICT, "{}", crafted.body);
        let all = [
            "title_original",
            "title_copies",
            "payment_receipts",
            "identification",
        ];
        let mut fields = vec![("csrf", csrf.clone())];
        fields.extend(all.iter().map(|key| ("visto", key.to_string())));
        let seen = post(
            "/oficina/casos/SOL-2026-000001/documentos-revisados",
            fields,
        )
        .await;
        assert!(seen.status.is_redirection(), "{}", seen.body);
        {
            let mut reader = app.service.db.reader().await.unwrap();
            let case = ventanilla::store::cases::by_folio(&mut reader.conn(), "SOL-2026-000001")
                .await
                .unwrap()
                .unwrap();
            let checks = ventanilla::store::cases::checks(&mut reader.conn(), case.id)
                .await
                .unwrap();
            assert_eq!(checks.len(), 4);
            assert!(
                checks.iter().all(|c| c.checked_by.is_some()),
                "who, per item"
            );
            let events = ventanilla::store::audit::by_event(
                &mut reader.conn(),
                ventanilla::store::audit::Event::DocumentsChecked,
            )
            .await
            .unwrap();
            assert_eq!(events.len(), 2, "two saves that changed something");
        }
        let issued = post(
            "/oficina/casos/SOL-2026-000001/aprobar",
            vec![("csrf", csrf.clone())],
        )
        .await;
        assert_eq!(
            issued.location.as_deref(),
            Some("/oficina/casos/SOL-2026-000001?hecho=expedida")
        );
        let page = get(
            &app.service,
            "/oficina/casos/SOL-2026-000001?hecho=expedida",
            &cookies,
        )
        .await;
        assert!(
            page.body.contains("C\u{e9}dula 00000001 expedida"),
            "{}",
            page.body
        );
        assert!(
            page.body.contains("2026-11-30 10:0"),
            "times in the office's zone"
        );
        assert!(page.body.contains("cedula_issued") && page.body.contains("(cuenta "));
        // The documents open from the case, rendered again; the cédula is among them now.
        for (name, kind, start) in [
            ("solicitud", "application/pdf", &b"%PDF"[..]),
            ("comprobante", "application/pdf", b"%PDF"),
            ("invitacion", "text/calendar", b"BEGIN:VCALENDAR"),
            ("cedula", "application/pdf", b"%PDF"),
        ] {
            assert!(
                page.body.contains(&format!("/documentos/{name}\"")),
                "{name}"
            );
            let uri = format!("/oficina/casos/SOL-2026-000001/documentos/{name}");
            let document = get(&app.service, &uri, &cookies).await;
            assert_eq!(document.status, StatusCode::OK, "{name}: {}", document.body);
            assert!(document.content_type.unwrap().starts_with(kind), "{name}");
            assert!(document.bytes.starts_with(start), "{name}");
        }
        let missing = get(
            &app.service,
            "/oficina/casos/SOL-2026-000001/documentos/..%2f..%2fetc",
            &cookies,
        )
        .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        // Resending: one message on the applicant's channel with the four documents.
        let before = app.outbox("luz").await.len();
        let resent = post(
            "/oficina/casos/SOL-2026-000001/reenviar",
            vec![("csrf", csrf.clone())],
        )
        .await;
        assert_eq!(
            resent.location.as_deref(),
            Some("/oficina/casos/SOL-2026-000001?hecho=reenviados")
        );
        let outbox = app.outbox("luz").await;
        assert_eq!(outbox.len(), before + 1);
        let (_, message) = outbox.last().unwrap();
        assert_eq!(message.template, "office_resent");
        assert_eq!(message.attachments.len(), 4, "{:?}", message.attachments);
        // Today's page (the office's day is Monday 30 November here: no appointment today),
        // and nobody waits for a decision once the cédula is issued.
        let today = get(&app.service, "/oficina/hoy", &cookies).await;
        assert_eq!(today.status, StatusCode::OK, "{}", today.body);
        assert!(
            today.body.contains("<h1>Hoy, lunes 30 de noviembre"),
            "{}",
            today.body
        );
        assert!(today.body.contains("Nadie espera una decisi\u{f3}n"));
        // Search: a folio goes to its case, a CURP lists it.
        let by_folio = get(&app.service, "/oficina/buscar?q=sol-2026-000001", &cookies).await;
        assert_eq!(
            by_folio.location.as_deref(),
            Some("/oficina/casos/SOL-2026-000001")
        );
        let by_curp = get(&app.service, "/oficina/buscar?q=PEGL890909", &cookies).await;
        assert!(
            by_curp
                .body
                .contains("href=\"/oficina/casos/SOL-2026-000001\""),
            "{}",
            by_curp.body
        );
        let unknown = get(&app.service, "/oficina/casos/SOL-2026-999999", &cookies).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_clerk_marks_a_no_show_after_its_time_and_the_applicant_is_told() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        add(&app, "ana", Role::Clerk, Some("dgp-cdmx")).await;
        booked(&app, "luz", "B123456789").await;
        let at = |instant: &str| {
            let mut service = app.service.clone();
            service.clock = Clock::Fixed(instant.parse().unwrap());
            service
        };

        // Before the appointment's time (09:30 in Mexico City): refused, saying why.
        let early = at("2026-12-03T09:20:00-06:00");
        let (_, session) = login(&early, "ana", PASSWORD).await;
        let cookies = vec![session.unwrap()];
        let case = get(&early, "/oficina/casos/SOL-2026-000001", &cookies).await;
        assert!(
            case.body.contains("Marcar que no se present"),
            "{} {:?} {}",
            case.status,
            case.location,
            case.body
        );
        let csrf = case.csrf();
        let form = [("csrf", csrf.as_str())];
        let uri = "/oficina/casos/SOL-2026-000001/no-se-presento";
        let refused = call(&early, Method::POST, uri, &cookies, Some(&form)).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{backend:?}");
        assert!(
            refused.body.contains("todav\u{ed}a no llega"),
            "{}",
            refused.body
        );

        // After it: marked, kept in the agenda as such, the applicant told, free to book again.
        let later = at("2026-12-03T09:40:00-06:00");
        let done = call(&later, Method::POST, uri, &cookies, Some(&form)).await;
        assert_eq!(
            done.location.as_deref(),
            Some("/oficina/casos/SOL-2026-000001?hecho=no_se_presento")
        );
        let agenda = get(
            &later,
            "/oficina/agenda?fecha=2026-12-03&oficina=dgp-cdmx",
            &cookies,
        )
        .await;
        assert!(
            agenda.body.contains(">no se present\u{f3}<"),
            "{} {:?} {}",
            agenda.status,
            agenda.location,
            agenda.body
        );
        let today = get(&later, "/oficina/hoy", &cookies).await;
        assert!(today.body.contains("No se presentaron"));
        let outbox = app.outbox("luz").await;
        let (_, notice) = outbox.last().unwrap();
        assert_eq!(notice.template, "no_show");
        let mut reader = app.service.db.reader().await.unwrap();
        let case = ventanilla::store::cases::by_folio(&mut reader.conn(), "SOL-2026-000001")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            case.status,
            ventanilla::domain::application::Status::Submitted
        );
        let events = ventanilla::store::audit::by_event(
            &mut reader.conn(),
            ventanilla::store::audit::Event::NoShow,
        )
        .await
        .unwrap();
        assert_eq!(events.len(), 1);
        assert!(events[0].staff_id.is_some());
        drop(reader);
        // Twice: refused (nothing is scheduled any more).
        let again = call(&later, Method::POST, uri, &cookies, Some(&form)).await;
        assert_eq!(again.status, StatusCode::CONFLICT);
    }
}

#[tokio::test]
async fn a_supervisor_reopens_a_rejected_case_and_the_applicant_books_again() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        add(&app, "ana", Role::Clerk, Some("dgp-cdmx")).await;
        add(&app, "sara", Role::Supervisor, Some("dgp-cdmx")).await;
        booked(&app, "luz", "B123456789").await;
        let folio = "SOL-2026-000001";
        let uri = "/oficina/casos/SOL-2026-000001/reabrir";

        // The clerk rejects with one of the configured reasons and a detail of their own.
        let (_, clerk) = login(&app.service, "ana", PASSWORD).await;
        let clerk = [clerk.unwrap()];
        let page = get(&app.service, "/oficina/casos/SOL-2026-000001", &clerk).await;
        let reasons = &app.service.settings.console.rejection_reasons;
        for reason in reasons {
            assert!(
                page.body.contains(&format!("<option>{reason}</option>")),
                "{reason}"
            );
        }
        let form = [
            ("csrf", page.csrf()),
            ("motivo", reasons[2].clone()),
            ("detalle", "Pagaste el nivel de especialidad".to_string()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let rejected = call(
            &app.service,
            Method::POST,
            "/oficina/casos/SOL-2026-000001/rechazar",
            &clerk,
            Some(&form),
        )
        .await;
        assert!(rejected.status.is_redirection(), "{}", rejected.body);
        let outbox = app.outbox("luz").await;
        let (_, told) = outbox.last().unwrap();
        assert_eq!(told.template, "application_rejected");
        assert!(
            told.text
                .contains(&format!("{}. Pagaste el nivel de especialidad", reasons[2])),
            "{}",
            told.text
        );

        // A clerk may not reopen: 403 with the reason, nothing changes.
        let page = get(&app.service, "/oficina/casos/SOL-2026-000001", &clerk).await;
        assert!(!page.body.contains("Reabrir la solicitud"), "{}", page.body);
        let form = [("csrf", page.csrf())];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = call(&app.service, Method::POST, uri, &clerk, Some(&form)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

        let (_, supervisor) = login(&app.service, "sara", PASSWORD).await;
        let supervisor = [supervisor.unwrap()];
        let page = get(&app.service, "/oficina/casos/SOL-2026-000001", &supervisor).await;
        assert!(page.body.contains("Reabrir la solicitud"), "{}", page.body);
        let form = [("csrf", page.csrf())];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let done = call(&app.service, Method::POST, uri, &supervisor, Some(&form)).await;
        assert_eq!(
            done.location.as_deref(),
            Some("/oficina/casos/SOL-2026-000001?hecho=reabierta"),
            "{}",
            done.body
        );
        {
            let mut reader = app.service.db.reader().await.unwrap();
            let case = ventanilla::store::cases::by_folio(&mut reader.conn(), folio)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                case.status,
                ventanilla::domain::application::Status::Submitted
            );
            let events = ventanilla::store::audit::by_event(
                &mut reader.conn(),
                ventanilla::store::audit::Event::Reopened,
            )
            .await
            .unwrap();
            assert_eq!(events.len(), 1);
            assert!(events[0].staff_id.is_some());
        }
        // The applicant is told, with the choice to book, and books again.
        let outbox = app.outbox("luz").await;
        let (_, notice) = outbox.last().unwrap();
        assert_eq!(notice.template, "application_reopened");
        assert!(notice.text.contains(folio), "{}", notice.text);
        assert!(
            notice.choices.iter().any(|c| c.id == "book"),
            "{:?}",
            notice.choices
        );
        let replies = app.say("luz", "Agendar mi cita").await;
        assert!(
            replies
                .iter()
                .any(|r| r.template == "choose_office" || r.template == "choose_day"),
            "{:?}",
            replies.iter().map(|r| &r.template).collect::<Vec<_>>()
        );
        // Twice: refused, it is not rejected any more.
        let again = call(&app.service, Method::POST, uri, &supervisor, Some(&form)).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
        assert!(
            again.body.contains("no est\u{e1} rechazada"),
            "{}",
            again.body
        );
        // The same from the command line, refused the same way.
        let cli_again = cli(&app, &["staff", "reopen", folio], "");
        assert_eq!(cli_again.status.code(), Some(1), "{cli_again:?}");
    }
}

/// The generated password a users page shows once.
fn shown_password(page: &support::console::Page) -> String {
    let at = page
        .body
        .find("<code id=\"clave\"")
        .expect("the password is shown");
    let rest = &page.body[at..];
    let start = rest.find('>').unwrap() + 1;
    rest[start..rest.find("</code>").unwrap()].to_string()
}

#[tokio::test]
async fn an_admin_manages_the_accounts_of_the_console() {
    for backend in backends() {
        let app = support::spawn_app_with(backend, Some(support::NOW), Some(TWO_OFFICES)).await;
        add(&app, "root", Role::Admin, None).await;
        add(&app, "olga", Role::Admin, Some("dgp-gdl")).await;
        add(&app, "ana", Role::Clerk, Some("dgp-cdmx")).await;
        add(&app, "gus", Role::Clerk, Some("dgp-gdl")).await;
        let session = |name: &'static str| {
            let service = app.service.clone();
            async move { [login(&service, name, PASSWORD).await.1.unwrap()] }
        };
        let (root, olga, ana) = (
            session("root").await,
            session("olga").await,
            session("ana").await,
        );
        let post = |uri: String, cookies: [String; 1], fields: Vec<(&'static str, String)>| {
            let service = app.service.clone();
            async move {
                let fields: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                call(&service, Method::POST, &uri, &cookies, Some(&fields)).await
            }
        };

        // A clerk is refused the page; the header links it for admins only.
        let refused = get(&app.service, "/oficina/usuarios", &ana).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(
            refused.body.contains("administraci\u{f3}n"),
            "{}",
            refused.body
        );
        assert!(!refused.body.contains("href=\"/oficina/usuarios\""));

        // The national admin sees every account and creates one; its password is shown once
        // and opens a session.
        let page = get(&app.service, "/oficina/usuarios", &root).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for name in ["root", "olga", "ana", "gus"] {
            assert!(page.body.contains(&format!("<td>{name}</td>")), "{name}");
        }
        let csrf = page.csrf();
        let form = |name: &str, role: &str, office: &str| {
            vec![
                ("csrf", csrf.clone()),
                ("nombre", name.to_string()),
                ("rol", role.to_string()),
                ("oficina", office.to_string()),
            ]
        };
        let created = post(
            "/oficina/usuarios".into(),
            root.clone(),
            form("beto", "clerk", "dgp-cdmx"),
        )
        .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.body);
        let password = shown_password(&created);
        assert_eq!(password.chars().count(), 20);
        let (_, beto) = login(&app.service, "beto", &password).await;
        let beto = [beto.expect("the shown password works")];
        assert_eq!(
            get(&app.service, "/oficina/agenda", &beto).await.status,
            StatusCode::OK
        );
        // Refusals say why, and change nothing.
        let twin = post(
            "/oficina/usuarios".into(),
            root.clone(),
            form("beto", "clerk", ""),
        )
        .await;
        assert_eq!(twin.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            twin.body.contains("Ya existe una cuenta llamada"),
            "{}",
            twin.body
        );
        let bad = post(
            "/oficina/usuarios".into(),
            root.clone(),
            form("Beto \u{d1}", "clerk", ""),
        )
        .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("no sirve"), "{}", bad.body);
        let role = post(
            "/oficina/usuarios".into(),
            root.clone(),
            form("beta", "root", ""),
        )
        .await;
        assert_eq!(role.status, StatusCode::UNPROCESSABLE_ENTITY);
        let yourself = post(
            "/oficina/usuarios/root/desactivar".into(),
            root.clone(),
            vec![("csrf", csrf.clone())],
        )
        .await;
        assert_eq!(yourself.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            yourself.body.contains("tu propia cuenta"),
            "{}",
            yourself.body
        );

        // A new password ends the account's sessions; disabling too.
        let reset = post(
            "/oficina/usuarios/beto/clave".into(),
            root.clone(),
            vec![("csrf", csrf.clone())],
        )
        .await;
        assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
        let new_password = shown_password(&reset);
        assert_ne!(new_password, password);
        assert!(
            get(&app.service, "/oficina/agenda", &beto)
                .await
                .status
                .is_redirection()
        );
        assert!(login(&app.service, "beto", &password).await.1.is_none());
        let (_, beto) = login(&app.service, "beto", &new_password).await;
        let beto = [beto.unwrap()];
        let disabled = post(
            "/oficina/usuarios/beto/desactivar".into(),
            root.clone(),
            vec![("csrf", csrf.clone())],
        )
        .await;
        assert_eq!(
            disabled.location.as_deref(),
            Some("/oficina/usuarios?hecho=desactivada&cuenta=beto")
        );
        assert!(
            get(&app.service, "/oficina/agenda", &beto)
                .await
                .status
                .is_redirection()
        );
        assert!(login(&app.service, "beto", &new_password).await.1.is_none());

        // An admin of one office sees and manages only its accounts.
        let page = get(&app.service, "/oficina/usuarios", &olga).await;
        assert!(page.body.contains("<td>gus</td>") && !page.body.contains("<td>ana</td>"));
        assert!(
            !page.body.contains("Todas las oficinas"),
            "no national accounts from here"
        );
        let csrf = page.csrf();
        let national = post(
            "/oficina/usuarios".into(),
            olga.clone(),
            vec![
                ("csrf", csrf.clone()),
                ("nombre", "zoe".into()),
                ("rol", "admin".into()),
                ("oficina", String::new()),
            ],
        )
        .await;
        assert_eq!(national.status, StatusCode::FORBIDDEN, "{}", national.body);
        let other = post(
            "/oficina/usuarios/ana/desactivar".into(),
            olga.clone(),
            vec![("csrf", csrf.clone())],
        )
        .await;
        assert_eq!(other.status, StatusCode::FORBIDDEN);
        assert!(
            login(&app.service, "ana", PASSWORD).await.1.is_some(),
            "ana is untouched"
        );

        // The offices at a glance: each admin sees the offices they serve.
        let all = get(&app.service, "/oficina/oficinas", &root).await;
        assert_eq!(all.status, StatusCode::OK, "{}", all.body);
        assert!(all.body.contains("Oficina Guadalajara") && all.body.contains("Viaducto 551"));
        assert!(all.body.contains("20 al d\u{ed}a"), "{}", all.body);
        let own = get(&app.service, "/oficina/oficinas", &olga).await;
        assert!(own.body.contains("Oficina Guadalajara") && !own.body.contains("Viaducto 551"));
        let clerk = get(&app.service, "/oficina/oficinas", &ana).await;
        assert_eq!(clerk.status, StatusCode::FORBIDDEN);

        // Every change is in the audit trail with who made it.
        let mut reader = app.service.db.reader().await.unwrap();
        let root_id = accounts::users(&app.service)
            .await
            .unwrap()
            .into_iter()
            .find(|u| u.name == "root")
            .unwrap()
            .id;
        for (event, count) in [
            (ventanilla::store::audit::Event::AccountAdded, 5),
            (ventanilla::store::audit::Event::PasswordReset, 1),
            (ventanilla::store::audit::Event::AccountDisabled, 1),
        ] {
            let rows = ventanilla::store::audit::by_event(&mut reader.conn(), event)
                .await
                .unwrap();
            assert_eq!(rows.len(), count, "{event:?}");
            let last = rows.last().unwrap();
            assert_eq!(last.staff_id, Some(root_id), "{event:?}: made by root");
        }
    }
}
