//! At the counter, once the applicant came: the checklist of what the clerk saw (the title's
//! original, its copies, the bank receipts…, as configured in `[console] checklist`), and the
//! documents the applicant already has, opened by the office or sent to them again.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{By, Refusal, audit, find, find_in, notify};
use crate::conversation::reply::Reply;
use crate::documents::DocumentRef;
use crate::domain::application::Status;
use crate::domain::staff::Permission;
use crate::service::Service;
use crate::store::audit::Event;
use crate::store::{self, Conn};

/// One item of the checklist as the office reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// The configured key (`title_original`); its name is the label `checklist.KEY`.
    pub key: String,
    pub seen: bool,
    /// Who marked it (a staff id; `None`: the command line) and when.
    pub by: Option<i64>,
    pub at: Option<DateTime<Utc>>,
}

/// The checklist of an application: every configured item, seen or not.
pub(crate) async fn items(
    service: &Service,
    conn: &mut Conn<'_>,
    application_id: i64,
) -> Result<Vec<Item>, sqlx::Error> {
    let checks = store::cases::checks(conn, application_id).await?;
    Ok(service
        .settings
        .console
        .checklist
        .iter()
        .map(|key| {
            let check = checks.iter().find(|c| c.item == *key);
            Item {
                key: key.clone(),
                seen: check.is_some(),
                by: check.and_then(|c| c.checked_by),
                at: check.map(|c| c.checked_at),
            }
        })
        .collect())
}

/// Whether the cédula may be issued as far as the checklist goes.
pub(crate) async fn ready_to_issue(
    service: &Service,
    conn: &mut Conn<'_>,
    application_id: i64,
) -> Result<bool, sqlx::Error> {
    if !service.settings.console.checklist_before_issuing {
        return Ok(true);
    }
    Ok(items(service, conn, application_id)
        .await?
        .iter()
        .all(|item| item.seen))
}

/// The checklist of `folio`.
pub async fn checklist(
    service: &Service,
    by: By<'_>,
    folio: &str,
) -> anyhow::Result<Result<(String, Vec<Item>), Refusal>> {
    let mut reader = service.db.reader().await?;
    let mut conn = reader.conn();
    let (case, _) = match find(service, &mut conn, by, folio, Permission::View).await? {
        Ok(found) => found,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let items = items(service, &mut conn, case.id).await?;
    Ok(Ok((case.folio, items)))
}

/// Marks items of the checklist as seen (`true`) or not (`false`), for an applicant who came
/// and is waiting for the decision. An item the configuration does not name is refused.
pub async fn check(
    service: &Service,
    by: By<'_>,
    folio: &str,
    changes: &[(String, bool)],
) -> anyhow::Result<Result<(String, Vec<Item>), Refusal>> {
    let configured = &service.settings.console.checklist;
    if changes.iter().any(|(key, _)| !configured.contains(key)) {
        return Ok(Err(Refusal::UnknownItem));
    }
    let now = service.clock.now();
    let mut tx = service.db.begin().await?;
    let (permission, wanted) = (Permission::Attend, Status::Attended);
    let case = match find_in(service, &mut tx.conn(), by, folio, permission, wanted).await? {
        Ok(case) => case,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let (mut seen, mut unseen) = (Vec::new(), Vec::new());
    for (key, mark) in changes {
        let at = mark.then_some((by.map(|member| member.id), now));
        if store::cases::set_check(&mut tx.conn(), case.id, key, at).await? {
            if *mark { &mut seen } else { &mut unseen }.push(key.as_str());
        }
    }
    if !seen.is_empty() || !unseen.is_empty() {
        let detail = serde_json::json!({ "seen": seen, "unseen": unseen });
        audit(
            &mut tx.conn(),
            service,
            by,
            &case,
            Event::DocumentsChecked,
            detail,
        )
        .await?;
    }
    let items = items(service, &mut tx.conn(), case.id).await?;
    tx.commit().await?;
    Ok(Ok((case.folio, items)))
}

/// A document of the case the office can open, by its place in [`documents`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseDocument {
    /// The name in the console's address (`solicitud`, `comprobante`, `invitacion`, `cedula`).
    pub name: &'static str,
    #[serde(skip)]
    pub document: DocumentRef,
}

/// The documents the applicant has so far: the request, the active appointment's receipt and
/// invitation, the cédula once issued (what `reenviar` sends them, without the payment sheets
/// of a draft).
pub(crate) async fn documents(
    conn: &mut Conn<'_>,
    application_id: i64,
) -> Result<Vec<CaseDocument>, sqlx::Error> {
    let Some(view) = store::applications::view(conn, application_id).await? else {
        return Ok(Vec::new());
    };
    Ok(DocumentRef::of_application(&view)
        .into_iter()
        .map(|document| CaseDocument {
            name: match document {
                DocumentRef::Request { .. } => "solicitud",
                DocumentRef::AppointmentReceipt { .. } => "comprobante",
                DocumentRef::Invite { .. } => "invitacion",
                DocumentRef::Cedula { .. } => "cedula",
                DocumentRef::PaymentSheet { .. } => "hoja-de-pago",
            },
            document,
        })
        .collect())
}

/// The documents of `folio` (to open one from the console).
pub async fn case_documents(
    service: &Service,
    by: By<'_>,
    folio: &str,
) -> anyhow::Result<Result<Vec<CaseDocument>, Refusal>> {
    let mut reader = service.db.reader().await?;
    let mut conn = reader.conn();
    let (case, _) = match find(service, &mut conn, by, folio, Permission::View).await? {
        Ok(found) => found,
        Err(refusal) => return Ok(Err(refusal)),
    };
    Ok(Ok(documents(&mut conn, case.id).await?))
}

/// Sends the applicant their documents again, on their own channel (an applicant at the
/// counter who lost the e-mail, or whose message failed). Returns how many were sent.
pub async fn resend(
    service: &Service,
    by: By<'_>,
    folio: &str,
) -> anyhow::Result<Result<(String, usize), Refusal>> {
    let mut tx = service.db.begin().await?;
    let (case, _) = match find(service, &mut tx.conn(), by, folio, Permission::Attend).await? {
        Ok(found) => found,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let documents = documents(&mut tx.conn(), case.id).await?;
    if documents.is_empty() {
        return Ok(Err(Refusal::NoDocuments));
    }
    let count = documents.len();
    let mut reply = Reply::new("office_resent")
        .with("folio", &case.folio)
        .with("count", count);
    for document in documents {
        reply = reply.attach(document.document);
    }
    notify(&mut tx.conn(), service, &case, &reply, None).await?;
    let detail = serde_json::json!({ "count": count });
    audit(
        &mut tx.conn(),
        service,
        by,
        &case,
        Event::DocumentsResent,
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(Ok((case.folio, count)))
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;
    use crate::templates::Templates;

    /// Every item the default configuration checks at the counter has its name to show.
    #[test]
    fn every_configured_item_has_a_label() {
        let settings = Settings::from_env(&Vec::<(String, String)>::new()).unwrap();
        let labels = Templates::new();
        assert!(!settings.console.checklist.is_empty());
        for key in &settings.console.checklist {
            assert!(labels.labels().has(&format!("checklist.{key}")), "{key}");
        }
    }
}
