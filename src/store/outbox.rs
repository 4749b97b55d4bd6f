//! The outbox: messages written in the turn's transaction, delivered afterwards by the worker.
//!
//! Claiming uses a lease (`status = 'sending'`, `lease_until`), so a send happens outside any
//! transaction. Leases are short and the worker renews them while a send is in flight, so a
//! worker that dies mid-send leaves a row that another worker takes over within seconds. Each
//! claim carries a random token: renewing, recording progress and recording the outcome only
//! apply while the row is still held by that claim, so a worker whose lease ran out cannot
//! overwrite the outcome of the worker that took its row over. Within a conversation, messages
//! go out in order: a row is only claimable when no earlier row of its conversation on the same
//! channel is still waiting (the cédula's e-mail to a Telegram applicant does not hold back
//! their chat, nor the other way round). On PostgreSQL the claim uses `FOR UPDATE SKIP LOCKED`, so any number of workers share the queue.
//!
//! Rows travel in lanes ([`Priority`]): order is kept per conversation, channel and lane, and
//! lower lanes are claimed first, so a notice never holds back an interactive reply. Mail to an
//! address that bounced is `paused` (kept, in order) until the address writes again.
//!
//! On PostgreSQL a write of outbox rows also announces them (`NOTIFY`, delivered when the
//! transaction commits, never before), so the idle workers of every instance look at once
//! ([`Announcements`]); on SQLite this process's own bell does (see `Service::outbox_ready`).

use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{Conn, Db, millis, on, write_once};

/// The lane of a message: lower lanes go first, and order is kept within a lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, PartialOrd, Ord)]
pub enum Priority {
    /// The answer to what the person just wrote.
    #[default]
    Reply = 0,
    /// A notice nobody is waiting for (an unthreaded message, a paused address).
    Notice = 1,
    /// Work the service schedules by itself (reminders).
    Scheduled = 2,
}

impl Priority {
    pub fn as_i64(self) -> i64 {
        self as i64
    }

    /// The lane stored as `value` (an unknown value is the lowest lane).
    pub fn from_i64(value: i64) -> Priority {
        match value {
            0 => Priority::Reply,
            1 => Priority::Notice,
            _ => Priority::Scheduled,
        }
    }
}

/// A message to deliver.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub conversation_id: i64,
    pub channel: &'a str,
    pub address: &'a str,
    /// The rendered message (JSON of `delivery::OutgoingMessage`).
    pub payload: String,
    pub priority: Priority,
}

#[derive(Debug, Clone, FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub conversation_id: i64,
    pub channel: String,
    pub address: String,
    pub payload: String,
    pub attempts: i64,
    /// Set when the conversation can no longer be reached on its channel (claims only).
    #[sqlx(default)]
    pub unreachable_reason: Option<String>,
    /// The token of the claim that returned this row (claims only).
    #[sqlx(default)]
    pub claim_token: i64,
    /// 1 when this claim took the row over from a claim whose lease ran out: the message may
    /// have gone out already (claims only).
    #[sqlx(default)]
    pub taken_over: i64,
    /// Parts of the message already sent (the text, then each document), by earlier claims.
    #[sqlx(default)]
    pub parts_sent: i64,
    /// The lane (claims only).
    #[sqlx(default)]
    pub priority: i64,
}

impl OutboxRow {
    /// The claim this row was returned by.
    pub fn claim(&self) -> Claim {
        Claim {
            id: self.id,
            token: self.claim_token,
        }
    }
}

/// A row held by one worker: its id and the token of the claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub id: i64,
    pub token: i64,
}

/// The insert of outbox rows, values to follow (here and in the batch of `store::turns`).
pub(super) const INSERT: &str = "INSERT INTO outbox \
    (conversation_id, channel, address, payload, next_attempt_at, created_at, priority)";

