//! Cédula PDFs rendered per second (typst, DejaVu fonts, QR code, signed payload attached), from
//! stored rows, each a different cédula. `cargo bench --bench documents` (set `BENCH_PDFS`).

use std::time::Instant;

use chrono::TimeZone;
use ventanilla::documents::Documents;
use ventanilla::documents::signature::Signer;
use ventanilla::domain::cedula::{CADENA_VERSION, CedulaNumber, CedulaPayload};
use ventanilla::store::Db;
use ventanilla::store::cedulas::CedulaRow;
use ventanilla::templates::Templates;

fn main() {
    let count: usize = std::env::var("BENCH_PDFS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::generate(&dir.path().join("key")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime
        .block_on(Db::connect(&format!(
            "sqlite://{}",
            dir.path().join("db").display()
        )))
        .unwrap();
    let settings = ventanilla::config::Settings::from_env(&[
        ("VENTANILLA_DATA_DIR", dir.path().to_str().unwrap()),
        ("PUBLIC_URL", "https://ventanilla.example.mx"),
    ])
    .unwrap();
    let documents = Documents::new(db, Templates::new(), &settings);
    let rows: Vec<CedulaRow> = (1..=count as u32)
        .map(|n| {
            let payload = CedulaPayload {
                version: CADENA_VERSION,
                number: CedulaNumber::new(n).unwrap(),
                folio: format!("SOL-2026-{n:06}"),
                curp: "PEGL890909MJCRMS08".into(),
                given_names: "Luz María".into(),
                first_surname: "Pérez".into(),
                second_surname: Some("Gómez".into()),
                institution: "Universidad de Guadalajara".into(),
                program: "Licenciatura en Derecho".into(),
                level: "licenciatura".into(),
                issued_at: chrono::Utc
                    .with_ymd_and_hms(2026, 12, 3, 16, 10, 0)
                    .unwrap(),
                verification_url: Some(documents.verification_url(&format!("{n:08}"))),
            };
            let cadena = payload.cadena_original();
            CedulaRow {
                number: i64::from(n),
                application_id: i64::from(n),
                payload: serde_json::to_string(&payload).unwrap(),
                signature: signer.sign(&cadena),
                public_key: signer.public_key(),
                cadena,
                issued_at: payload.issued_at,
            }
        })
        .collect();

    let started = Instant::now();
    let first = documents.cedula(&rows[0]).unwrap();
    let first_elapsed = started.elapsed();

    let started = Instant::now();
    let mut bytes = 0usize;
    for row in &rows {
        bytes += documents.cedula(row).unwrap().bytes.len();
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "first cédula PDF (fonts and template loaded): {:.0} ms, {} KiB",
        first_elapsed.as_secs_f64() * 1000.0,
        first.bytes.len() / 1024
    );
    println!(
        "{count} cédula PDFs: {:.1} PDFs/s ({:.1} ms each, {} KiB on average), one core",
        count as f64 / elapsed,
        elapsed * 1000.0 / count as f64,
        bytes / count / 1024
    );
}
