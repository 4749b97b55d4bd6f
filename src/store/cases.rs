//! Cases: an application as the office handles it (found by folio or id, with its submitted
//! data), and the office's decisions recorded on it.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{Conn, on};
use crate::domain::application::Status;

/// An application found by its folio, as the office sees it.
#[derive(Debug, Clone, FromRow)]
pub struct Case {
    pub id: i64,
    pub folio: String,
    pub conversation_id: i64,
    #[sqlx(try_from = "String")]
    pub status: Status,
    pub data: String,
    pub submitted_at: DateTime<Utc>,
}

pub async fn by_folio(conn: &mut Conn<'_>, folio: &str) -> Result<Option<Case>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, Case>(
        "SELECT id, folio, conversation_id, status, data, submitted_at
         FROM applications WHERE folio = $1",
    )
    .bind(folio)
    .fetch_optional(c)
    .await)
}

pub async fn by_id(conn: &mut Conn<'_>, id: i64) -> Result<Option<Case>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, Case>(
        "SELECT id, folio, conversation_id, status, data, submitted_at
         FROM applications WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Records why the office rejected the application.
pub async fn set_rejection_reason(
    conn: &mut Conn<'_>,
    application_id: i64,
    reason: &str,
) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query("UPDATE applications SET rejection_reason = $1 WHERE id = $2")
        .bind(reason)
        .bind(application_id)
        .execute(c)
        .await
        .map(|_| ()))
}