/// Writes the messages of a turn in one statement (on PostgreSQL, announced on commit).
pub async fn enqueue(
    conn: &mut Conn<'_>,
    messages: &[NewMessage<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, sqlx::Error> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let due = millis(now);
    let ids = on!(&mut *conn, c => {
        let mut builder = sqlx::QueryBuilder::new(INSERT);
        builder.push(" ");
        builder.push_values(messages, |mut row, m| {
            row.push_bind(m.conversation_id)
                .push_bind(m.channel)
                .push_bind(m.address)
                .push_bind(&m.payload)
                .push_bind(due)
                .push_bind(now)
                .push_bind(m.priority.as_i64());
        });
        builder.push(" RETURNING id");
        builder.build_query_scalar::<i64>().fetch_all(c).await
    })?;
    if let Conn::Postgres(c) = conn {
        sqlx::query(NOTIFY).execute(&mut **c).await?;
    }
    Ok(ids)
}

/// The PostgreSQL channel outbox rows are announced on.
const CHANNEL: &str = "ventanilla_outbox";
const NOTIFY: &str = "NOTIFY ventanilla_outbox";

/// The announcements of new outbox rows on PostgreSQL, from every instance.
pub struct Announcements(sqlx::postgres::PgListener);

impl Announcements {
    /// Listens for them (`None` on SQLite, whose only writer is this process).
    pub async fn listen(db: &Db) -> Result<Option<Announcements>, sqlx::Error> {
        let Db::Postgres(pool) = db else {
            return Ok(None);
        };
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(Announcements(listener)))
    }

    /// Rings `bell` at each announcement until `shutdown` says stop. A lost connection is
    /// opened again (the listener does it), and the bell rung then too, for what was announced
    /// meanwhile; the workers' idle poll covers the rest.
    pub async fn ring(
        mut self,
        bell: Arc<tokio::sync::Notify>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let received = tokio::select! {
                changed = shutdown.changed() => match changed {
                    Ok(()) => continue,
                    Err(_) => return,
                },
                received = self.0.recv() => received,
            };
            if let Err(error) = received {
                tracing::warn!(error.message = %error, "outbox announcements lost; listening again");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            bell.notify_one();
        }
    }
}

/// Which rows a worker may claim.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Channels this worker can deliver to.
    pub channels: Vec<String>,
    /// Only this conversation (the terminal channel delivers its own conversation).
    pub conversation_id: Option<i64>,
}

/// The claim query, written once: the dialects differ only in how the channel list is matched,
/// how the optional conversation is typed, how the due time is read (SQLite is kept off its
/// index), and in row locking (PostgreSQL skips rows another worker holds; SQLite has one
/// writer).
fn claim_query(channel_filter: &str, conversation: &str, due: &str, locking: &str) -> String {
    format!(
        "
    UPDATE outbox SET status = 'sending', lease_until = $1, attempts = attempts + 1,
        claim_token = $5, taken_over = CASE WHEN status = 'sending' THEN 1 ELSE 0 END
    WHERE id IN (
        SELECT o.id FROM outbox o
        WHERE o.status IN ('pending', 'sending')
          AND (o.status = 'pending' OR o.lease_until < $2)
          AND {due} <= $2
          AND {channel_filter}
          AND ({conversation} IS NULL OR o.conversation_id = $4)
          AND NOT EXISTS (
              SELECT 1 FROM outbox e
              WHERE e.conversation_id = o.conversation_id AND e.channel = o.channel
                AND e.priority = o.priority AND e.id < o.id AND e.status IN ('pending', 'sending'))
        ORDER BY o.priority, o.id LIMIT $6{locking})
    RETURNING id, conversation_id, channel, address, payload, attempts, claim_token,
        taken_over, parts_sent, priority,
        COALESCE(
            (SELECT c.unreachable_reason FROM conversations c
             WHERE c.id = outbox.conversation_id AND c.channel = outbox.channel),
            (SELECT p.reason FROM mail_paused p
             WHERE outbox.channel = 'email' AND p.address = outbox.address))
            AS unreachable_reason"
    )
}

static CLAIM_SQLITE: LazyLock<String> = LazyLock::new(|| {
    claim_query(
        "(',' || $3 || ',') LIKE ('%,' || o.channel || ',%')",
        "$4",
        // The unary plus keeps SQLite from reading the due time through its index: walking the
        // lanes in order stops at the first claimable row, while the due-time index made it
        // check every due row and sort them (milliseconds per claim at 10,000 queued).
        "+o.next_attempt_at",
        "",
    )
});

static CLAIM_POSTGRES: LazyLock<String> = LazyLock::new(|| {
    claim_query(
        "o.channel = ANY(string_to_array($3, ','))",
        "$4::BIGINT",
        "o.next_attempt_at",
        "\n        FOR UPDATE SKIP LOCKED",
    )
});

