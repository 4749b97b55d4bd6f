//! `ventanilla serve` as a process: it starts on the embedded defaults, answers `/healthz` and
//! `/metrics`, answers e-mail dropped in its Maildir inbox with `.eml` files, and stops on
//! SIGTERM.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

#[test]
fn serve_reports_health_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_ventanilla"))
        .arg("serve")
        .env("VENTANILLA_DATA_DIR", dir.path())
        .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env_remove("DATABASE_URL")
        .env_remove("TELEGRAM_BOT_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let started = Instant::now();
    let health = loop {
        if let Some(response) = get(port, "/healthz") {
            break response;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "serve did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let metrics = get(port, "/metrics").unwrap();
    let missing = get(port, "/nothing-here").unwrap();
    // An e-mail delivered to the Maildir inbox is answered with an .eml file in the outbox.
    let message = "From: Luz <luz@correo.test>\r\nTo: tramites@localhost\r\n\
                   Subject: Hola\r\nMessage-ID: <serve.1@correo.test>\r\n\r\nHola\r\n";
    std::fs::write(dir.path().join("inbox/tmp/1.test"), message).unwrap();
    std::fs::rename(
        dir.path().join("inbox/tmp/1.test"),
        dir.path().join("inbox/new/1.test"),
    )
    .unwrap();
    let answered = dir.path().join("outbox/1.eml");
    while !answered.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no answer to the e-mail in the inbox"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    terminate(child.id());
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);

    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains(r#""database":"ok""#), "{health}");
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(metrics.contains("ventanilla_turns_total 0"), "{metrics}");
    assert!(metrics.contains("ventanilla_outbox_depth 0"), "{metrics}");
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    assert!(
        output.status.success(),
        "serve exited with {:?}: {log}",
        output.status
    );
    assert!(
        log.contains("Telegram: off"),
        "the log says what is off: {log}"
    );
    assert!(log.contains("e-mail: on"), "{log}");
    assert!(log.contains("IMAP off"), "{log}");
    let answer = std::fs::read_to_string(&answered).unwrap();
    assert!(answer.contains("To: luz@correo.test"), "{answer}");
    assert!(
        answer.contains("In-Reply-To: <serve.1@correo.test>"),
        "{answer}"
    );
    assert!(
        dir.path().join("inbox/cur").read_dir().unwrap().count() == 1,
        "the message moved to cur/"
    );
    assert!(
        dir.path().join("ventanilla.db").exists(),
        "SQLite under the data folder"
    );
}

/// Sends SIGTERM through the `kill` command (no libc dependency needed for one signal).
fn terminate(pid: u32) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}
