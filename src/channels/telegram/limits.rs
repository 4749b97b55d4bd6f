//! Telegram's rate limits as token buckets (about 30 messages/s overall and 1/s per chat, with
//! a short burst): a message over the limit is deferred in the outbox, never waited for.
//!
//! Part of the overall burst is kept for replies: a message of a background lane (a notice, a
//! reminder) only takes a token while more than that reserve is left, so thousands of queued
//! reminders still go out at the full rate while an applicant who writes finds a token at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::outbox::Priority;

/// Telegram's limits, as token buckets: a burst, then a steady rate.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_chat_burst: u32,
    pub per_chat_per_second: f64,
    pub overall_burst: u32,
    pub overall_per_second: f64,
    /// Overall tokens that only replies may take.
    pub reserved_for_replies: u32,
}

impl Default for Limits {
    /// About 1 message/s per chat (3 at once) and 30/s overall (Telegram's bot FAQ).
    fn default() -> Self {
        Limits {
            per_chat_burst: 3,
            per_chat_per_second: 1.0,
            overall_burst: 30,
            overall_per_second: 30.0,
            reserved_for_replies: 10,
        }
    }
}

impl Limits {
    /// No limit (benchmarks and tests against a fake server).
    pub fn unlimited() -> Limits {
        Limits {
            per_chat_burst: u32::MAX,
            per_chat_per_second: f64::MAX,
            overall_burst: u32::MAX,
            overall_per_second: f64::MAX,
            reserved_for_replies: 0,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(burst: u32, now: Instant) -> Bucket {
        Bucket {
            tokens: f64::from(burst),
            at: now,
        }
    }

    fn refill(&mut self, burst: u32, rate: f64, now: Instant) {
        let gained = now.saturating_duration_since(self.at).as_secs_f64() * rate;
        self.tokens = (self.tokens + gained).min(f64::from(burst));
        self.at = self.at.max(now);
    }

    /// How long until one token is there beyond `reserve` (zero if it is now).
    fn wait(&self, rate: f64, reserve: u32) -> Duration {
        let needed = 1.0 + f64::from(reserve);
        if self.tokens >= needed {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((needed - self.tokens) / rate)
        }
    }
}

/// Token buckets per chat and overall, in this process.
#[derive(Debug)]
pub struct RateLimiter {
    limits: Limits,
    state: Mutex<(Bucket, HashMap<i64, Bucket>)>,
}

impl RateLimiter {
    pub fn new(limits: Limits) -> RateLimiter {
        let now = Instant::now();
        RateLimiter {
            limits,
            state: Mutex::new((Bucket::full(limits.overall_burst, now), HashMap::new())),
        }
    }

    /// Takes a token for a message of `lane` to `chat`, or says how long to wait for one.
    pub fn acquire(&self, chat: i64, lane: Priority, now: Instant) -> Result<(), Duration> {
        let l = self.limits;
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (overall, chats) = &mut *state;
        overall.refill(l.overall_burst, l.overall_per_second, now);
        let bucket = chats
            .entry(chat)
            .or_insert_with(|| Bucket::full(l.per_chat_burst, now));
        bucket.refill(l.per_chat_burst, l.per_chat_per_second, now);
        let reserve = match lane {
            Priority::Reply => 0,
            Priority::Notice | Priority::Scheduled => l.reserved_for_replies,
        };
        let wait = overall
            .wait(l.overall_per_second, reserve)
            .max(bucket.wait(l.per_chat_per_second, 0));
        if wait > Duration::ZERO {
            return Err(wait);
        }
        overall.tokens -= 1.0;
        bucket.tokens -= 1.0;
        // Forget chats whose bucket is full again, so the map stays small.
        if chats.len() > 10_000 {
            chats.retain(|_, b| b.tokens < f64::from(l.per_chat_burst));
        }
        Ok(())
    }
}
