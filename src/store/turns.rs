//! The write that ends every turn: the receipt (the idempotency key), the new conversation
//! state (only if nobody changed it since it was read) and the outgoing messages.
//!
//! On SQLite the three statements go to the database as one batch: every statement to SQLite is
//! a hand-off to sqlx's connection thread, and these hand-offs, not SQLite itself, are what a
//! turn costs. The batch keeps each turn's write at the cost of a bare one-row insert. A
//! repeated receipt fails the batch on its primary key (nothing after it runs, and the caller
//! rolls back); a stale version updates no row, which the summed row count reveals. On
//! PostgreSQL the same three statements run one by one.

use chrono::{DateTime, Utc};

use super::audit::AuditRow;
use super::outbox::NewMessage;
use super::{Conn, Db, millis, on};

/// What a turn writes.
pub struct TurnWrite<'a> {
    pub channel: &'a str,
    pub external_id: &'a str,
    pub conversation_id: i64,
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
    push_rows(&mut sql, messages, audit);
    sql
}

/// The batch of a turn that writes nothing but its own rows, with its transaction inside. A
/// stale version updates no row, and the statement after the update then trips on purpose (a
/// receipt without a channel, refused as NOT NULL) so that the batch stops and is rolled back:
/// row counts cannot tell, since SQLite reports the last count again for BEGIN and COMMIT.
fn sqlite_alone_batch(messages: usize, audit: usize) -> String {
    let mut sql = String::from(
        "BEGIN IMMEDIATE;
         UPDATE conversations SET state = $6, version = version + 1, updated_at = $5
         WHERE id = $3 AND version = $7;
         INSERT INTO receipts (channel, external_id, conversation_id, input, received_at)
         SELECT NULL, $2, $3, $4, $5 WHERE changes() = 0;
         INSERT INTO receipts (channel, external_id, conversation_id, input, received_at)
         VALUES ($1, $2, $3, $4, $5);",
    );
    push_rows(&mut sql, messages, audit);
    sql.push_str("COMMIT;");
    sql
}

/// The outbox and audit inserts of a turn's batch ($10 on: two per message, five per event).
fn push_rows(sql: &mut String, messages: usize, audit: usize) {
    if messages > 0 {
        sql.push_str(super::outbox::INSERT);
        sql.push_str(" VALUES ");
        let rows: Vec<String> = (0..messages)
            .map(|i| format!("($3, $1, $8, ${}, $9, $5, ${})", 10 + 2 * i, 11 + 2 * i))
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
                format!("($5, ${n}, ${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4)
            })
            .collect();
        sql.push_str(&rows.join(", "));
        sql.push(';');
    }
}

/// A turn that writes nothing but its own rows (no request, no effect, no channel record) on
/// SQLite: the whole write, transaction included, is one hand-off to SQLite's thread instead of
/// three (BEGIN, the rows, COMMIT), which is what such a turn mostly cost. Same outcomes as
/// [`write`]: a repeated receipt or a stale version stops the batch, which is rolled back.
/// `None` on PostgreSQL, where the caller writes in a transaction.
pub async fn write_alone(
    db: &Db,
    turn: &TurnWrite<'_>,
) -> Result<Option<WriteOutcome>, sqlx::Error> {
    let Db::Sqlite { write, .. } = db else {
        return Ok(None);
    };
    let mut conn = write.acquire().await?;
    let sql = sqlite_alone_batch(turn.messages.len(), turn.audit.len());
    let query = bind_turn(sqlx::query(sqlx::AssertSqlSafe(sql)), turn);
    match query.execute(&mut *conn).await {
        Ok(_) => Ok(Some(WriteOutcome::Written)),
        Err(error) => {
            // The batch stopped inside its transaction: undo it before the connection goes
            // back to the pool (harmless when the BEGIN itself failed).
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            match error {
                sqlx::Error::Database(e) if e.is_unique_violation() => {
                    Ok(Some(WriteOutcome::Duplicate))
                }
                sqlx::Error::Database(e)
                    if e.kind() == sqlx::error::ErrorKind::NotNullViolation =>
                {
                    Ok(Some(WriteOutcome::Conflict))
                }
                error => Err(error),
            }
        }
    }
}

/// Binds a turn's values in the order of the SQLite batches.
fn bind_turn<'q>(
    query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    turn: &'q TurnWrite<'q>,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    let mut query = query
        .bind(turn.channel)
        .bind(turn.external_id)
        .bind(turn.conversation_id)
        .bind(turn.input)
        .bind(turn.now)
        .bind(turn.state)
        .bind(turn.version)
        .bind(turn.address)
        .bind(millis(turn.now));
    for message in turn.messages {
        query = query
            .bind(message.payload.as_str())
            .bind(message.priority.as_i64());
    }
    for event in turn.audit {
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
    let query = bind_turn(sqlx::query(sqlx::AssertSqlSafe(sql)), turn);
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
        assert!(sql.contains("($5, $14, $15, $16, $17, $18);"), "{sql}");
        assert!(!sqlite_batch(0, 0).contains("INSERT INTO outbox"));
        assert!(!sqlite_batch(0, 0).contains("INSERT INTO audit_events"));
    }
}
