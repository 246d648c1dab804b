//! The HTTP pieces every transport shares: the [`Endpoint`] (the client [`crate::network`] built,
//! the URL, user headers and token source), request headers common to all eras, the reading of
//! an error answer into a [`TransportError`], and reconnection timing.

use super::{TokenSource, TransportError};
use http::header::{HeaderMap, HeaderValue, AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Response, StatusCode};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// How much of an error body is kept for the client's error message.
const ERROR_BODY_LIMIT: usize = 4096;
/// Wait before reconnecting when the server gave no `retry:`.
pub const DEFAULT_RETRY: Duration = Duration::from_secs(1);
/// Ceiling of reconnection backoff.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub const ACCEPT_POST: HeaderValue = HeaderValue::from_static("application/json, text/event-stream");
pub const ACCEPT_SSE: HeaderValue = HeaderValue::from_static("text/event-stream");
pub const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// What every transport talks to a server with.
#[derive(Clone)]
pub struct Endpoint {
    pub http: reqwest::Client,
    pub url: reqwest::Url,
    pub user_headers: HeaderMap,
    pub tokens: Option<Arc<dyn TokenSource>>,
    /// Cancelled when the proxy shuts down.
    pub shutdown: CancellationToken,
}

impl Endpoint {
    /// The user's headers, the bearer token and `accept`, with room for `extra` more.
    pub fn headers(&self, accept: HeaderValue, extra: usize) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(self.user_headers.len() + 2 + extra);
        headers.extend(self.user_headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(bearer) = self.tokens.as_ref().and_then(|t| t.bearer()) {
            headers.insert(AUTHORIZATION, bearer);
        }
        headers.insert(http::header::ACCEPT, accept);
        headers
    }

    /// Runs `future` unless the proxy shuts down first.
    pub async fn cancellable<F: std::future::Future>(&self, future: F) -> Result<F::Output, TransportError> {
        tokio::select! {
            output = future => Ok(output),
            () = self.shutdown.cancelled() => Err(TransportError::ShuttingDown),
        }
    }
}

/// Waits `delay` unless `token` is cancelled first.
pub async fn pause(delay: Duration, token: &CancellationToken) -> Result<(), TransportError> {
    tokio::select! {
        () = tokio::time::sleep(delay) => Ok(()),
        () = token.cancelled() => Err(TransportError::ShuttingDown),
    }
}

/// An HTTP error answer, read far enough to say what it means.
pub struct Refusal {
    pub status: StatusCode,
    pub www_authenticate: Option<String>,
    pub retry_after: Option<Duration>,
    /// The start of the body (empty for 401 and `insufficient_scope`, which are not read).
    pub body: Vec<u8>,
}

impl Refusal {
    /// Reads the status, the challenge and the start of the body of a non-success `response`.
    pub async fn read(endpoint: &Endpoint, mut response: Response) -> Self {
        let status = response.status();
        let www_authenticate =
            response.headers().get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| parse_retry_after(v, SystemTime::now()));
        let mut body = Vec::new();
        let scope_refusal = status == StatusCode::FORBIDDEN
            && crate::auth::Challenge::parse(www_authenticate.as_deref()).is_insufficient_scope();
        if status != StatusCode::UNAUTHORIZED && !scope_refusal {
            while body.len() < ERROR_BODY_LIMIT {
                match endpoint.cancellable(response.chunk()).await {
                    Ok(Ok(Some(chunk))) => body.extend_from_slice(&chunk),
                    _ => break,
                }
            }
            body.truncate(ERROR_BODY_LIMIT);
        }
        Self { status, www_authenticate, retry_after, body }
    }

    /// The error for the proxy: 401 and `insufficient_scope` are recoverable by signing in,
    /// anything else is the status with its body. `used` is the token the request carried.
    pub fn into_error(self, used: Option<HeaderValue>) -> TransportError {
        let Self { status, www_authenticate, retry_after, body } = self;
        if status == StatusCode::UNAUTHORIZED {
            return TransportError::Unauthorized { www_authenticate, used };
        }
        if status == StatusCode::FORBIDDEN
            && crate::auth::Challenge::parse(www_authenticate.as_deref()).is_insufficient_scope()
        {
            return TransportError::InsufficientScope { www_authenticate, used };
        }
        tracing::debug!(%status, "the server refused a request");
        TransportError::Status { status, body: bytes::Bytes::from(body), retry_after }
    }
}

/// `Retry-After` as a wait from `now`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
fn parse_retry_after(value: &HeaderValue, now: SystemTime) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// 1 s, 2 s, 4 s … capped at [`MAX_BACKOFF`].
pub fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    DEFAULT_RETRY.saturating_mul(1 << (failures - 1).min(5)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_seconds_or_a_date() {
        let now = httpdate::parse_http_date("Thu, 03 Dec 2026 14:00:00 GMT").unwrap();
        let parse = |text: &'static str| parse_retry_after(&HeaderValue::from_static(text), now);
        assert_eq!(parse("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse("Thu, 03 Dec 2026 14:00:30 GMT"), Some(Duration::from_secs(30)));
        assert_eq!(parse("Thu, 03 Dec 2026 13:00:00 GMT"), Some(Duration::ZERO), "a date passed is now");
        assert_eq!(parse("soon"), None);
        assert_eq!(parse("-3"), None);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(0), Duration::ZERO);
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(4));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
