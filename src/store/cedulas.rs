//! Issued cédulas: their numbers (sequential, never reused) and their signed records.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{Conn, on};

/// Allocates the next cédula number (sequential, never reused).
pub async fn next_number(conn: &mut Conn<'_>) -> Result<i64, sqlx::Error> {
    on!(conn, c => sqlx::query_scalar::<_, i64>(
        "INSERT INTO cedula_counter (id, last_number) VALUES (1, 1)
         ON CONFLICT (id) DO UPDATE SET last_number = cedula_counter.last_number + 1
         RETURNING last_number",
    )
    .fetch_one(c)
    .await)
}

/// A stored cédula.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct CedulaRow {
    pub number: i64,
    pub application_id: i64,
    pub payload: String,
    pub cadena: String,
    pub signature: String,
    pub public_key: String,
    pub issued_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut Conn<'_>, row: &CedulaRow) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "INSERT INTO cedulas (number, application_id, payload, cadena, signature, public_key, issued_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(row.number)
    .bind(row.application_id)
    .bind(&row.payload)
    .bind(&row.cadena)
    .bind(&row.signature)
    .bind(&row.public_key)
    .bind(row.issued_at)
    .execute(c)
    .await
    .map(|_| ()))
}

pub async fn by_number(conn: &mut Conn<'_>, number: i64) -> Result<Option<CedulaRow>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, CedulaRow>(
        "SELECT number, application_id, payload, cadena, signature, public_key, issued_at
         FROM cedulas WHERE number = $1",
    )
    .bind(number)
    .fetch_optional(c)
    .await)
}