/// Claims up to `limit` due messages in one transaction, leasing them for `lease` under a new
/// claim token, lowest lane and oldest first. Each is the next of its conversation, channel
/// and lane (so a batch never holds two messages that must go out one after the other). A row
/// whose lease ran out (its worker died or lost the database) is claimed again, marked
/// `taken_over`.
pub async fn claim(
    db: &Db,
    scope: &Scope,
    now: DateTime<Utc>,
    lease: std::time::Duration,
    limit: usize,
) -> Result<Vec<OutboxRow>, sqlx::Error> {
    let lease_until = millis(now) + lease.as_millis() as i64;
    let channels = scope.channels.join(",");
    let sql: &str = match db {
        Db::Sqlite { .. } => &CLAIM_SQLITE,
        Db::Postgres(_) => &CLAIM_POSTGRES,
    };
    let mut rows = write_once!(db, sql, |c, q| sqlx::query_as::<_, OutboxRow>(q)
        .bind(lease_until)
        .bind(millis(now))
        .bind(&channels)
        .bind(scope.conversation_id)
        .bind(new_token())
        .bind(i64::try_from(limit.max(1)).unwrap_or(i64::MAX))
        .fetch_all(c)
        .await)?;
    rows.sort_by_key(|row| (row.priority, row.id));
    Ok(rows)
}

/// A random claim token (never 0, the value of a row read without a claim).
fn new_token() -> i64 {
    loop {
        let token: i64 = rand::random();
        if token != 0 {
            return token;
        }
    }
}

/// Runs `$sql`, an update whose first two parameters are the claim's id and token, with the
/// further `$bind`s, as one write ([`write_once`]); evaluates to whether the claim still held
/// the row.
macro_rules! update_held {
    ($db:expr, $sql:expr, $claim:expr $(, $bind:expr)*) => {{
        let sql = concat!($sql, " RETURNING id");
        let held = write_once!($db, sql, |c, q| sqlx::query_scalar::<_, i64>(q)
            .bind($claim.id)
            .bind($claim.token)
            $(.bind($bind))*
            .fetch_all(c)
            .await)?;
        Ok(held.len() == 1)
    }};
}

/// Runs `UPDATE outbox SET $set` (with `$value` bound first) on the rows still held by
/// `$claims`, as one write ([`write_once`]); evaluates to the ids of those rows.
macro_rules! update_all_held {
    ($db:expr, $set:expr, $value:expr, $claims:expr) => {{
        let claims: &[Claim] = $claims;
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        let held: Vec<String> = (0..claims.len())
            .map(|i| format!("(${}, ${})", 2 + 2 * i, 3 + 2 * i))
            .collect();
        let sql = format!(
            "UPDATE outbox SET {}$1 WHERE status = 'sending' AND (id, claim_token) IN (VALUES {})
             RETURNING id",
            $set,
            held.join(", ")
        );
        write_once!($db, &sql, |c, q| {
            let mut query = sqlx::query_scalar::<_, i64>(q).bind($value);
            for claim in claims {
                query = query.bind(claim.id).bind(claim.token);
            }
            query.fetch_all(c).await
        })
    }};
}

/// Delivered, all of them in one transaction. Returns the ids of the rows that were marked: a
/// row left out is no longer held by its claim (its lease ran out and another worker took it
/// over), and nothing of it changed. The same holds for every function below that takes a
/// claim.
pub async fn mark_sent(
    db: &Db,
    claims: &[Claim],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, sqlx::Error> {
    update_all_held!(
        db,
        "lease_until = NULL, last_error = NULL, claim_token = NULL, status = 'sent', sent_at = ",
        now,
        claims
    )
}

/// Extends the lease of the rows still held by `claims` to `lease_until`; returns their ids.
pub async fn renew(
    db: &Db,
    claims: &[Claim],
    lease_until: DateTime<Utc>,
) -> Result<Vec<i64>, sqlx::Error> {
    update_all_held!(db, "lease_until = ", millis(lease_until), claims)
}

/// Records that the first `parts` parts of the message went out, so that a retry or a takeover
/// starts after them.
pub async fn record_parts(db: &Db, claim: Claim, parts: u32) -> Result<bool, sqlx::Error> {
    update_held!(
        db,
        "UPDATE outbox SET parts_sent = $3
         WHERE id = $1 AND claim_token = $2 AND status = 'sending'",
        claim,
        i64::from(parts)
    )
}

/// Not delivered this time: try again at `next_attempt`.
pub async fn mark_retry(
    db: &Db,
    claim: Claim,
    next_attempt: DateTime<Utc>,
    error: &str,
) -> Result<bool, sqlx::Error> {
    update_held!(
        db,
        "UPDATE outbox SET status = 'pending', next_attempt_at = $3, lease_until = NULL,
         claim_token = NULL, last_error = $4
         WHERE id = $1 AND claim_token = $2 AND status = 'sending'",
        claim,
        millis(next_attempt),
        error
    )
}

/// Not sent yet, by choice (rate limits): back to pending at `next_attempt`, and the claim does
/// not count as an attempt.
pub async fn defer(
    db: &Db,
    claim: Claim,
    next_attempt: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    update_held!(
        db,
        "UPDATE outbox SET status = 'pending', next_attempt_at = $3, lease_until = NULL,
         claim_token = NULL, attempts = attempts - 1
         WHERE id = $1 AND claim_token = $2 AND status = 'sending'",
        claim,
        millis(next_attempt)
    )
}

/// Held back until its address works again (a bounce): kept, in order, with the reason.
pub async fn mark_paused(db: &Db, claim: Claim, reason: &str) -> Result<bool, sqlx::Error> {
    update_held!(
        db,
        "UPDATE outbox SET status = 'paused', lease_until = NULL, claim_token = NULL,
         attempts = attempts - 1, last_error = $3
         WHERE id = $1 AND claim_token = $2 AND status = 'sending'",
        claim,
        format!("paused: {reason}")
    )
}

/// Whether the conversation has a notice still waiting on `channel`, or had one queued after
/// `since`.
pub async fn recent_notice(
    conn: &mut Conn<'_>,
    conversation_id: i64,
    channel: &str,
    since: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    on!(conn, c => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM outbox
         WHERE conversation_id = $1 AND channel = $2 AND priority = $3
           AND (status IN ('pending', 'sending') OR created_at > $4)",
    )
    .bind(conversation_id)
    .bind(channel)
    .bind(Priority::Notice.as_i64())
    .bind(since)
    .fetch_one(c)
    .await
    .map(|n| n > 0))
}

