//! Persistence with sqlx on SQLite (embedded default) or PostgreSQL (several instances).
//!
//! Queries are written once with `$N` placeholders, valid on both backends, and run through
//! [`Conn`], which is either backend's connection; the `on!` macro expands one query body for
//! each. Every query is proven on both by the same integration tests.
//!
//! On SQLite, writes go through a pool of one connection (`BEGIN IMMEDIATE`), so writers queue
//! in the application instead of spinning on SQLite's busy handler; reads use a separate pool
//! and see the last committed state thanks to WAL.

pub mod agenda;
pub mod applications;
pub mod appointments;
pub mod audit;
pub mod calendar;
pub mod cases;
pub mod cedulas;
pub mod conversations;
pub mod jobs;
pub mod mail;
pub mod outbox;
pub mod quarantine;
pub mod receipts;
pub mod staff;
pub mod turns;
pub mod waitlist;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

/// What the writer's and the readers' SQLite pools share: each connection plans a statement
/// once ([`plan_once`]), and a local file needs no liveness ping before each use (that would be
/// one more hop to the connection's thread per transaction).
fn sqlite_pool() -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .after_connect(|conn, _| Box::pin(plan_once(conn)))
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(60))
}

/// Sets SQLite's query planner stability guarantee (QPSG) on a new connection: a statement is
/// planned once, from its SQL alone. Without it, SQLite 3.51 plans with the values bound where
/// it can (a `LIMIT $n`, a parameter set against a partial index's condition) and marks the
/// statement to be prepared again whenever such a value is bound anew: the outbox claim was
/// parsed and planned again at every call, on the single writer (a profile of the telegram
/// bench: 6 % of all the process's time in `sqlite3Reprepare`). No statement here needs a plan
/// chosen by its values (no statistics are gathered: `ANALYZE` never runs).
async fn plan_once(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    if query_planner_stability(conn, Some(true)).await? {
        Ok(())
    } else {
        Err(sqlx::Error::Configuration(
            "SQLite refused the query planner stability guarantee".into(),
        ))
    }
}

/// Sets the connection's QPSG on or off (`None`: only reads it); returns whether it is on
/// afterwards.
async fn query_planner_stability(
    conn: &mut SqliteConnection,
    set: Option<bool>,
) -> Result<bool, sqlx::Error> {
    // SQLite's convention: 1 on, 0 off, a negative value leaves the setting as it is.
    let set: std::ffi::c_int = set.map_or(-1, std::ffi::c_int::from);
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    let mut now: std::ffi::c_int = -1;
    // SAFETY: `db` is this connection's open handle, held exclusively through the lock while
    // the call runs; SQLITE_DBCONFIG_ENABLE_QPSG takes an int and a pointer to an int, which
    // SQLite writes the setting to (https://sqlite.org/c3ref/c_dbconfig_defensive.html).
    let rc = unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            set,
            &mut now as *mut std::ffi::c_int,
        )
    };
    if rc != libsqlite3_sys::SQLITE_OK {
        return Err(sqlx::Error::Configuration(
            format!("sqlite3_db_config(SQLITE_DBCONFIG_ENABLE_QPSG) returned {rc}").into(),
        ));
    }
    Ok(now == 1)
}

/// Runs `$body` with `$c` bound to the backend's connection (`&mut SqliteConnection` or
/// `&mut PgConnection`). The body is the same text for both; sqlx infers the database type.
///
/// Where the backends differ, each gets its own arm, and the difference is written there and
/// nowhere else (as vaultwarden's `db_run!`): `on!(conn, sqlite c => …, postgres c => …)`.
macro_rules! on {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::store::Conn::Sqlite(inner) => {
                let $c = &mut **inner;
                $body
            }
            $crate::store::Conn::Postgres(inner) => {
                let $c = &mut **inner;
                $body
            }
        }
    };
    ($conn:expr, sqlite $s:ident => $sqlite:expr, postgres $p:ident => $postgres:expr $(,)?) => {
        match $conn {
            $crate::store::Conn::Sqlite(inner) => {
                let $s = &mut **inner;
                $sqlite
            }
            $crate::store::Conn::Postgres(inner) => {
                let $p = &mut **inner;
                $postgres
            }
        }
    };
}
pub(crate) use on;

