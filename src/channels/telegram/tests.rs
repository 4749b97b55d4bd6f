use super::*;
use crate::delivery::SendError;
use crate::service::OutgoingMessage;
use crate::store::outbox::Priority;
use std::time::{Duration, Instant};
use teloxide::ApiError;
use teloxide::types::Seconds;

#[test]
fn bot_api_errors_are_sorted_by_what_to_do() {
    let unknown = |d: &str| RequestError::Api(ApiError::Unknown(d.to_string()));
    assert_eq!(
        classify(RequestError::Api(ApiError::MessageNotModified)),
        Ok(())
    );
    assert_eq!(
        classify(unknown("Bad Request: message is not modified")),
        Ok(())
    );
    assert_eq!(
        classify(RequestError::RetryAfter(Seconds::from_seconds(7))),
        Err(SendError::Transient {
            reason: "429 Too Many Requests".into(),
            retry_after: Some(std::time::Duration::from_secs(7))
        })
    );
    assert!(matches!(
        classify(RequestError::Api(ApiError::BotBlocked)),
        Err(SendError::Unreachable(_))
    ));
    assert!(matches!(
        classify(RequestError::Api(ApiError::UserDeactivated)),
        Err(SendError::Unreachable(_))
    ));
    assert!(matches!(
        classify(unknown("Forbidden: bot was blocked")),
        Err(SendError::Unreachable(_))
    ));
    assert!(matches!(
        classify(unknown("Bad Request: can't parse entities")),
        Err(SendError::Permanent(_))
    ));
    assert!(matches!(
        classify(unknown("Internal Server Error")),
        Err(SendError::Transient { .. })
    ));
    assert!(matches!(
        classify(unknown("Bad Gateway")),
        Err(SendError::Transient { .. })
    ));
}

#[test]
fn the_rate_limiter_allows_a_burst_then_one_per_second_per_chat() {
    let limiter = RateLimiter::new(Limits::default());
    let start = Instant::now();
    for _ in 0..3 {
        assert_eq!(limiter.acquire(1, Priority::Reply, start), Ok(()));
    }
    let wait = limiter.acquire(1, Priority::Reply, start).unwrap_err();
    assert!(
        wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
        "{wait:?}"
    );
    // Another chat is not held up by the first.
    assert_eq!(limiter.acquire(2, Priority::Reply, start), Ok(()));
    assert_eq!(
        limiter.acquire(1, Priority::Reply, start + Duration::from_secs(1)),
        Ok(())
    );
}

#[test]
fn the_overall_limit_binds_across_chats() {
    let limiter = RateLimiter::new(Limits::default());
    let start = Instant::now();
    for chat in 0..30 {
        assert_eq!(
            limiter.acquire(chat, Priority::Reply, start),
            Ok(()),
            "chat {chat}"
        );
    }
    assert!(limiter.acquire(99, Priority::Reply, start).is_err());
    assert_eq!(
        limiter.acquire(99, Priority::Reply, start + Duration::from_millis(40)),
        Ok(())
    );
}

#[test]
fn background_lanes_leave_the_reserve_to_replies() {
    let limiter = RateLimiter::new(Limits::default());
    let start = Instant::now();
    let reserve = Limits::default().reserved_for_replies as i64;
    // Reminders take the burst down to the reserve, then wait...
    for chat in 0..30 - reserve {
        assert_eq!(
            limiter.acquire(chat, Priority::Scheduled, start),
            Ok(()),
            "chat {chat}"
        );
    }
    assert!(limiter.acquire(100, Priority::Scheduled, start).is_err());
    assert!(limiter.acquire(101, Priority::Notice, start).is_err());
    // ...while replies still find a token at once, down to the last one.
    for chat in 0..reserve {
        assert_eq!(
            limiter.acquire(200 + chat, Priority::Reply, start),
            Ok(()),
            "reply {chat}"
        );
    }
    assert!(limiter.acquire(300, Priority::Reply, start).is_err());
    // Refilled, a reminder goes again once the reserve is back above it.
    let later = start + Duration::from_secs(1);
    assert_eq!(limiter.acquire(100, Priority::Scheduled, later), Ok(()));
}

#[test]
fn html_escapes_everything_and_bolds_the_step() {
    assert_eq!(
        html("Paso 2 de 19\nEscribe <tu> CURP & ya", true),
        "<b>Paso 2 de 19</b>\nEscribe &lt;tu&gt; CURP &amp; ya"
    );
    assert_eq!(html("Hola <b>", false), "Hola &lt;b&gt;");
    // Only a message marked as headed has its first line in bold, whatever it says.
    assert_eq!(html("Paso\nuno", false), "Paso\nuno");
}

#[test]
fn choices_become_short_callback_data() {
    let templates = Templates::new();
    let message = OutgoingMessage {
        text: "x".into(),
        choices: vec![
            crate::conversation::reply::Choice::new("licenciatura", "Licenciatura"),
            crate::conversation::reply::Choice::new("maestria", "Maestria"),
        ],
        calendar: None,
        template: "ask_level".into(),
        thread: Vec::new(),
        attachments: Vec::new(),
        headed: false,
        rerouted_from: None,
    };
    let markup = keyboard(9_223_372_036_854_775_807, &message, &templates).unwrap();
    let data: Vec<String> = markup
        .inline_keyboard
        .iter()
        .flatten()
        .filter_map(|b| match &b.kind {
            teloxide::types::InlineKeyboardButtonKind::CallbackData(d) => Some(d.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(data, ["9223372036854775807:0", "9223372036854775807:1"]);
    assert!(data.iter().all(|d| d.len() <= 64));
}
