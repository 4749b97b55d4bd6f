//! The write that ends every turn: the receipt (the idempotency key), the new conversation
//! state (only if nobody changed it since it was read) and the outgoing messages.
//!
//! On SQLite the three statements go to the database as one batch: every statement to SQLite is
//! a hand-off to sqlx's connection thread, and these hand-offs, not SQLite itself, are what a
//! turn costs. The batch keeps each turn's write at the cost of a bare one-row insert. A
//! repeated receipt fails the batch on its primary key (nothing after it runs, and the caller
//! rolls back); a stale version updates no row, which the summed row count reveals. On
//! PostgreSQL the same three statements run one by one.
//!
//! A turn that writes nothing but its own rows ([`write_alone`]), a first turn creating its
//! conversation included, is committed together with the others of its kind that are waiting for SQLite's writer at the same time (group commit): one
//! hand-off and one commit for all of them, each turn still all-or-nothing and answered only
//! once the transaction that holds it committed. When any turn of a group fails (a repeated
//! receipt, a stale version), the group is rolled back and its turns are written one by one,
//! each with its own outcome.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use sqlx::Row;
use tokio::sync::oneshot;

use super::audit::AuditRow;
use super::outbox::{NewMessage, Priority};
use super::{Conn, Db, millis, on};

/// What a turn writes.
pub struct TurnWrite<'a> {
    pub channel: &'a str,
    pub external_id: &'a str,
    pub conversation_id: i64,
    /// The conversation does not exist yet and this write creates it (only in
    /// [`write_alone`]; `conversation_id` and `version` are then ignored).
    pub creates: bool,
    pub address: &'a str,
    /// The input as received, kept with the receipt.
    pub input: &'a str,
    pub state: &'a str,
    /// The conversation version that was read.
    pub version: i64,
    pub messages: &'a [NewMessage<'a>],
    /// Audit events of the turn.
    pub audit: &'a [AuditRow],
    pub now: DateTime<Utc>,
}

/// Outcome of the write. On anything but `Written` the caller must roll back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// The receipt existed: this input was processed before.
    Duplicate,
    /// The conversation changed since it was read: redo the turn.
    Conflict,
}

/// The batched statement for SQLite with `messages` outbox rows and `audit` events.
/// Placeholders: $1-$9 the turn, then two per message (payload, priority), then five per audit
/// event.
fn sqlite_batch(messages: usize, audit: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO receipts (channel, external_id, conversation_id, input, received_at)
         VALUES ($1, $2, $3, $4, $5);
         UPDATE conversations SET state = $6, version = version + 1, updated_at = $5
         WHERE id = $3 AND version = $7;",
    );
    push_rows(&mut sql, messages, audit, "$3");
    sql
}

/// How a batch names the conversation of a turn that creates it: it learns the id only when
/// the row is written (`$1` the channel, `$8` the address).
const CREATED: &str = "(SELECT id FROM conversations WHERE channel = $1 AND address = $8)";

/// The batch of a turn that writes nothing but its own rows, with its transaction inside. A
/// stale version updates no row, and the statement after the update then trips on purpose (a
/// receipt without a channel, refused as NOT NULL) so that the batch stops and is rolled back:
/// row counts cannot tell, since SQLite reports the last count again for BEGIN and COMMIT.
///
/// A turn that creates its conversation inserts it first, at version 1 and with the new state,
/// returning its id (the only statement of the batch that returns a row); if the conversation
/// exists by then, the insert does nothing and the same trip stops the batch (a conflict: the
/// turn is redone on the conversation that exists).
fn sqlite_alone_batch(messages: usize, audit: usize, creates: bool) -> String {
    format!(
        "BEGIN IMMEDIATE;{}COMMIT;",
        alone_statements(messages, audit, creates)
    )
}

