//! Staff accounts and console sessions.
//!
//! - Passwords are hashed with argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane),
//!   off the async threads; an unknown name costs the same as a wrong password.
//! - A session is a random token in an `HttpOnly` cookie; the database keeps its SHA-256 (a
//!   copy of the table opens no session), the token of its forms (CSRF), when it started and
//!   when it was last used: it ends after `[console] idle_minutes` unused or `absolute_hours`
//!   after the login, and with logout, a password change or the account disabled.
//! - Failed logins are counted per account and per client address in a window; beyond the
//!   limits the login is refused without checking the password until the window ends.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};

use super::By;
use crate::domain::staff::{Permission, Role, StaffMember};
use crate::domain::text::hex;
use crate::service::Service;
use crate::store::audit::Event;
use crate::store::{self, Conn, millis};

/// Passwords shorter than this are refused (NIST SP 800-63B asks at least 8; the console is
/// single-factor, so we ask more). Longer than the maximum, hashing would be a cost anyone
/// could impose.
pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Why an account change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountRefusal {
    /// Names are 1-64 lower-case letters, digits, `.`, `_` or `-`.
    BadName,
    NameTaken,
    NoSuchUser,
    UnknownOffice,
    ShortPassword,
    LongPassword,
    /// Roles are clerk, supervisor and admin.
    BadRole,
    /// Only an admin manages accounts.
    NotAllowed,
    /// An admin of one office manages only that office's accounts (and no national one).
    OtherOffice,
    /// An admin does not disable their own account (someone else must).
    Yourself,
}

impl AccountRefusal {
    /// The key of its explanation in `templates/staff/account_refused.txt`.
    pub fn key(self) -> &'static str {
        match self {
            AccountRefusal::BadName => "bad_name",
            AccountRefusal::NameTaken => "name_taken",
            AccountRefusal::NoSuchUser => "no_such_user",
            AccountRefusal::UnknownOffice => "unknown_office",
            AccountRefusal::ShortPassword => "short_password",
            AccountRefusal::LongPassword => "long_password",
            AccountRefusal::BadRole => "bad_role",
            AccountRefusal::NotAllowed => "not_allowed",
            AccountRefusal::OtherOffice => "other_office",
            AccountRefusal::Yourself => "yourself",
        }
    }
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP's argon2id parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string of `password` (argon2id, a random salt), computed off the async threads.
async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    })
    .await?
}

/// Whether `password` matches the PHC string `hash`, computed off the async threads.
async fn verify_password(password: String, hash: String) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        Ok(hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await?
}

/// A hash no password matches, verified for unknown names so that they take as long.
static DECOY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let salt = SaltString::encode_b64(&[7u8; 16]).expect("a fixed salt encodes");
    hasher()
        .hash_password(&rand::random::<[u8; 32]>(), &salt)
        .expect("the decoy hashes")
        .to_string()
});

fn check_name(name: &str) -> Result<(), AccountRefusal> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    valid.then_some(()).ok_or(AccountRefusal::BadName)
}

fn check_password(password: &str) -> Result<(), AccountRefusal> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Err(AccountRefusal::ShortPassword)
    } else if chars > MAX_PASSWORD_CHARS {
        Err(AccountRefusal::LongPassword)
    } else {
        Ok(())
    }
}

/// A password for a new account or a reset: 20 characters from an alphabet without look-alikes
/// (about 115 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    rand::random::<[u8; 20]>()
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// Creates an account with `password` (or a generated one); returns the password set.
pub async fn add_user(
    service: &Service,
    by: By<'_>,
    name: &str,
    role: Role,
    office_id: Option<&str>,
    password: Option<&str>,
) -> anyhow::Result<Result<String, AccountRefusal>> {
    if let Err(refusal) = manages(by, office_id) {
        return Ok(Err(refusal));
    }
    if let Err(refusal) = check_name(name) {
        return Ok(Err(refusal));
    }
    if office_id.is_some_and(|id| service.settings.procedure.office(id).is_none()) {
        return Ok(Err(AccountRefusal::UnknownOffice));
    }
    let password = password.map_or_else(generate_password, str::to_string);
    if let Err(refusal) = check_password(&password) {
        return Ok(Err(refusal));
    }
    let hash = hash_password(password.clone()).await?;
    let mut tx = service.db.begin().await?;
    let now = service.clock.now();
    let created =
        store::staff::insert_user(&mut tx.conn(), name, &hash, role, office_id, now).await?;
    let Some(id) = created else {
        return Ok(Err(AccountRefusal::NameTaken));
    };
    let detail = serde_json::json!({ "account": id, "role": role.as_str(), "office": office_id });
    record(&mut tx.conn(), service, by, Event::AccountAdded, detail).await?;
    tx.commit().await?;
    Ok(Ok(password))
}

