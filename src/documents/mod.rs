//! Documents rendered from stored records: the cédula PDF (typst, DejaVu fonts, a QR code to its
//! verification page, the signed payload attached), signatures and their verification.
//! Rendering the same record twice gives the same bytes.

pub mod ics;
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

pub use crate::domain::document::DocumentRef;

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
    procedure: std::sync::Arc<crate::domain::procedure::Procedure>,
}

impl Documents {
    pub fn new(db: Db, templates: Templates, settings: &crate::config::Settings) -> Documents {
        Documents {
            db,
            pdf: pdf::Pdf::new(),
            templates,
            public_url: settings.public_url.trim_end_matches('/').to_string(),
            procedure: std::sync::Arc::new(settings.procedure.clone()),
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
                // Typst's layout takes tens of milliseconds of CPU: off the async threads.
                let documents = self.clone();
                tokio::task::spawn_blocking(move || documents.cedula(&row))
                    .await
                    .context("the cédula renderer stopped")?
            }
            DocumentRef::PaymentSheet {
                conversation_id,
                level,
                concept,
                year,
            } => {
                self.payment_sheet(*conversation_id, level, concept, *year)
                    .await
            }
            DocumentRef::Request { application_id } => self.request(*application_id).await,
            DocumentRef::AppointmentReceipt { appointment_id } => {
                let (appointment, case, data) = self.appointment(*appointment_id).await?;
                self.receipt(&appointment, &case, &data).await
            }
            DocumentRef::Invite {
                appointment_id,
                cancelled,
            } => {
                let (appointment, case, _) = self.appointment(*appointment_id).await?;
                let mut reader = self.db.reader().await?;
                let ids = store::appointments::ids_of(&mut reader.conn(), case.id).await?;
                let index = ids.iter().position(|id| id == appointment_id).unwrap_or(0);
                let office = self.office(&appointment.office_id)?;
                let bytes = ics::invite(&ics::Invite {
                    uid: format!("cita-{}@{}", case.folio, self.host()),
                    index,
                    cancelled: *cancelled,
                    office,
                    day: appointment.day,
                    slot: &appointment.slot,
                    stamp: match (cancelled, appointment.cancelled_at) {
                        (true, Some(at)) => at,
                        _ => appointment.created_at,
                    },
                    summary: &self.templates.render(
                        "documents/invite_summary.txt",
                        serde_json::json!({ "folio": case.folio }),
                    )?,
                })?;
                Ok(Rendered {
                    file_name: format!("cita-{}.ics", case.folio),
                    content_type: "text/calendar; charset=utf-8",
                    bytes,
                })
            }
        }
    }

    fn host(&self) -> &str {
        let rest = self
            .public_url
            .split("://")
            .nth(1)
            .unwrap_or(&self.public_url);
        rest.split(['/', ':']).next().unwrap_or("ventanilla")
    }

    fn office(&self, id: &str) -> anyhow::Result<&crate::domain::calendar::Office> {
        self.procedure
            .office(id)
            .with_context(|| format!("office {id} is not configured"))
    }

    /// Renders a PDF on a blocking thread (typst's layout takes tens of milliseconds of CPU,
    /// which would stall the other tasks of an async thread).
    async fn render_pdf(
        &self,
        template: &'static str,
        ident: String,
        file_name: String,
        data: &serde_json::Value,
    ) -> anyhow::Result<Rendered> {
        let pdf = self.pdf.clone();
        let data = data.to_string();
        let bytes =
            tokio::task::spawn_blocking(move || pdf.render(template, &ident, &[("data", &data)]))
                .await
                .context("the PDF renderer stopped")??;
        Ok(Rendered {
            file_name,
            content_type: "application/pdf",
            bytes,
        })
    }

    async fn payment_sheet(
        &self,
        conversation_id: i64,
        level: &str,
        concept: &str,
        year: i32,
    ) -> anyhow::Result<Rendered> {
        use crate::domain::{academic::Level, fees::Concept, payment};
        let level = Level::from_key(level).context("unknown level")?;
        let concept = Concept::ALL
            .into_iter()
            .find(|c| c.key() == concept)
            .context("unknown concept")?;
        let mut reader = self.db.reader().await?;
        let (curp, name) = holder(&mut reader.conn(), conversation_id).await?;
        let procedure = &self.procedure;
        let amount = procedure
            .fees
            .fee(year, level, concept)
            .map(|fee| crate::templates::pesos(fee.payable_pesos()));
        let reference =
            payment::sheet_reference(&procedure.clave_referencia, conversation_id, concept, level);
        let labels = self.templates.labels();
        let data = serde_json::json!({
            "agency": procedure.agency,
            "clave_referencia": procedure.clave_referencia,
            "cadena_dependencia": procedure.cadena_dependencia,
            "reference": reference,
            "concept": labels.get(&format!("concept.{}", concept.key())),
            "level": labels.get(&format!("level.{}", level.key())),
            "amount": amount,
            "year": year,
            "curp": curp,
            "name": name,
        });
        self.render_pdf(
            "hoja_de_ayuda.typ",
            format!("hoja-{reference}"),
            format!("hoja-de-ayuda-{}.pdf", concept.key()),
            &data,
        )
        .await
    }

    async fn request(&self, application_id: i64) -> anyhow::Result<Rendered> {
        let mut reader = self.db.reader().await?;
        let case = store::cases::by_id(&mut reader.conn(), application_id)
            .await?
            .context("no such application")?;
        let data: crate::domain::application::ApplicationData = serde_json::from_str(&case.data)?;
        let labels = self.templates.labels();
        let zone = self.procedure.zone();
        let academic = &data.academic;
        let exam = match academic.exam {
            crate::domain::academic::ProfessionalExam::Taken(date) => Some(labels.long_date(date)),
            crate::domain::academic::ProfessionalExam::Exempt => None,
        };
        let context = serde_json::json!({
            "folio": case.folio,
            "submitted_on": labels.long_date(case.submitted_at.with_timezone(&zone).date_naive()),
            "name": data.name.full_name(),
            "curp": data.curp.as_str(),
            "email": data.email.as_str(),
            "payment_key": data.payment_key.as_str(),
            "level": labels.get(&format!("level.{}", academic.level.key())),
            "institution": academic.institution,
            "program": academic.program,
            "entity": labels.get(&format!("entity.{}", academic.entity.code())),
            "title_issued_on": labels.long_date(academic.title_issued_on),
            "studies": format!(
                "{} – {}",
                labels.long_date(academic.studies_started_on),
                labels.long_date(academic.studies_ended_on)
            ),
            "exam": exam,
        });
        self.render_pdf(
            "solicitud.typ",
            format!("solicitud-{}", case.folio),
            format!("solicitud-{}.pdf", case.folio),
            &context,
        )
        .await
    }

    async fn appointment(
        &self,
        appointment_id: i64,
    ) -> anyhow::Result<(
        store::appointments::AppointmentRow,
        store::cases::Case,
        crate::domain::application::ApplicationData,
    )> {
        let mut reader = self.db.reader().await?;
        let appointment = store::appointments::get(&mut reader.conn(), appointment_id)
            .await?
            .context("no such appointment")?;
        let case = store::cases::by_id(&mut reader.conn(), appointment.application_id)
            .await?
            .context("no such application")?;
        let data = serde_json::from_str(&case.data)?;
        Ok((appointment, case, data))
    }

    async fn receipt(
        &self,
        appointment: &store::appointments::AppointmentRow,
        case: &store::cases::Case,
        data: &crate::domain::application::ApplicationData,
    ) -> anyhow::Result<Rendered> {
        let office = self.office(&appointment.office_id)?;
        let labels = self.templates.labels();
        let context = serde_json::json!({
            "folio": case.folio,
            "name": data.name.full_name(),
            "curp": data.curp.as_str(),
            "office": office.name,
            "address": office.address,
            "day": labels.weekday_date(appointment.day),
            "time": appointment.slot,
            "cancelled": appointment.status != store::appointments::AppointmentStatus::Active,
        });
        self.render_pdf(
            "comprobante_cita.typ",
            format!("cita-{}", appointment.id),
            format!("comprobante-cita-{}.pdf", case.folio),
            &context,
        )
        .await
    }

    /// The cédula's PDF, from its stored row.
    pub fn cedula(&self, row: &CedulaRow) -> anyhow::Result<Rendered> {
        let payload: CedulaPayload =
            serde_json::from_str(&row.payload).context("the stored cédula payload is malformed")?;
        let number = payload.number.to_string();
        // The signed address when the payload has one (version 2), so the page is a function
        // of the payload wherever PUBLIC_URL points today.
        let url = payload
            .verification_url
            .clone()
            .unwrap_or_else(|| self.verification_url(&number));
        let labels = self.templates.labels();
        let local = payload.issued_at.with_timezone(&self.procedure.zone());
        let name = payload.full_name();
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
    /// The page is the one the office issued for this signed payload, which is in the registry.
    Valid { signed: Box<CedulaPayload> },
    /// `signed` is the attached payload when its signature holds (what the cédula really
    /// certifies, e.g. when the page shows someone else), `None` otherwise.
    Invalid {
        reason: &'static str,
        signed: Option<Box<CedulaPayload>>,
    },
}