/// The statements of [`sqlite_alone_batch`] without its transaction.
fn alone_statements(messages: usize, audit: usize, creates: bool) -> String {
    let (write_state, conversation) = if creates {
        (
            "INSERT INTO conversations (channel, address, state, version, created_at, updated_at)
             VALUES ($1, $8, $6, $7 + 1, $5, $5)
             ON CONFLICT (channel, address) DO NOTHING RETURNING id;",
            CREATED,
        )
    } else {
        (
            "UPDATE conversations SET state = $6, version = version + 1, updated_at = $5
             WHERE id = $3 AND version = $7;",
            "$3",
        )
    };
    let mut sql = format!(
        "{write_state}
         INSERT INTO receipts (channel, external_id, conversation_id, input, received_at)
         SELECT NULL, $2, $3, $4, $5 WHERE changes() = 0;
         INSERT INTO receipts (channel, external_id, conversation_id, input, received_at)
         VALUES ($1, $2, {conversation}, $4, $5);",
    );
    push_rows(&mut sql, messages, audit, conversation);
    sql
}

/// How many values a turn's batch binds.
fn parameters(messages: usize, audit: usize) -> usize {
    9 + 2 * messages + 5 * audit
}

/// `sql` with every placeholder `$N` moved to `$(N + by)` (the batch has no other `$`).
fn shift_placeholders(sql: &str, by: usize) -> String {
    let mut shifted = String::with_capacity(sql.len() + sql.len() / 8);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        shifted.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let number: usize = rest[..digits].parse().unwrap_or(0);
        shifted.push_str(&(number + by).to_string());
        rest = &rest[digits..];
    }
    shifted.push_str(rest);
    shifted
}

/// The batch of a group of turns written alone: one transaction, each turn's statements with
/// its placeholders after those of the turns before it.
fn sqlite_group_batch(turns: &[&OwnedTurn]) -> String {
    let mut sql = String::from("BEGIN IMMEDIATE;");
    let mut base = 0;
    for turn in turns {
        let (messages, audit) = (turn.messages.len(), turn.audit.len());
        sql.push_str(&shift_placeholders(
            &alone_statements(messages, audit, turn.creates),
            base,
        ));
        base += parameters(messages, audit);
    }
    sql.push_str("COMMIT;");
    sql
}

/// The outbox and audit inserts of a turn's batch ($10 on: two per message, five per event),
/// for the conversation `conversation` names (`$3`, or [`CREATED`]). An event bound without a
/// conversation belongs to the turn's: a new conversation's events are bound before its id is
/// known.
fn push_rows(sql: &mut String, messages: usize, audit: usize, conversation: &str) {
    if messages > 0 {
        sql.push_str(super::outbox::INSERT);
        sql.push_str(" VALUES ");
        let rows: Vec<String> = (0..messages)
            .map(|i| {
                let n = 10 + 2 * i;
                format!("({conversation}, $1, $8, ${n}, $9, $5, ${})", n + 1)
            })
            .collect();
        sql.push_str(&rows.join(", "));
        sql.push(';');
    }
    if audit > 0 {
        sql.push_str(super::audit::INSERT);
        sql.push_str(" VALUES ");
        let first = 10 + 2 * messages;
        let rows: Vec<String> = (0..audit)
            .map(|i| {
                let n = first + i * 5;
                format!(
                    "($5, ${n}, COALESCE(${}, {conversation}), ${}, ${}, ${})",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4
                )
            })
            .collect();
        sql.push_str(&rows.join(", "));
        sql.push(';');
    }
}

/// A turn that writes nothing but its own rows (no request, no effect, no channel record) on
/// SQLite: the whole write, transaction included, is one hand-off to SQLite's thread instead of
/// three (BEGIN, the rows, COMMIT), shared with the turns of its group (see the module
/// documentation). Same outcomes as [`write`]: a repeated receipt or a stale version stops the
/// batch, which is rolled back. A turn may create its conversation here
/// ([`TurnWrite::creates`]); the id of the conversation comes with the outcome. `None` on
/// PostgreSQL, where the caller writes in a transaction.
pub async fn write_alone(
    db: &Db,
    turn: &TurnWrite<'_>,
) -> Result<Option<(WriteOutcome, i64)>, sqlx::Error> {
    let Db::Sqlite { write, group, .. } = db else {
        return Ok(None);
    };
    let (done, mut outcome) = oneshot::channel();
    let queued = group.queue(OwnedTurn::from(turn), done);
    loop {
        tokio::select! {
            biased;
            written = &mut outcome => {
                queued.forget();
                // No outcome: the task writing its group died (a panic) without saying.
                return written.unwrap_or(Err(sqlx::Error::WorkerCrashed)).map(Some);
            }
            conn = write.acquire() => {
                // The writer is ours: commit whatever waits, ours included unless a group
                // before took it (its outcome is then already there).
                let conn = conn?;
                let jobs = group.take();
                // In a task of its own: if this turn's caller gives up meanwhile, the group is
                // still written whole and every turn of it told, and the writer goes back to
                // the pool with no transaction left open.
                let _ = tokio::spawn(commit_group(conn, jobs)).await;
            }
        }
    }
}