/// Runs one write statement as a transaction of its own, in one round trip: `$run` builds and
/// runs the query from `$sql` (a `sqlx::AssertSqlSafe`) on `$c`, a connection of the writer.
/// On SQLite the statement goes wrapped in `BEGIN IMMEDIATE; …; COMMIT;` as one batch (one
/// hand-off to the connection's thread instead of three, and the write lock taken at the start
/// as [`Db::begin`] takes it); a batch that stopped half-way is rolled back before the writer
/// goes back to its pool. On PostgreSQL the statement alone is its transaction. `$run` must
/// read every row (`fetch_all`, `execute`): a batch read only in part would never commit.
macro_rules! write_once {
    ($db:expr, $sql:expr, |$c:ident, $q:ident| $run:expr) => {{
        let sql: &str = $sql;
        match $db {
            $crate::store::Db::Sqlite { write, .. } => {
                let mut conn = write.acquire().await?;
                let batch = format!("BEGIN IMMEDIATE;{sql};COMMIT;");
                let result = {
                    let $c = &mut *conn;
                    let $q = sqlx::AssertSqlSafe(batch);
                    $run
                };
                if result.is_err() {
                    // Harmless when the batch stopped before its BEGIN took effect.
                    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                }
                result
            }
            $crate::store::Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                let $c = &mut *conn;
                let $q = sqlx::AssertSqlSafe(sql.to_string());
                $run
            }
        }
    }};
}
pub(crate) use write_once;

/// The database: SQLite (a single writer and a pool of readers) or PostgreSQL.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
        /// Turns waiting to be committed together (see [`turns::write_alone`]).
        group: std::sync::Arc<turns::Group>,
    },
    Postgres(PgPool),
}

/// A connection of either backend, borrowed from a pool or a transaction.
pub enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

/// A write transaction.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(tx) => Conn::Sqlite(&mut *tx),
            Tx::Postgres(tx) => Conn::Postgres(&mut *tx),
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await,
            Tx::Postgres(tx) => tx.rollback().await,
        }
    }
}

/// Held while this process does a singleton duty (the IMAP poller); dropping it lets another
/// instance take over. On PostgreSQL it is a session advisory lock on a connection of its own.
pub enum Singleton {
    /// SQLite serves one instance: nothing to share.
    Local,
    Postgres(PoolConnection<Postgres>),
}

/// A pooled connection for reads outside a transaction.
pub enum Reader {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl Reader {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Reader::Sqlite(c) => Conn::Sqlite(&mut *c),
            Reader::Postgres(c) => Conn::Postgres(&mut *c),
        }
    }
}

