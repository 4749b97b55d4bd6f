//! `ventanilla chat --jsonl`, run as a process the way a script would: one JSON line in, one
//! JSON line out per turn.

use std::io::Write;
use std::process::{Command, Stdio};

use ventanilla::channels::terminal::JsonTurn;

/// Runs `chat --jsonl --user USER` with `lines` on stdin against the database in `dir`.
fn chat(dir: &std::path::Path, user: &str, lines: &[&str]) -> Vec<JsonTurn> {
    let input: Vec<u8> = lines
        .iter()
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect();
    chat_bytes(dir, user, &input)
}

/// Like [`chat`], with raw bytes on stdin (one turn per line).
fn chat_bytes(dir: &std::path::Path, user: &str, input: &[u8]) -> Vec<JsonTurn> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ventanilla"))
        .args(["chat", "--jsonl", "--user", user])
        .env("VENTANILLA_DATA_DIR", dir)
        .env("VENTANILLA_NOW", "2026-11-30T10:00:00-06:00")
        .env_remove("DATABASE_URL")
        .env_remove("VENTANILLA_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ventanilla chat");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "chat failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let turns: Vec<JsonTurn> = stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON turn: {line}: {e}"))
        })
        .collect();
    assert_eq!(
        turns.len(),
        input.iter().filter(|&&b| b == b'\n').count(),
        "exactly one JSON line per input line"
    );
    turns
}

fn last_text(turn: &JsonTurn) -> &str {
    &turn.replies.last().expect("a reply").text
}

const JOURNEY: [&str; 21] = [
    "Hola",
    "si",
    "pegl 890909 mjcrms08",
    "si",
    "Luz María",
    "Pérez",
    "Gómez",
    "licenciatura",
    "ab12-cd34-ef",
    "Universidad de Guadalajara",
    "Licenciatura en Derecho",
    "jalisco",
    "15 de marzo de 2015",
    "Exento de examen",
    "1 de agosto de 2009",
    "30/06/2013",
    "luz@example.mx",
    "enviar solicitud",
    "Dirección General de Profesiones",
    "vie 4 dic",
    "10:30",
];

#[test]
fn a_full_journey_typed_the_way_people_type() {
    let dir = tempfile::tempdir().unwrap();

    let turns = chat(dir.path(), "luz", &JOURNEY);

    assert!(
        last_text(&turns[2]).contains("PEGL890909MJCRMS08"),
        "the CURP was normalised"
    );
    assert!(
        last_text(&turns[12]).contains("Paso 12 de 19"),
        "the title date was accepted"
    );
    let level = &turns[7].replies[0];
    assert!(
        level.text.contains("$1,773"),
        "the payment sheet shows the 2025 fee: {}",
        level.text
    );
    assert!(turns[17].replies[0].text.contains("SOL-2026-000001"));
    let confirmation = &turns[20].replies[0].text;
    assert!(confirmation.contains("Cita confirmada"), "{confirmation}");
    assert!(
        confirmation.contains("viernes 4 de diciembre a las 10:30"),
        "{confirmation}"
    );
    // Choices travel with their ids and labels.
    let office_question = turns[17].replies.last().unwrap();
    assert_eq!(office_question.choices[0].id, "dgp-cdmx");
    assert!(turns.iter().all(|t| t.error.is_none()));
}

#[test]
fn running_chat_again_resumes_at_the_same_question() {
    let dir = tempfile::tempdir().unwrap();
    let first = chat(dir.path(), "mar", &JOURNEY[..6]);
    assert!(
        last_text(&first[5]).contains("segundo apellido"),
        "{}",
        last_text(&first[5])
    );

    let second = chat(dir.path(), "mar", &["ayuda", "Gómez"]);

    // Help, then the same question again; then the answer moves on to the level.
    assert!(
        last_text(&second[0]).contains("segundo apellido"),
        "{}",
        last_text(&second[0])
    );
    assert!(
        last_text(&second[1]).contains("nivel de estudios"),
        "{}",
        last_text(&second[1])
    );
    // Another user is a different applicant, starting from the beginning.
    let other = chat(dir.path(), "otra", &["hola"]);
    assert!(last_text(&other[0]).contains("Aviso de privacidad"));
}

#[test]
fn a_repeated_input_id_gives_an_empty_turn() {
    let dir = tempfile::tempdir().unwrap();

    let turns = chat(
        dir.path(),
        "neo",
        &[
            r#"{"id":"m-1","text":"hola"}"#,
            r#"{"id":"m-1","text":"hola"}"#,
            r#"{"unsupported":"sticker"}"#,
        ],
    );

    assert!(!turns[0].replies.is_empty());
    assert!(
        turns[1].replies.is_empty(),
        "the same id again sends nothing"
    );
    assert!(
        turns[2].replies[0].text.contains("sticker"),
        "{}",
        turns[2].replies[0].text
    );
}

#[test]
fn a_person_sees_numbered_choices_and_the_last_question_on_return() {
    let dir = tempfile::tempdir().unwrap();
    let run = |input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ventanilla"))
            .args(["chat", "--user", "pepe"])
            .env("VENTANILLA_DATA_DIR", dir.path())
            .env_remove("DATABASE_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };

    let first = run("hola\n");
    let second = run("");

    assert!(first.contains("  1. S\u{ed}, acepto"), "{first}");
    assert!(first.contains("  2. No acepto"), "{first}");
    // Coming back shows the question that was left open.
    assert!(second.contains("Aviso de privacidad"), "{second}");
}

#[test]
fn a_line_that_is_not_utf8_is_answered_not_fatal() {
    let dir = tempfile::tempdir().unwrap();

    // Latin-1 "sí" (0xED) where UTF-8 was expected, then a normal line.
    let turns = chat_bytes(dir.path(), "lat", b"hola\ns\xed\nhola\n");

    assert!(last_text(&turns[0]).contains("Aviso de privacidad"));
    assert!(!turns[1].replies.is_empty(), "the odd line got an answer");
    assert!(turns.iter().all(|t| t.error.is_none()));
}

#[test]
fn two_users_may_use_the_same_input_ids() {
    let dir = tempfile::tempdir().unwrap();
    let script = [r#"{"id":"m-1","text":"hola"}"#];

    let ana = chat(dir.path(), "ana", &script);
    let bea = chat(dir.path(), "bea", &script);

    assert!(!ana[0].replies.is_empty());
    assert!(
        !bea[0].replies.is_empty(),
        "another user's m-1 is not a duplicate"
    );
}

#[cfg(unix)]
#[test]
fn the_data_folder_the_database_and_the_documents_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("var");
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };

    // Up to the level: its answer carries the payment sheets (PDFs saved for the terminal).
    let turns = chat(&data, "pau", &JOURNEY[..8]);

    let sheets = &turns[7].replies[0].attachments;
    assert!(!sheets.is_empty(), "payment sheets saved");
    assert_eq!(mode(&data), 0o700, "the data folder");
    assert_eq!(mode(&data.join("ventanilla.db")), 0o600, "the database");
    let wal = data.join("ventanilla.db-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600, "the WAL");
    }
    assert_eq!(mode(&data.join("documents")), 0o700);
    for sheet in sheets {
        let path = std::path::Path::new(&sheet.path);
        assert_eq!(mode(path), 0o600, "{}", sheet.path);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }
}