/// Turns waiting for SQLite's writer to be written alone (see [`write_alone`]).
#[derive(Default)]
pub struct Group {
    waiting: Mutex<Vec<Job>>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group").finish_non_exhaustive()
    }
}

/// The most turns one group commit takes (its batch binds well under SQLite's 32,766 values).
const GROUP_LIMIT: usize = 64;

struct Job {
    id: u64,
    turn: OwnedTurn,
    done: oneshot::Sender<Result<(WriteOutcome, i64), sqlx::Error>>,
}

impl Group {
    fn queue(
        &self,
        turn: OwnedTurn,
        done: oneshot::Sender<Result<(WriteOutcome, i64), sqlx::Error>>,
    ) -> Queued<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().push(Job { id, turn, done });
        Queued {
            group: self,
            id: Some(id),
        }
    }

    /// The oldest waiting turns, up to a group's worth.
    fn take(&self) -> Vec<Job> {
        let mut waiting = self.lock();
        let count = waiting.len().min(GROUP_LIMIT);
        waiting.drain(..count).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Job>> {
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A turn in the group's queue: taken out again if its caller gives up before it was written
/// (a turn nobody waits for is not written later behind its back).
struct Queued<'g> {
    group: &'g Group,
    id: Option<u64>,
}

impl Queued<'_> {
    /// Its outcome arrived: nothing to take out.
    fn forget(mut self) {
        self.id = None;
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.group.lock().retain(|job| job.id != id);
        }
    }
}

/// Writes `jobs` in one transaction and tells each its outcome before the writer is let go.
/// When the group fails, it is rolled back and each turn is written on its own.
async fn commit_group(mut conn: sqlx::pool::PoolConnection<sqlx::Sqlite>, jobs: Vec<Job>) {
    if jobs.len() > 1 {
        let turns: Vec<&OwnedTurn> = jobs.iter().map(|job| &job.turn).collect();
        let sql = sqlite_group_batch(&turns);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for turn in &turns {
            query = bind_turn(query, turn);
        }
        if let Ok(created) = query.fetch_all(&mut *conn).await {
            // The ids of the conversations created, in the order of their turns.
            let mut created = created
                .iter()
                .filter_map(|row| row.try_get::<i64, _>(0).ok());
            for job in jobs {
                let id = match job.turn.creates {
                    true => created.next(),
                    false => Some(job.turn.conversation_id),
                };
                let outcome = id.map(|id| (WriteOutcome::Written, id)).ok_or_else(|| {
                    sqlx::Error::Protocol("a created conversation without its id".into())
                });
                let _ = job.done.send(outcome);
            }
            return;
        }
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
    }
    for job in jobs {
        let outcome = write_one_alone(&mut conn, &job.turn).await;
        let _ = job.done.send(outcome);
    }
}

