//! When the proxy sends a failed message again: which failures pass by themselves (the server
//! could not be reached, was restarting, or asked for time with 429/503), which methods may be
//! sent twice, and how long to wait between tries within the retry window (`--retry-for`).
//!
//! A message the server never got is sent again whatever it is. One the server may have acted on
//! is sent again only when repeating it changes nothing: `ping`, the `*/list` methods,
//! `resources/read`, `initialize` and `server/discover`.

use crate::jsonrpc::{ClientMessage, Method};
use crate::transport::TransportError;
use reqwest::StatusCode;
use std::time::Duration;
use tokio::time::Instant;

/// The first wait, doubled on each try up to [`LONGEST_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(200);
/// Short enough that a server back from a restart is noticed within two seconds.
const LONGEST_WAIT: Duration = Duration::from_secs(2);

/// Methods that read and never change anything on the server.
const SAFE_TO_REPEAT: &[&[u8]] = &[
    b"ping",
    b"tools/list",
    b"prompts/list",
    b"resources/list",
    b"resources/templates/list",
    b"resources/read",
    b"initialize",
    b"server/discover",
];

/// Whether the server may have received the message that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    /// It did not (connection refused, 429, 503 …): sending it again is always safe.
    No,
    /// It may have: only a message that is safe to repeat is sent again.
    Maybe,
}

/// The tries of one message, from its first failure on.
pub struct Retries {
    window: Duration,
    first_failure: Option<Instant>,
    tries: u32,
}

impl Retries {
    /// Tries for `window` after the first failure; a zero window never retries.
    pub fn new(window: Duration) -> Self {
        Self { window, first_failure: None, tries: 0 }
    }

    /// How long to wait before sending `message` again after it failed with `error`, or `None`
    /// when the failure is final: not one that passes, not safe to repeat, or out of time (also
    /// when the server asks for a longer wait than the window has left).
    pub fn wait_before_next(
        &mut self,
        message: &ClientMessage,
        error: &TransportError,
        reached: Reached,
    ) -> Option<Duration> {
        let asked = passing(error, reached, safe_to_repeat(message))?;
        let first_failure = *self.first_failure.get_or_insert_with(Instant::now);
        let left = self.window.checked_sub(first_failure.elapsed()).filter(|left| !left.is_zero())?;
        self.tries += 1;
        match asked {
            Some(asked) if asked > left => None,
            Some(asked) => Some(asked),
            None => Some(backoff(self.tries).min(left)),
        }
    }
}

/// `Some` when `error` may pass if the message is sent again: with the wait the server asked
/// for, if it asked.
fn passing(error: &TransportError, reached: Reached, safe_to_repeat: bool) -> Option<Option<Duration>> {
    match (error, reached) {
        (TransportError::Network(_), Reached::No) => Some(None),
        (TransportError::Status { status, retry_after, .. }, Reached::No) if asks_for_time(*status) => {
            Some(*retry_after)
        }
        (_, Reached::No) => None,
        (_, Reached::Maybe) if !safe_to_repeat => None,
        (TransportError::Network(_) | TransportError::StreamEnded | TransportError::AnswerLost, Reached::Maybe) => {
            Some(None)
        }
        (TransportError::Status { status, retry_after, .. }, Reached::Maybe)
            if asks_for_time(*status) || matches!(*status, StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT) =>
        {
            Some(*retry_after)
        }
        (_, Reached::Maybe) => None,
    }
}

/// 429 and 503: the server did not take the request on and may later.
fn asks_for_time(status: StatusCode) -> bool {
    matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE)
}

/// Whether sending `message` twice leaves the server as sending it once would.
pub fn safe_to_repeat(message: &ClientMessage) -> bool {
    match message.method {
        Method::Initialize | Method::ResourcesRead | Method::Discover => true,
        Method::Other => message.method_name.as_deref().is_some_and(|name| SAFE_TO_REPEAT.contains(&name)),
        _ => false,
    }
}

/// 200 ms, 400 ms, 800 ms … capped at [`LONGEST_WAIT`].
fn backoff(tries: u32) -> Duration {
    FIRST_WAIT.saturating_mul(1 << tries.saturating_sub(1).min(8)).min(LONGEST_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn message(line: &'static str) -> ClientMessage {
        ClientMessage::parse(Bytes::from_static(line.as_bytes())).unwrap()
    }

    fn status(code: u16, retry_after: Option<u64>) -> TransportError {
        TransportError::Status {
            status: StatusCode::from_u16(code).unwrap(),
            body: Bytes::new(),
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    const CALL: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}"#;
    const LIST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;

    #[test]
    fn only_reading_methods_are_safe_to_repeat() {
        for line in [
            LIST,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"a"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/templates/list"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
        ] {
            assert!(safe_to_repeat(&message(line)), "{line}");
        }
        for line in [
            CALL,
            r#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"p"}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/progress"}"#,
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
        ] {
            assert!(!safe_to_repeat(&message(line)), "{line}");
        }
    }

    #[test]
    fn what_passes_depends_on_whether_the_server_may_have_it() {
        let not_sent = || TransportError::Unsupported("a batch");
        assert_eq!(passing(&status(503, Some(3)), Reached::No, false), Some(Some(Duration::from_secs(3))));
        assert_eq!(passing(&status(429, None), Reached::No, false), Some(None));
        assert_eq!(passing(&not_sent(), Reached::No, true), None, "refused for good");
        assert_eq!(passing(&TransportError::StreamEnded, Reached::Maybe, false), None, "a tool call is not repeated");
        assert_eq!(passing(&TransportError::StreamEnded, Reached::Maybe, true), Some(None));
        assert_eq!(passing(&status(502, None), Reached::Maybe, true), Some(None));
        assert_eq!(passing(&status(502, None), Reached::Maybe, false), None);
        assert_eq!(passing(&status(500, None), Reached::Maybe, true), None, "a server bug does not pass");
        assert_eq!(passing(&status(404, None), Reached::Maybe, true), None);
    }

    #[tokio::test(start_paused = true)]
    async fn waits_grow_and_stop_at_the_window() {
        let call = message(CALL);
        let mut retries = Retries::new(Duration::from_secs(3));
        let mut waited = Vec::new();
        while let Some(wait) = retries.wait_before_next(&call, &status(503, None), Reached::No) {
            waited.push(wait.as_millis());
            tokio::time::advance(wait).await;
        }
        assert_eq!(waited, [200, 400, 800, 1600]);
        assert_eq!(retries.wait_before_next(&call, &status(503, None), Reached::No), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_asking_for_more_time_than_is_left_fails_at_once() {
        let call = message(CALL);
        let mut retries = Retries::new(Duration::from_secs(10));
        assert_eq!(retries.wait_before_next(&call, &status(503, Some(4)), Reached::No), Some(Duration::from_secs(4)));
        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(retries.wait_before_next(&call, &status(503, Some(7)), Reached::No), None);
        assert_eq!(Retries::new(Duration::ZERO).wait_before_next(&call, &status(503, None), Reached::No), None);
    }
}