/// Disables the account and ends its sessions.
pub async fn disable_user(
    service: &Service,
    by: By<'_>,
    name: &str,
) -> anyhow::Result<Result<(), AccountRefusal>> {
    let mut tx = service.db.begin().await?;
    let user = match account(&mut tx.conn(), by, name).await? {
        Ok(user) => user,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if by.is_some_and(|member| member.id == user.id) {
        return Ok(Err(AccountRefusal::Yourself));
    }
    store::staff::disable(&mut tx.conn(), name, service.clock.now()).await?;
    store::staff::end_sessions_of(&mut tx.conn(), user.id).await?;
    let detail = serde_json::json!({ "account": user.id });
    record(&mut tx.conn(), service, by, Event::AccountDisabled, detail).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Sets a new password (or a generated one) and ends the account's sessions; returns it.
pub async fn set_password(
    service: &Service,
    by: By<'_>,
    name: &str,
    password: Option<&str>,
) -> anyhow::Result<Result<String, AccountRefusal>> {
    let password = password.map_or_else(generate_password, str::to_string);
    if let Err(refusal) = check_password(&password) {
        return Ok(Err(refusal));
    }
    let hash = hash_password(password.clone()).await?;
    let mut tx = service.db.begin().await?;
    let user = match account(&mut tx.conn(), by, name).await? {
        Ok(user) => user,
        Err(refusal) => return Ok(Err(refusal)),
    };
    store::staff::set_password(&mut tx.conn(), name, &hash).await?;
    store::staff::end_sessions_of(&mut tx.conn(), user.id).await?;
    let detail = serde_json::json!({ "account": user.id });
    record(&mut tx.conn(), service, by, Event::PasswordReset, detail).await?;
    tx.commit().await?;
    Ok(Ok(password))
}

/// Whether `by` may manage an account of `office_id` (`None`: national): the command line
/// and a national admin manage every account, an admin of one office only that office's.
fn manages(by: By<'_>, office_id: Option<&str>) -> Result<(), AccountRefusal> {
    let Some(member) = by else {
        return Ok(());
    };
    if !member.role.allows(Permission::Administer, false) {
        return Err(AccountRefusal::NotAllowed);
    }
    match (&member.office_id, office_id) {
        (None, _) => Ok(()),
        (Some(own), Some(office)) if own == office => Ok(()),
        _ => Err(AccountRefusal::OtherOffice),
    }
}

/// The account `name`, when `by` manages it.
async fn account(
    conn: &mut Conn<'_>,
    by: By<'_>,
    name: &str,
) -> anyhow::Result<Result<store::staff::UserRow, AccountRefusal>> {
    if let Err(refusal) = manages(by, by.and_then(|m| m.office_id.as_deref())) {
        return Ok(Err(refusal));
    }
    let Some(user) = store::staff::user_by_name(conn, name).await? else {
        return Ok(Err(AccountRefusal::NoSuchUser));
    };
    Ok(manages(by, user.office_id.as_deref()).map(|()| user))
}

/// The audit row of an account change, with who made it.
async fn record(
    conn: &mut Conn<'_>,
    service: &Service,
    by: By<'_>,
    event: Event,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    let now = service.clock.now();
    let staff_id = by.map(|member| member.id);
    store::audit::record_by_staff(conn, now, staff_id, None, None, event, &detail.to_string()).await
}

/// The accounts `by` manages (every one for the command line and a national admin).
pub async fn managed_users(
    service: &Service,
    by: By<'_>,
) -> anyhow::Result<Result<Vec<store::staff::UserRow>, AccountRefusal>> {
    if let Err(refusal) = manages(by, by.and_then(|m| m.office_id.as_deref())) {
        return Ok(Err(refusal));
    }
    let users = users(service).await?;
    Ok(Ok(users
        .into_iter()
        .filter(|user| manages(by, user.office_id.as_deref()).is_ok())
        .collect()))
}

/// A session just opened: the cookie's token (only the member's browser has it) and the token
/// its forms carry.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf: String,
    pub member: StaffMember,
}

/// What a login attempt came to.
#[derive(Debug, Clone)]
pub enum Login {
    Opened(NewSession),
    /// Wrong name or password (which one is not said), or a disabled account.
    Refused,
    /// Too many failures for this account or from this address: try again after this many
    /// minutes.
    Throttled {
        minutes: u32,
    },
}

/// A session in use.
#[derive(Debug, Clone)]
pub struct Session {
    pub member: StaffMember,
    /// The token every form of this session carries.
    pub csrf: String,
}

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn member(user: &store::staff::UserRow) -> StaffMember {
    StaffMember {
        id: user.id,
        name: user.name.clone(),
        role: user.role,
        office_id: user.office_id.clone(),
    }
}

/// Checks a name and password from `address` and opens a session.
pub async fn login(
    service: &Service,
    name: &str,
    password: &str,
    address: &str,
) -> anyhow::Result<Login> {
    let rules = &service.settings.console;
    let now = millis(service.clock.now());
    let window = i64::from(rules.failure_window_minutes) * 60_000;
    let since = now - window;
    let account_key = format!("user:{}", name.chars().take(64).collect::<String>());
    let address_key = format!("address:{address}");
    let user = {
        let mut reader = service.db.reader().await?;
        let mut conn = reader.conn();
        let by_account = store::staff::failures(&mut conn, &account_key, since).await?;
        let by_address = store::staff::failures(&mut conn, &address_key, since).await?;
        if by_account >= i64::from(rules.max_failures_per_account)
            || by_address >= i64::from(rules.max_failures_per_address)
        {
            return Ok(Login::Throttled {
                minutes: rules.failure_window_minutes,
            });
        }
        store::staff::user_by_name(&mut conn, name).await?
    };
    let bounded = password.chars().count() <= MAX_PASSWORD_CHARS;
    let hash = user
        .as_ref()
        .map_or_else(|| DECOY.clone(), |u| u.password_hash.clone());
    let matches = bounded && verify_password(password.to_string(), hash).await?;
    let mut tx = service.db.begin().await?;
    match user.filter(|u| matches && u.disabled_at.is_none()) {
        Some(user) => {
            store::staff::clear_failures(&mut tx.conn(), &account_key).await?;
            let token = hex(&rand::random::<[u8; 32]>());
            let csrf = hex(&rand::random::<[u8; 32]>());
            store::staff::insert_session(&mut tx.conn(), &token_hash(&token), user.id, &csrf, now)
                .await?;
            tx.commit().await?;
            tracing::info!(staff_id = user.id, "staff login");
            Ok(Login::Opened(NewSession {
                token,
                csrf,
                member: member(&user),
            }))
        }
        None => {
            for key in [&account_key, &address_key] {
                store::staff::record_failure(&mut tx.conn(), key, since, now).await?;
            }
            tx.commit().await?;
            tracing::info!("staff login refused");
            Ok(Login::Refused)
        }
    }
}

/// The session of a cookie's token, if it is open (and now used); `None` when it ended.
pub async fn session(service: &Service, token: &str) -> anyhow::Result<Option<Session>> {
    let rules = &service.settings.console;
    let now = millis(service.clock.now());
    let hash = token_hash(token);
    let mut tx = service.db.begin().await?;
    let Some(row) = store::staff::session(&mut tx.conn(), &hash).await? else {
        return Ok(None);
    };
    let idle = now - row.last_seen_at > i64::from(rules.idle_minutes) * 60_000;
    let expired = now - row.created_at > i64::from(rules.absolute_hours) * 3_600_000;
    let user = store::staff::user_by_id(&mut tx.conn(), row.user_id).await?;
    let Some(user) = user.filter(|u| u.disabled_at.is_none() && !idle && !expired) else {
        store::staff::delete_session(&mut tx.conn(), &hash).await?;
        tx.commit().await?;
        return Ok(None);
    };
    store::staff::touch_session(&mut tx.conn(), &hash, now).await?;
    tx.commit().await?;
    Ok(Some(Session {
        member: member(&user),
        csrf: row.csrf,
    }))
}

/// Ends the session of a cookie's token.
pub async fn logout(service: &Service, token: &str) -> anyhow::Result<()> {
    let mut tx = service.db.begin().await?;
    store::staff::delete_session(&mut tx.conn(), &token_hash(token)).await?;
    tx.commit().await?;
    Ok(())
}

/// Every account (for the CLI and the admin's page).
pub async fn users(service: &Service) -> anyhow::Result<Vec<store::staff::UserRow>> {
    let mut reader = service.db.reader().await?;
    Ok(store::staff::users(&mut reader.conn()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_passwords_are_bounded() {
        assert_eq!(check_name("ana.lopez"), Ok(()));
        assert_eq!(check_name(""), Err(AccountRefusal::BadName));
        assert_eq!(check_name("Ana"), Err(AccountRefusal::BadName));
        assert_eq!(check_name(&"a".repeat(65)), Err(AccountRefusal::BadName));
        assert_eq!(check_password("corta"), Err(AccountRefusal::ShortPassword));
        assert_eq!(
            check_password(&"x".repeat(129)),
            Err(AccountRefusal::LongPassword)
        );
        assert_eq!(check_password(&generate_password()), Ok(()));
        assert_ne!(generate_password(), generate_password());
    }

    #[tokio::test]
    async fn a_password_verifies_against_its_own_hash_only() {
        let hash = hash_password("una clave larga y buena".into())
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            verify_password("una clave larga y buena".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(
            !verify_password("una clave larga y mala".into(), hash)
                .await
                .unwrap()
        );
        assert!(
            !verify_password("lo que sea".into(), DECOY.clone())
                .await
                .unwrap()
        );
    }
}