/// One turn's batch, transaction included (see [`sqlite_alone_batch`]).
async fn write_one_alone(
    conn: &mut sqlx::SqliteConnection,
    turn: &OwnedTurn,
) -> Result<(WriteOutcome, i64), sqlx::Error> {
    let sql = sqlite_alone_batch(turn.messages.len(), turn.audit.len(), turn.creates);
    let query = bind_turn(sqlx::query(sqlx::AssertSqlSafe(sql)), turn);
    match query.fetch_all(&mut *conn).await {
        Ok(created) => match (turn.creates, created.first()) {
            (false, _) => Ok((WriteOutcome::Written, turn.conversation_id)),
            (true, Some(row)) => Ok((WriteOutcome::Written, row.try_get(0)?)),
            (true, None) => Err(sqlx::Error::Protocol(
                "a created conversation without its id".into(),
            )),
        },
        Err(error) => {
            // The batch stopped inside its transaction: undo it before the connection goes
            // back to the pool (harmless when the BEGIN itself failed).
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            match error {
                sqlx::Error::Database(e) if e.is_unique_violation() => {
                    Ok((WriteOutcome::Duplicate, turn.conversation_id))
                }
                sqlx::Error::Database(e)
                    if e.kind() == sqlx::error::ErrorKind::NotNullViolation =>
                {
                    Ok((WriteOutcome::Conflict, turn.conversation_id))
                }
                error => Err(error),
            }
        }
    }
}

/// A turn's write, owned: in a group, another turn's task may write it.
struct OwnedTurn {
    channel: String,
    external_id: String,
    conversation_id: i64,
    creates: bool,
    address: String,
    input: String,
    state: String,
    version: i64,
    messages: Vec<(String, Priority)>,
    audit: Vec<AuditRow>,
    now: DateTime<Utc>,
}

impl From<&TurnWrite<'_>> for OwnedTurn {
    fn from(turn: &TurnWrite<'_>) -> OwnedTurn {
        OwnedTurn {
            channel: turn.channel.to_string(),
            external_id: turn.external_id.to_string(),
            conversation_id: turn.conversation_id,
            creates: turn.creates,
            address: turn.address.to_string(),
            input: turn.input.to_string(),
            state: turn.state.to_string(),
            version: turn.version,
            messages: turn
                .messages
                .iter()
                .map(|m| (m.payload.clone(), m.priority))
                .collect(),
            audit: turn
                .audit
                .iter()
                .map(|event| AuditRow {
                    // Not known yet: the batch names the conversation it creates.
                    conversation_id: event.conversation_id.filter(|_| !turn.creates),
                    ..event.clone()
                })
                .collect(),
            now: turn.now,
        }
    }
}

/// Binds a turn's values in the order of the SQLite batches.
fn bind_turn<'q>(
    query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    turn: &'q OwnedTurn,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    let mut query = query
        .bind(turn.channel.as_str())
        .bind(turn.external_id.as_str())
        .bind(turn.conversation_id)
        .bind(turn.input.as_str())
        .bind(turn.now)
        .bind(turn.state.as_str())
        .bind(turn.version)
        .bind(turn.address.as_str())
        .bind(millis(turn.now));
    for (payload, priority) in &turn.messages {
        query = query.bind(payload.as_str()).bind(priority.as_i64());
    }
    for event in &turn.audit {
        query = query
            .bind(event.actor)
            .bind(event.conversation_id)
            .bind(event.application_id)
            .bind(event.event.as_str())
            .bind(event.detail.as_str());
    }
    query
}

pub async fn write(conn: &mut Conn<'_>, turn: &TurnWrite<'_>) -> Result<WriteOutcome, sqlx::Error> {
    on!(conn,
        sqlite c => write_batch(c, turn).await,
        postgres c => write_each(&mut Conn::Postgres(c), turn).await,
    )
}

/// SQLite: the turn's statements as one batch (see the module documentation).
async fn write_batch(
    c: &mut sqlx::SqliteConnection,
    turn: &TurnWrite<'_>,
) -> Result<WriteOutcome, sqlx::Error> {
    let sql = sqlite_batch(turn.messages.len(), turn.audit.len());
    let owned = OwnedTurn::from(turn);
    let query = bind_turn(sqlx::query(sqlx::AssertSqlSafe(sql)), &owned);
    match query.execute(&mut *c).await {
        Ok(result) => {
            let expected = 2 + turn.messages.len() as u64 + turn.audit.len() as u64;
            Ok(if result.rows_affected() == expected {
                WriteOutcome::Written
            } else {
                WriteOutcome::Conflict
            })
        }
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
            Ok(WriteOutcome::Duplicate)
        }
        Err(error) => Err(error),
    }
}