impl Verdict {
    fn invalid(reason: &'static str) -> anyhow::Result<Verdict> {
        Ok(Verdict::Invalid {
            reason,
            signed: None,
        })
    }
}

/// The largest PDF `verify` reads (a cédula is some 40 kB).
pub const MAX_PDF_BYTES: u64 = 16 * 1024 * 1024;

/// Checks a cédula PDF: its attached payload and signature, against the office's public key
/// (when known) and the registry; then that the document itself is the one issued for that
/// payload: the cédula is rendered again from the registry's record (the same payload, checked
/// above) and must be the same bytes, so a genuine `cedula.json` inside a page showing another
/// name, another QR code or anything else does not verify.
pub async fn verify_pdf(
    documents: &Documents,
    office_key: Option<&str>,
    pdf_bytes: &[u8],
) -> anyhow::Result<Verdict> {
    if u64::try_from(pdf_bytes.len()).unwrap_or(u64::MAX) > MAX_PDF_BYTES {
        return Verdict::invalid("too_large");
    }
    let attached = match pdf::attachment(pdf_bytes, "cedula.json") {
        Ok(Some(attached)) => attached,
        Ok(None) => return Verdict::invalid("no_signed_payload"),
        Err(pdf::AttachmentError::TooLarge) => return Verdict::invalid("too_large"),
    };
    let Ok(signed) = serde_json::from_slice::<SignedCedula>(&attached) else {
        return Verdict::invalid("malformed_payload");
    };
    if office_key.is_some_and(|key| key.trim() != signed.public_key.trim()) {
        return Verdict::invalid("foreign_key");
    }
    let cadena = signed.payload.cadena_original();
    if signature::verify(&signed.public_key, &cadena, &signed.signature).is_err() {
        return Verdict::invalid("signature_mismatch");
    }
    let invalid = |reason| {
        Ok(Verdict::Invalid {
            reason,
            signed: Some(Box::new(signed.payload.clone())),
        })
    };
    let mut reader = documents.db.reader().await?;
    let number = i64::from(signed.payload.number.value());
    let row = store::cedulas::by_number(&mut reader.conn(), number).await?;
    drop(reader);
    let Some(row) = row else {
        return invalid("not_in_registry");
    };
    let stored: Option<CedulaPayload> = serde_json::from_str(&row.payload).ok();
    if stored.as_ref() != Some(&signed.payload) || row.signature != signed.signature {
        return invalid("differs_from_registry");
    }
    let renderer = documents.clone();
    let issued = tokio::task::spawn_blocking(move || renderer.cedula(&row)).await??;
    if issued.bytes != pdf_bytes {
        return invalid("page_differs");
    }
    Ok(Verdict::Valid {
        signed: Box::new(signed.payload),
    })
}

/// The CURP and name on a payment sheet: from the draft, or from the application once
/// submitted.
async fn holder(
    conn: &mut store::Conn<'_>,
    conversation_id: i64,
) -> anyhow::Result<(String, String)> {
    use crate::conversation::state::State;
    let row = store::conversations::get(conn, conversation_id)
        .await?
        .context("no such conversation")?;
    let stored = State::from_json(&row.state)?;
    let state = stored.beneath();
    match state.draft() {
        Some(draft) => {
            let curp = draft
                .curp
                .as_ref()
                .map(|c| c.as_str().to_string())
                .unwrap_or_default();
            let name = [
                draft.given_names.clone(),
                draft.first_surname.clone(),
                draft.second_surname.clone().flatten(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
            Ok((curp, name))
        }
        None => {
            let app = state.app().context("the conversation has no application")?;
            let data = store::applications::data(conn, app.id)
                .await?
                .context("no application data")?;
            Ok((data.curp.as_str().to_string(), data.name.full_name()))
        }
    }
}
