//! One input never stops the next: an input's processing is *guarded*. The attempt is counted
//! in the database before the input is processed (so an input that aborts the process counts
//! too), a panic is caught, and an input whose processing failed or crashed the service
//! `[inputs] quarantine_after_failures` times is set aside: the caller moves it out of the way
//! (Maildir `quarantine/`, an IMAP keyword, exit 65, the Telegram offset past it), the audit
//! trail records why (`input_quarantined`, no personal data) and
//! `ventanilla_inputs_quarantined_total` counts it.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;

use futures_util::FutureExt as _;

use crate::service::Service;
use crate::store;

/// How the caller sorts the result of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Processed, or refused for good: done with the input.
    Done,
    /// Not processed for a reason outside the input (the database is unavailable): try again
    /// later; it does not count against the input.
    Temporary,
    /// The input could not be processed: counts against it.
    Failed,
}

/// When an attempt is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// Before the work, committed on its own: an input that aborts the process (memory, stack)
    /// counts too. Two more writes per input: for inputs anyone can craft byte by byte (e-mail).
    Before,
    /// Only once the work failed or panicked: no cost for the inputs that succeed. For inputs a
    /// platform already bounds (a Telegram update).
    OnFailure,
}

/// What became of a guarded input.
#[derive(Debug)]
pub enum Guarded<T> {
    Done(T),
    /// Try again later; the result, unless the attempt panicked.
    Retry(Option<T>),
    /// Set aside, with the reason (`failed`, `panicked`, `crashed`): never processed again.
    Quarantined(&'static str),
}

/// Runs `work` for the input `key` of `channel`, guarded (see the module documentation).
pub async fn run<T, F>(
    service: &Service,
    (channel, key): (&str, &str),
    counting: Counting,
    work: F,
    sort: impl Fn(&T) -> Ending,
) -> Guarded<T>
where
    F: Future<Output = T>,
{
    let limit = i64::from(service.settings.inputs.quarantine_after_failures.max(1));
    let mut failures_before = 0;
    if counting == Counting::Before {
        let attempt = match begin(service, channel, key).await {
            Ok(attempt) => attempt,
            Err(error) => {
                tracing::warn!(error.message = %error, "the attempt of an input was not counted");
                return Guarded::Retry(None);
            }
        };
        if attempt.quarantined {
            return Guarded::Quarantined("quarantined");
        }
        if attempt.failures_before >= limit {
            // Counted but never finished: the process died while processing it.
            let reason = if attempt.last_error.is_some() {
                "failed"
            } else {
                "crashed"
            };
            return quarantine(service, channel, key, reason).await;
        }
        failures_before = attempt.failures_before;
    }
    let (result, reason) = match AssertUnwindSafe(work).catch_unwind().await {
        Ok(result) => match sort(&result) {
            Ending::Done => {
                if counting == Counting::Before {
                    finish(service, channel, key, Finish::Done).await;
                }
                return Guarded::Done(result);
            }
            Ending::Temporary => {
                if counting == Counting::Before {
                    finish(service, channel, key, Finish::NotCounted).await;
                }
                return Guarded::Retry(Some(result));
            }
            Ending::Failed => (Some(result), "failed"),
        },
        Err(_) => (None, "panicked"),
    };
    tracing::error!(channel, reason, "an input could not be processed");
    if counting == Counting::OnFailure {
        match begin(service, channel, key).await {
            Ok(attempt) if attempt.quarantined => return Guarded::Quarantined("quarantined"),
            Ok(attempt) => failures_before = attempt.failures_before,
            Err(error) => {
                tracing::warn!(error.message = %error, "the failure of an input was not counted");
                return Guarded::Retry(result);
            }
        }
    }
    finish(service, channel, key, Finish::Failed(reason)).await;
    if failures_before + 1 >= limit {
        return quarantine(service, channel, key, reason).await;
    }
    Guarded::Retry(result)
}

async fn begin(
    service: &Service,
    channel: &str,
    key: &str,
) -> Result<store::quarantine::Attempt, sqlx::Error> {
    let mut tx = service.db.begin().await?;
    let attempt =
        store::quarantine::begin(&mut tx.conn(), channel, key, service.clock.now()).await?;
    tx.commit().await?;
    Ok(attempt)
}

enum Finish {
    Done,
    NotCounted,
    Failed(&'static str),
}

/// Records how the attempt ended; a database failure here only leaves the count as it is.
async fn finish(service: &Service, channel: &str, key: &str, how: Finish) {
    let write = async {
        let mut tx = service.db.begin().await?;
        let mut conn = tx.conn();
        match how {
            Finish::Done => store::quarantine::finished(&mut conn, channel, key).await?,
            Finish::NotCounted => store::quarantine::not_counted(&mut conn, channel, key).await?,
            Finish::Failed(reason) => {
                store::quarantine::failed(&mut conn, channel, key, reason).await?
            }
        }
        tx.commit().await
    };
    if let Err(error) = write.await {
        tracing::warn!(error.message = %error, "the attempt of an input was not recorded");
    }
}

async fn quarantine<T>(
    service: &Service,
    channel: &str,
    key: &str,
    reason: &'static str,
) -> Guarded<T> {
    let now = service.clock.now();
    let short: String = key.chars().take(16).collect();
    let write = async {
        let mut tx = service.db.begin().await?;
        store::quarantine::quarantined(&mut tx.conn(), channel, key, now).await?;
        let detail = serde_json::json!({ "channel": channel, "key": &short, "reason": reason });
        store::audit::record(
            &mut tx.conn(),
            now,
            channel,
            None,
            None,
            store::audit::Event::InputQuarantined,
            &detail.to_string(),
        )
        .await?;
        tx.commit().await
    };
    match write.await {
        Ok(()) => {
            service.metrics.quarantined.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(channel, key = %short, reason, "input set aside (quarantined)");
            Guarded::Quarantined(reason)
        }
        Err(error) => {
            tracing::warn!(error.message = %error, "an input could not be set aside");
            Guarded::Retry(None)
        }
    }
}