/// Will not be delivered (permanent error, unreachable recipient, attempts exhausted). The row
/// stays, with the reason.
pub async fn mark_failed(db: &Db, claim: Claim, error: &str) -> Result<bool, sqlx::Error> {
    update_held!(
        db,
        "UPDATE outbox SET status = 'failed', lease_until = NULL, claim_token = NULL,
         last_error = $3
         WHERE id = $1 AND claim_token = $2 AND status = 'sending'",
        claim,
        error
    )
}

/// Puts every row being sent on `channels` back to pending, whoever claimed it; returns how
/// many. For start-up on SQLite, where this process is the only one delivering on those
/// channels: a row still `sending` was claimed by a process that died, and need not wait for
/// its lease to run out.
pub async fn release_claims(db: &Db, channels: &[String]) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let channels = channels.join(",");
    let released = on!(&mut tx.conn(), c => sqlx::query(
        "UPDATE outbox SET status = 'pending', lease_until = NULL, claim_token = NULL
         WHERE status = 'sending' AND (',' || $1 || ',') LIKE ('%,' || channel || ',%')",
    )
    .bind(&channels)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(released)
}

/// Counts the rows still `sending` past their lease. The `IN` term is what SQLite needs to
/// read the waiting rows' index (it cannot tell that `status = 'sending'` implies it): without
/// it, every `/healthz` and `/metrics` read the whole history of sent messages.
const STUCK: &str = "SELECT COUNT(*) FROM outbox
    WHERE status IN ('pending', 'sending') AND status = 'sending' AND lease_until < $1
      AND (',' || $2 || ',') LIKE ('%,' || channel || ',%')";

/// Counts the messages not yet delivered.
const DEPTH: &str = "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')";

/// Rows of `channels` still `sending` after their lease ran out at `now`: nobody is sending
/// them, and no worker has taken them over yet.
pub async fn stuck(
    conn: &mut Conn<'_>,
    channels: &[String],
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let channels = channels.join(",");
    on!(conn, c => sqlx::query_scalar::<_, i64>(STUCK)
    .bind(millis(now))
    .bind(&channels)
    .fetch_one(c)
    .await)
}

/// Messages not yet delivered (pending or being sent).
pub async fn depth(conn: &mut Conn<'_>) -> Result<i64, sqlx::Error> {
    on!(conn, c => sqlx::query_scalar::<_, i64>(DEPTH)
    .fetch_one(c)
    .await)
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Waiting to be sent (or to be sent again, at `next_attempt_at`).
    Pending,
    /// Claimed by a worker, under a lease.
    Sending,
    Sent,
    /// Given up: refused for good, or out of attempts.
    Failed,
    /// Mail to an address that bounced: kept, in order, until the address writes again.
    Paused,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Failed => "failed",
            Status::Paused => "paused",
        }
    }
}

impl TryFrom<String> for Status {
    type Error = String;