/// Which backend a URL names.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl Db {
    /// Connects to `url` (`sqlite:…` or `postgres://…`), creating a SQLite file and its folder
    /// when missing.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        if is_postgres(url) {
            let options = PgConnectOptions::from_str(url)
                .context("DATABASE_URL is not a valid PostgreSQL URL")?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options)
                .await
                .context("Failed to connect to PostgreSQL (DATABASE_URL)")?;
            return Ok(Db::Postgres(pool));
        }
        let options = SqliteConnectOptions::from_str(url)
            .context("DATABASE_URL is not a valid SQLite URL")?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let path = options.get_filename().to_path_buf();
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::files::create_private_dir_all(parent).with_context(|| {
                format!("Failed to create the database folder {}", parent.display())
            })?;
        }
        // Owner-only from the start; SQLite gives its -wal and -shm files the same mode.
        if !in_memory {
            crate::files::create_private_file(&path).with_context(|| {
                format!("Failed to create the database file {}", path.display())
            })?;
        }
        // The writer never checkpoints on commit: a background task does it (see
        // `checkpoint_wal`), so copying the WAL into the database is not added to some turn's
        // commit while every other writer waits.
        let write = sqlite_pool()
            .max_connections(1)
            .min_connections(1)
            .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
            .await
            .context("Failed to open the SQLite database (DATABASE_URL)")?;
        // An in-memory database exists once per connection: readers must share the writer.
        let read = if in_memory {
            write.clone()
        } else {
            sqlite_pool()
                .max_connections(2)
                .connect_with(options)
                .await
                .context("Failed to open the SQLite database for reading")?
        };
        if !in_memory {
            tokio::spawn(checkpoint_wal(read.clone()));
        }
        Ok(Db::Sqlite {
            write,
            read,
            group: Default::default(),
        })
    }

    /// Whether every SQLite connection of this database plans its statements once (see
    /// [`plan_once`]); `None` on PostgreSQL.
    pub async fn plans_once(&self) -> Result<Option<bool>, sqlx::Error> {
        let Db::Sqlite { write, read, .. } = self else {
            return Ok(None);
        };
        let mut all = true;
        for pool in [write, read] {
            let mut conn = pool.acquire().await?;
            all &= query_planner_stability(&mut conn, None).await?;
        }
        Ok(Some(all))
    }

    /// Applies the migrations of the backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite { write, .. } => sqlx::migrate!("./migrations/sqlite")
                .run(write)
                .await
                .context("Failed to migrate the SQLite database")?,
            Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres")
                .run(pool)
                .await
                .context("Failed to migrate the PostgreSQL database")?,
        }
        Ok(())
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite: the write lock is taken at the
    /// start, so a transaction never fails half-way on lock upgrade).
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match self {
            Db::Sqlite { write, .. } => Ok(Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?)),
            Db::Postgres(pool) => Ok(Tx::Postgres(pool.begin().await?)),
        }
    }

    /// A connection for reads.
    pub async fn reader(&self) -> Result<Reader, sqlx::Error> {
        match self {
            Db::Sqlite { read, .. } => Ok(Reader::Sqlite(read.acquire().await?)),
            Db::Postgres(pool) => Ok(Reader::Postgres(pool.acquire().await?)),
        }
    }

    /// Whether the database answers.
    /// Waits until this process may do the duty `name` alone; `None` when `shutdown` came
    /// first.
    pub async fn singleton(
        &self,
        name: &str,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Option<Singleton> {
        let Db::Postgres(pool) = self else {
            return Some(Singleton::Local);
        };
        // FNV-1a: a stable lock key from the duty's name.
        let key = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        }) as i64;
        let mut waiting_logged = false;
        loop {
            let attempt = async {
                let mut conn = pool.acquire().await?;
                let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(key)
                    .fetch_one(&mut *conn)
                    .await?;
                Ok::<_, sqlx::Error>(locked.then_some(conn))
            };
            match attempt.await {
                Ok(Some(conn)) => return Some(Singleton::Postgres(conn)),
                Ok(None) if !waiting_logged => {
                    tracing::info!(
                        duty = name,
                        "another instance does this; waiting to take over"
                    );
                    waiting_logged = true;
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(duty = name, %error, "cannot take the duty's lock"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = shutdown.changed() => return None,
            }
        }
    }

    pub async fn ping(&self) -> bool {
        let Ok(mut reader) = self.reader().await else {
            return false;
        };
        let mut conn = reader.conn();
        on!(&mut conn, c => sqlx::query("SELECT 1").execute(c).await.is_ok())
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { write, read, .. } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// Copies the WAL into the database file every half second, without blocking the writer
/// (`PASSIVE`), until the pool is closed.
async fn checkpoint_wal(pool: SqlitePool) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error.message = %error, "WAL checkpoint failed; will retry");
        }
    }
}

/// Milliseconds since the Unix epoch, for columns compared as numbers.
pub fn millis(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_millis()
}
