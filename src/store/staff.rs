//! Staff accounts, their console sessions and the failed logins counted against an account or
//! an address.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{Conn, on};
use crate::domain::staff::Role;

/// A staff account as stored.
#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    /// The argon2id PHC string.
    pub password_hash: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub office_id: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
}

const USER_COLUMNS: &str = "id, name, password_hash, role, office_id, disabled_at";

/// Creates an account; `None` when the name is taken.
pub async fn insert_user(
    conn: &mut Conn<'_>,
    name: &str,
    password_hash: &str,
    role: Role,
    office_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<i64>, sqlx::Error> {
    on!(conn, c => sqlx::query_scalar::<_, i64>(
        "INSERT INTO staff_users (name, password_hash, role, office_id, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING RETURNING id",
    )
    .bind(name)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(office_id)
    .bind(now)
    .fetch_optional(c)
    .await)
}

pub async fn user_by_name(conn: &mut Conn<'_>, name: &str) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM staff_users WHERE name = $1");
    on!(conn, c => sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(name)
        .fetch_optional(c)
        .await)
}

pub async fn user_by_id(conn: &mut Conn<'_>, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM staff_users WHERE id = $1");
    on!(conn, c => sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(id)
        .fetch_optional(c)
        .await)
}

/// Every account, by name.
pub async fn users(conn: &mut Conn<'_>) -> Result<Vec<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM staff_users ORDER BY name");
    on!(conn, c => sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(sql.as_str()))
        .fetch_all(c)
        .await)
}

/// Replaces the password hash; false when there is no such account.
pub async fn set_password(
    conn: &mut Conn<'_>,
    name: &str,
    password_hash: &str,
) -> Result<bool, sqlx::Error> {
    let done = on!(conn, c => sqlx::query("UPDATE staff_users SET password_hash = $1 WHERE name = $2")
        .bind(password_hash)
        .bind(name)
        .execute(c)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

/// Disables the account; false when there is no such account.
pub async fn disable(
    conn: &mut Conn<'_>,
    name: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = on!(conn, c => sqlx::query(
        "UPDATE staff_users SET disabled_at = COALESCE(disabled_at, $1) WHERE name = $2",
    )
    .bind(now)
    .bind(name)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

/// Ends every session of the account (its password changed, it was disabled).
pub async fn end_sessions_of(conn: &mut Conn<'_>, user_id: i64) -> Result<u64, sqlx::Error> {
    let done = on!(conn, c => sqlx::query("DELETE FROM staff_sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(c)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(done)
}

/// A console session as stored.
#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    pub user_id: i64,
    pub csrf: String,
    /// Unix milliseconds.
    pub created_at: i64,
    pub last_seen_at: i64,
}

pub async fn insert_session(
    conn: &mut Conn<'_>,
    token_hash: &str,
    user_id: i64,
    csrf: &str,
    now_millis: i64,
) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "INSERT INTO staff_sessions (token_hash, user_id, csrf, created_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(csrf)
    .bind(now_millis)
    .execute(c)
    .await
    .map(|_| ()))
}

pub async fn session(
    conn: &mut Conn<'_>,
    token_hash: &str,
) -> Result<Option<SessionRow>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, SessionRow>(
        "SELECT user_id, csrf, created_at, last_seen_at FROM staff_sessions WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(c)
    .await)
}

/// Records that the session was used now.
pub async fn touch_session(
    conn: &mut Conn<'_>,
    token_hash: &str,
    now_millis: i64,
) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query("UPDATE staff_sessions SET last_seen_at = $1 WHERE token_hash = $2")
        .bind(now_millis)
        .bind(token_hash)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn delete_session(conn: &mut Conn<'_>, token_hash: &str) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query("DELETE FROM staff_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(c)
        .await
        .map(|_| ()))
}

/// The failed logins of a key in the window that started at `window_start` or later.
pub async fn failures(
    conn: &mut Conn<'_>,
    key: &str,
    window_start: i64,
) -> Result<i64, sqlx::Error> {
    let found = on!(conn, c => sqlx::query_scalar::<_, i64>(
        "SELECT failures FROM login_failures WHERE throttle_key = $1 AND window_start >= $2",
    )
    .bind(key)
    .bind(window_start)
    .fetch_optional(c)
    .await)?;
    Ok(found.unwrap_or(0))
}

/// Counts a failed login for `key`; a window older than `window_start` starts again at `now`.
pub async fn record_failure(
    conn: &mut Conn<'_>,
    key: &str,
    window_start: i64,
    now_millis: i64,
) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query(
        "INSERT INTO login_failures (throttle_key, failures, window_start) VALUES ($1, 1, $3)
         ON CONFLICT (throttle_key) DO UPDATE SET
             failures = CASE WHEN login_failures.window_start >= $2
                             THEN login_failures.failures + 1 ELSE 1 END,
             window_start = CASE WHEN login_failures.window_start >= $2
                                 THEN login_failures.window_start ELSE $3 END",
    )
    .bind(key)
    .bind(window_start)
    .bind(now_millis)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Forgets the failures of `key` (after a successful login of the account).
pub async fn clear_failures(conn: &mut Conn<'_>, key: &str) -> Result<(), sqlx::Error> {
    on!(conn, c => sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1")
        .bind(key)
        .execute(c)
        .await
        .map(|_| ()))
}