    fn try_from(value: String) -> Result<Status, String> {
        [
            Status::Pending,
            Status::Sending,
            Status::Sent,
            Status::Failed,
            Status::Paused,
        ]
        .into_iter()
        .find(|status| status.as_str() == value)
        .ok_or_else(|| format!("unknown outbox status {value:?}"))
    }
}

/// How many messages of a channel are in a status.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Count {
    pub channel: String,
    #[sqlx(try_from = "String")]
    pub status: Status,
    pub count: i64,
}

/// A message of a conversation, as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Stored {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub status: Status,
    /// The [`OutgoingMessage`](crate::service::OutgoingMessage) as JSON.
    pub payload: String,
    pub channel: String,
    pub address: String,
}

/// Where one message stands, with its attempts and last error.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Progress {
    #[sqlx(try_from = "String")]
    pub status: Status,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// Messages per channel and status.
pub async fn counts(conn: &mut Conn<'_>) -> Result<Vec<Count>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, Count>(
        "SELECT channel, status, COUNT(*) AS count FROM outbox
         GROUP BY channel, status ORDER BY channel, status",
    )
    .fetch_all(c)
    .await)
}

/// Messages of a conversation, oldest first (for tests and the terminal).
pub async fn for_conversation(
    conn: &mut Conn<'_>,
    conversation_id: i64,
) -> Result<Vec<Stored>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, Stored>(
        "SELECT id, status, payload, channel, address FROM outbox
         WHERE conversation_id = $1 ORDER BY id",
    )
    .bind(conversation_id)
    .fetch_all(c)
    .await)
}

/// A row's status, attempts and last error.
pub async fn status(conn: &mut Conn<'_>, id: i64) -> Result<Option<Progress>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, Progress>(
        "SELECT status, attempts, last_error FROM outbox WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// One message by id, with its conversation's channel and address.
pub async fn get(conn: &mut Conn<'_>, id: i64) -> Result<Option<OutboxRow>, sqlx::Error> {
    on!(conn, c => sqlx::query_as::<_, OutboxRow>(
        "SELECT id, conversation_id, channel, address, payload, attempts FROM outbox WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// When the lease of a row runs out (Unix milliseconds; `None` unless it is being sent).
pub async fn lease_until(conn: &mut Conn<'_>, id: i64) -> Result<Option<i64>, sqlx::Error> {
    on!(conn, c => sqlx::query_scalar::<_, Option<i64>>(
        "SELECT lease_until FROM outbox WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await)
    .map(Option::flatten)
}

/// The payloads written for a conversation after message `after`, oldest first.
pub async fn payloads_after(
    conn: &mut Conn<'_>,
    conversation_id: i64,
    after: i64,
) -> Result<Vec<String>, sqlx::Error> {
    on!(conn, c => sqlx::query_scalar::<_, String>(
        "SELECT payload FROM outbox WHERE conversation_id = $1 AND id > $2 ORDER BY id",
    )
    .bind(conversation_id)
    .bind(after)
    .fetch_all(c)
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's plan of `sql` (its parameters bound to nulls), one line per step.
    async fn plan(db: &Db, sql: &str, parameters: usize) -> Vec<String> {
        let Db::Sqlite { read, .. } = db else {
            unreachable!("SQLite only")
        };
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(explain));
        for _ in 0..parameters {
            query = query.bind(None::<i64>);
        }
        let rows = query.fetch_all(read).await.unwrap();
        rows.into_iter().map(|(_, _, _, detail)| detail).collect()
    }

    /// The queries the worker and the health checks run read only the waiting messages,
    /// through the partial indexes, never the history of sent ones: every table they read,
    /// they read through an index.
    #[tokio::test]
    async fn the_outbox_queries_read_only_the_waiting_messages() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("plans.db").display());
        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        for (name, sql, parameters) in [
            ("claim", CLAIM_SQLITE.as_str(), 6),
            ("stuck", STUCK, 2),
            ("depth", DEPTH, 0),
        ] {
            let plan = plan(&db, sql, parameters).await;
            let reads: Vec<&String> = plan
                .iter()
                .filter(|step| step.starts_with("SCAN") || step.starts_with("SEARCH"))
                .collect();
            assert!(!reads.is_empty(), "{name}: {plan:?}");
            for step in reads {
                assert!(
                    step.contains("USING") && !step.contains("outbox_waiting"),
                    "{name} reads a table without an index, or through the index SQLite no \
                     longer has: {plan:?}"
                );
            }
        }
    }
}
