//! `ventanilla serve` as a process: it starts on the embedded defaults, answers `/healthz` and
//! `/metrics`, answers e-mail dropped in its Maildir inbox with `.eml` files, and stops on
//! SIGTERM. It cannot be held open: idle connections beyond its starting open-files limit, a
//! half-sent request, slow requests filling the cap, an oversized body.

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

/// A running `serve`: stopped with SIGTERM by `stop`, killed if a failing test drops it.
struct Serving(Option<std::process::Child>);

impl Serving {
    fn stop(mut self) -> std::process::Output {
        let child = self.0.take().unwrap();
        terminate(child.id());
        child.wait_with_output().unwrap()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `serve` on a fresh data folder and `port`, with `config` as its settings file; `soft_nofile`
/// lowers its soft open-files limit before it starts (as many systems start services).
fn spawn_serve(
    dir: &std::path::Path,
    port: u16,
    config: &str,
    soft_nofile: Option<libc::rlim_t>,
) -> Serving {
    let config_path = dir.join("ventanilla.toml");
    std::fs::write(&config_path, config).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ventanilla"));
    command
        .arg("serve")
        .env("VENTANILLA_DATA_DIR", dir)
        .env("VENTANILLA_CONFIG", &config_path)
        .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env_remove("DATABASE_URL")
        .env_remove("TELEGRAM_BOT_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(soft) = soft_nofile {
        use std::os::unix::process::CommandExt;
        // SAFETY: between fork and exec only async-signal-safe calls (getrlimit, setrlimit).
        unsafe {
            command.pre_exec(move || {
                let mut limit = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                limit.rlim_cur = soft.min(limit.rlim_max);
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    Serving(Some(command.spawn().unwrap()))
}

/// Waits (generously) until `serve` answers `/healthz`.
fn wait_until_up(port: u16) -> String {
    let started = Instant::now();
    loop {
        if let Some(response) = get(port, "/healthz") {
            return response;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "serve did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// This process's (soft, hard) open-files limits, the soft one raised to the hard one.
fn raise_own_nofile_limit() -> (libc::rlim_t, libc::rlim_t) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls on a struct we own.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    (limit.rlim_cur, limit.rlim_max)
}

/// Drops a message into the Maildir inbox and waits (generously) for its `.eml` answer.
fn mail_is_answered(dir: &std::path::Path, id: &str) {
    let message = format!(
        "From: Luz <luz@correo.test>\r\nTo: tramites@localhost\r\n\
         Subject: Hola\r\nMessage-ID: <{id}@correo.test>\r\n\r\nHola\r\n"
    );
    std::fs::write(dir.join(format!("inbox/tmp/{id}")), message).unwrap();
    std::fs::rename(
        dir.join(format!("inbox/tmp/{id}")),
        dir.join(format!("inbox/new/{id}")),
    )
    .unwrap();
    let started = Instant::now();
    while !dir
        .join("outbox")
        .read_dir()
        .is_ok_and(|mut d| d.next().is_some())
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no answer to the e-mail in the inbox"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_thousand_idle_connections_do_not_starve_healthz_or_the_maildir() {
    let (_, hard) = raise_own_nofile_limit();
    assert!(
        hard >= 2048,
        "this test needs a hard open-files limit of 2048 at least"
    );
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // Idle connections are closed after the header-read timeout: long here, so that all of
    // them are still open when /healthz is asked.
    let config = "[http]\nheader_read_timeout_millis = 600000\n";
    let child = spawn_serve(dir.path(), port, config, Some(1024));
    wait_until_up(port);

    // More idle connections than the soft limit serve started with.
    let idle: Vec<TcpStream> = (0..1100)
        .map(|_| {
            TcpStream::connect_timeout(
                &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
                Duration::from_secs(30),
            )
            .expect("connect")
        })
        .collect();
    let health = get(port, "/healthz");
    mail_is_answered(dir.path(), "idle.1");
    drop(idle);
    let output = child.stop();
    let log = without_colours(&String::from_utf8_lossy(&output.stderr));

    let health = health.expect("/healthz answers (within the client's 5 s timeout)");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(
        log.contains(&format!("soft={hard}")),
        "serve raised its soft limit to the hard one: {log}"
    );
    assert!(!log.contains("Too many open files"), "{log}");
}

#[test]
fn a_half_sent_request_is_closed_and_a_slow_body_is_cut_short() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = "[http]\nheader_read_timeout_millis = 300\nrequest_timeout_millis = 300\n";
    let child = spawn_serve(dir.path(), port, config, None);
    wait_until_up(port);

    // The header never ends: the server closes the connection (the client would wait 60 s).
    let mut half = TcpStream::connect(("127.0.0.1", port)).unwrap();
    half.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1")
        .unwrap();
    let mut rest = Vec::new();
    let closed = half.read_to_end(&mut rest);
    // A connection that sends nothing at all is closed the same way.
    let mut silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let silent_closed = silent.read_to_end(&mut Vec::new());
    // The header is complete, the body never is: the request is answered 503.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    slow.write_all(
        b"POST /telegram/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"upd",
    )
    .unwrap();
    let mut answer = String::new();
    let answered = slow.read_to_string(&mut answer);
    child.stop();

    assert!(
        closed.is_ok(),
        "the half-sent request is closed: {closed:?}"
    );
    assert!(silent_closed.is_ok(), "{silent_closed:?}");
    assert!(answered.is_ok(), "{answered:?}");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("ocupado"), "{answer}");
}

/// The log without its terminal colour codes (`ESC [ … m`).
fn without_colours(log: &str) -> String {
    let mut out = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether the server has written to (or closed) `stream`, without waiting.
fn answered(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let answered = !matches!(
        stream.peek(&mut byte),
        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock
    );
    stream.set_nonblocking(false).unwrap();
    answered
}

/// Sends a request head (and maybe part of its body) and leaves the connection open.
fn start_request(port: u16, head: &str) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream
}

#[test]
fn slow_requests_fill_the_cap_but_healthz_still_answers_and_big_bodies_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = "[http]\nmax_concurrent_requests = 2\nmax_body_bytes = 1024\n";
    let child = spawn_serve(dir.path(), port, config, None);
    wait_until_up(port);

    // Two requests whose bodies never finish hold the two places. The server may read one of
    // them after a probe below and refuse it: such a request is sent again, until both are
    // held (nothing answered on their connections) and the probe is refused.
    let slow_head = "POST /telegram/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
    let mut held = vec![
        start_request(port, slow_head),
        start_request(port, slow_head),
    ];
    let started = Instant::now();
    let busy = loop {
        for slot in held.iter_mut() {
            if answered(slot) {
                *slot = start_request(port, slow_head);
            }
        }
        let response = get(port, "/metrics").expect("answered");
        if response.starts_with("HTTP/1.1 503") && !held.iter().any(answered) {
            break response;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the cap never filled: {response}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let health = get(port, "/healthz");
    let mut big = start_request(
        port,
        "POST /telegram/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\
         Connection: close\r\n\r\n",
    );
    big.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut refused = String::new();
    let _ = big.read_to_string(&mut refused);
    drop(held);
    child.stop();

    assert!(busy.contains("ocupado"), "{busy}");
    assert!(
        busy.to_ascii_lowercase().contains("retry-after: 1"),
        "{busy}"
    );
    let health = health.expect("/healthz answers");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(refused.starts_with("HTTP/1.1 413"), "{refused}");
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
