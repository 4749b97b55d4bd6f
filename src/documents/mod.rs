//! Documents rendered from stored records: the cédula PDF (typst, DejaVu fonts, a QR code to its
//! verification page, the signed payload attached), signatures and their verification.
//! Rendering the same record twice gives the same bytes.

pub mod pdf;
pub mod qr;
pub mod signature;

use anyhow::Context as _;
use chrono::Timelike;
use serde::{Deserialize, Serialize};

use crate::domain::cedula::CedulaPayload;
use crate::store::cedulas::CedulaRow;
use crate::store::{self, Db};
use crate::templates::Templates;

/// A document an outgoing message carries, named by its record (rendered when sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DocumentRef {
    Cedula { number: i64 },
}

/// A rendered document.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub file_name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// What a cédula PDF carries attached (`cedula.json`): the payload as signed, the signature
/// and the public key that verifies it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedCedula {
    pub payload: CedulaPayload,
    pub signature: String,
    pub public_key: String,
}

/// Renders documents from the store.
#[derive(Clone)]
pub struct Documents {
    db: Db,
    pdf: pdf::Pdf,
    templates: Templates,
    public_url: String,
}

impl Documents {
    pub fn new(db: Db, templates: Templates, public_url: &str) -> Documents {
        Documents {
            db,
            pdf: pdf::Pdf::new(),
            templates,
            public_url: public_url.trim_end_matches('/').to_string(),
        }
    }

    /// The verification address of a cédula (what its QR code holds).
    pub fn verification_url(&self, number: &str) -> String {
        format!("{}/verificar/{number}", self.public_url)
    }

    pub async fn render(&self, document: &DocumentRef) -> anyhow::Result<Rendered> {
        match document {
            DocumentRef::Cedula { number } => {
                let mut reader = self.db.reader().await?;
                let row = store::cedulas::by_number(&mut reader.conn(), *number)
                    .await?
                    .with_context(|| format!("no cédula {number}"))?;
                drop(reader);
                self.cedula(&row)
            }
        }
    }

    /// The cédula's PDF, from its stored row.
    pub fn cedula(&self, row: &CedulaRow) -> anyhow::Result<Rendered> {
        let payload: CedulaPayload =
            serde_json::from_str(&row.payload).context("the stored cédula payload is malformed")?;
        let number = payload.number.to_string();
        let url = self.verification_url(&number);
        let labels = self.templates.labels();
        // Shown in the office's zone (Mexico City; no daylight saving time since 2022).
        let local = payload
            .issued_at
            .with_timezone(&chrono_tz::America::Mexico_City);
        let name = [
            payload.given_names.as_str(),
            payload.first_surname.as_str(),
            payload.second_surname.as_deref().unwrap_or_default(),
        ]
        .join(" ")
        .trim()
        .to_string();
        let data = serde_json::json!({
            "number": number,
            "folio": payload.folio,
            "name": name,
            "curp": payload.curp,
            "institution": payload.institution,
            "program": payload.program,
            "level": labels.get(&format!("level.{}", payload.level)),
            "issued_on": labels.long_date(local.date_naive()),
            "issued_time": format!("{:02}:{:02}", local.hour(), local.minute()),
            "cadena": row.cadena,
            "signature": row.signature,
            "url": url,
        });
        let signed = SignedCedula {
            payload,
            signature: row.signature.clone(),
            public_key: row.public_key.clone(),
        };
        let signed = serde_json::to_string(&signed).expect("serializes");
        let qr = qr::svg(&url)?;
        let bytes = self.pdf.render(
            "cedula.typ",
            &format!("cedula-{number}"),
            &[
                ("data", &data.to_string()),
                ("payload", &signed),
                ("qr", &qr),
            ],
        )?;
        Ok(Rendered {
            file_name: format!("cedula-{number}.pdf"),
            content_type: "application/pdf",
            bytes,
        })
    }
}

/// The outcome of checking a cédula PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Valid { number: String },
    Invalid { reason: &'static str },
}

/// Checks a cédula PDF: its attached payload and signature, against the office's public key
/// (when known) and the registry.
pub async fn verify_pdf(
    db: &Db,
    office_key: Option<&str>,
    pdf_bytes: &[u8],
) -> anyhow::Result<Verdict> {
    let invalid = |reason| Ok(Verdict::Invalid { reason });
    let Some(attached) = pdf::attachment(pdf_bytes, "cedula.json") else {
        return invalid("no_signed_payload");
    };
    let Ok(signed) = serde_json::from_slice::<SignedCedula>(&attached) else {
        return invalid("malformed_payload");
    };
    if office_key.is_some_and(|key| key.trim() != signed.public_key.trim()) {
        return invalid("foreign_key");
    }
    let cadena = signed.payload.cadena_original();
    if signature::verify(&signed.public_key, &cadena, &signed.signature).is_err() {
        return invalid("signature_mismatch");
    }
    let mut reader = db.reader().await?;
    let number = i64::from(signed.payload.number.value());
    let Some(row) = store::cedulas::by_number(&mut reader.conn(), number).await? else {
        return invalid("not_in_registry");
    };
    let stored: Option<CedulaPayload> = serde_json::from_str(&row.payload).ok();
    if stored.as_ref() != Some(&signed.payload) || row.signature != signed.signature {
        return invalid("differs_from_registry");
    }
    Ok(Verdict::Valid {
        number: signed.payload.number.to_string(),
    })
}