/// PostgreSQL: the same statements one by one.
async fn write_each(
    conn: &mut Conn<'_>,
    turn: &TurnWrite<'_>,
) -> Result<WriteOutcome, sqlx::Error> {
    let recorded = super::receipts::record(
        conn,
        turn.channel,
        turn.external_id,
        turn.conversation_id,
        turn.input,
        turn.now,
    )
    .await?;
    if !recorded {
        return Ok(WriteOutcome::Duplicate);
    }
    if !super::conversations::update_state(
        conn,
        turn.conversation_id,
        turn.version,
        turn.state,
        turn.now,
    )
    .await?
    {
        return Ok(WriteOutcome::Conflict);
    }
    super::outbox::enqueue(conn, turn.messages, turn.now).await?;
    for event in turn.audit {
        super::audit::record(
            conn,
            turn.now,
            event.actor,
            event.conversation_id,
            event.application_id,
            event.event,
            &event.detail,
        )
        .await?;
    }
    Ok(WriteOutcome::Written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sqlite_batch_numbers_placeholders_per_message_and_audit_event() {
        let sql = sqlite_batch(2, 1);
        assert!(
            sql.contains("($3, $1, $8, $10, $9, $5, $11), ($3, $1, $8, $12, $9, $5, $13);"),
            "{sql}"
        );
        assert!(
            sql.contains("($5, $14, COALESCE($15, $3), $16, $17, $18);"),
            "{sql}"
        );
        assert!(!sqlite_batch(0, 0).contains("INSERT INTO outbox"));
        assert!(!sqlite_batch(0, 0).contains("INSERT INTO audit_events"));
    }

    #[test]
    fn a_turn_that_creates_its_conversation_names_it_by_its_address() {
        let sql = sqlite_alone_batch(1, 1, true);
        assert!(sql.starts_with("BEGIN IMMEDIATE;"), "{sql}");
        assert!(!sql.contains("UPDATE conversations"), "{sql}");
        assert!(
            sql.contains("ON CONFLICT (channel, address) DO NOTHING RETURNING id;"),
            "{sql}"
        );
        // Nothing else names the conversation by `$3`, the id it does not have yet.
        assert!(
            sql.contains(&format!("VALUES ($1, $2, {CREATED}, $4, $5);")),
            "{sql}"
        );
        assert!(
            sql.contains(&format!("({CREATED}, $1, $8, $10, $9, $5, $11);")),
            "{sql}"
        );
        assert!(sql.contains(&format!("COALESCE($13, {CREATED})")), "{sql}");
        assert_eq!(
            sql.matches("$3").count(),
            1,
            "only the trip binds it: {sql}"
        );
        assert!(sql.contains("SELECT NULL, $2, $3, $4, $5 WHERE changes() = 0;"));
    }

    #[test]
    fn a_group_numbers_each_turns_placeholders_after_the_turns_before_it() {
        assert_eq!(shift_placeholders("($1, $10) $2;", 13), "($14, $23) $15;");
        let turn = |messages: usize| OwnedTurn {
            channel: "telegram".into(),
            external_id: "1".into(),
            conversation_id: 1,
            creates: false,
            address: "1".into(),
            input: "{}".into(),
            state: "{}".into(),
            version: 1,
            messages: vec![("{}".into(), Priority::Reply); messages],
            audit: Vec::new(),
            now: Utc::now(),
        };
        let (first, second) = (turn(2), turn(1));
        let sql = sqlite_group_batch(&[&first, &second]);
        assert_eq!(sql.matches("BEGIN IMMEDIATE;").count(), 1);
        assert!(sql.ends_with("COMMIT;"));
        // The first turn binds 9 + 2 × 2 values; the second's start at $14.
        assert!(sql.contains("($3, $1, $8, $12, $9, $5, $13);"), "{sql}");
        assert!(sql.contains("WHERE id = $16 AND version = $20;"), "{sql}");
        assert!(
            sql.contains("($16, $14, $21, $23, $22, $18, $24);"),
            "{sql}"
        );
    }
}
