//! Choosing the transport for a server: the one function the proxy calls, [`connect`], and the
//! [`Connection`] it returns, which speaks whichever transport the server turned out to have.
//!
//! The choice is made on the client's `initialize`, as `--transport` says. `http-first` (the
//! default) POSTs it as Streamable HTTP and falls back to HTTP+SSE only on the spec's sign: a 400,
//! 404 or 405 whose body is not a modern JSON-RPC error. `sse-first` opens the event stream
//! first and falls back to Streamable HTTP when the server refuses the GET. The `-only` modes
//! never fall back. A 401 is never a reason to fall back: the proxy signs in and sends again.

use super::legacy_sse::LegacySse;
use super::streamable_http::StreamableHttp;
use super::{Endpoint, Sent, Sink, Transport, TransportError};
use crate::jsonrpc::{self, ClientMessage, Method};
use reqwest::StatusCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tracing::info;

/// Which transports to try, and in what order (the npm `mcp-remote` names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TransportMode {
    #[default]
    HttpFirst,
    SseFirst,
    HttpOnly,
    SseOnly,
}

impl std::str::FromStr for TransportMode {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "http-first" => Ok(Self::HttpFirst),
            "sse-first" => Ok(Self::SseFirst),
            "http-only" => Ok(Self::HttpOnly),
            "sse-only" => Ok(Self::SseOnly),
            _ => Err(format!("unknown transport {name:?}: use http-first, sse-first, http-only or sse-only")),
        }
    }
}

/// What [`connect`] needs.
pub struct Settings {
    pub endpoint: Endpoint,
    /// Where every server message goes.
    pub sink: Arc<dyn Sink>,
    pub mode: TransportMode,
}

/// The transport to one server.
pub struct Connection {
    mode: TransportMode,
    streamable: StreamableHttp,
    legacy: LegacySse,
    /// The server turned out to speak HTTP+SSE.
    on_legacy: AtomicBool,
}

/// Connects to `settings.endpoint`; nothing is sent until the first message.
pub fn connect(settings: Settings) -> Connection {
    let Settings { endpoint, sink, mode } = settings;
    Connection {
        mode,
        streamable: StreamableHttp::new(endpoint.clone(), Arc::clone(&sink)),
        legacy: LegacySse::new(endpoint, sink),
        on_legacy: AtomicBool::new(mode == TransportMode::SseOnly),
    }
}

impl Connection {
    /// Sends the client's `initialize` on the transport the mode picks, falling back as it allows.
    async fn initialize(&self, message: &ClientMessage) -> Sent {
        let (first_is_legacy, may_fall_back) = match self.mode {
            TransportMode::HttpFirst => (false, true),
            TransportMode::SseFirst => (true, true),
            TransportMode::HttpOnly => (false, false),
            TransportMode::SseOnly => (true, false),
        };
        let sent = self.send_on(first_is_legacy, message).await;
        let refused = match &sent {
            Sent::NotDelivered(error) | Sent::Failed(error) if may_fall_back => error,
            _ => {
                self.on_legacy.store(first_is_legacy, Ordering::Relaxed);
                return sent;
            }
        };
        let fall_back = if first_is_legacy { refuses_event_stream(refused) } else { refuses_post(refused) };
        if !fall_back {
            return sent;
        }
        let other = if first_is_legacy { "Streamable HTTP" } else { "HTTP+SSE" };
        info!(error = %refused, "the server refused the first transport; trying {other}");
        let retried = self.send_on(!first_is_legacy, message).await;
        match retried {
            Sent::NotDelivered(_) | Sent::Failed(_) => sent,
            retried => {
                self.on_legacy.store(!first_is_legacy, Ordering::Relaxed);
                retried
            }
        }
    }

    async fn send_on(&self, legacy: bool, message: &ClientMessage) -> Sent {
        if legacy {
            self.legacy.send(message).await
        } else {
            self.streamable.send(message).await
        }
    }
}

impl Transport for Connection {
    async fn send(&self, message: &ClientMessage) -> Sent {
        if message.method == Method::Initialize {
            return self.initialize(message).await;
        }
        self.send_on(self.on_legacy.load(Ordering::Relaxed), message).await
    }

    async fn renew_session(&self, expired: u64) -> Result<(), TransportError> {
        if self.on_legacy.load(Ordering::Relaxed) {
            self.legacy.renew_session(expired).await
        } else {
            self.streamable.renew_session(expired).await
        }
    }

    async fn close(&self) {
        if self.on_legacy.load(Ordering::Relaxed) {
            self.legacy.close().await
        } else {
            self.streamable.close().await
        }
    }
}

/// The spec's sign that a POST reached a server without Streamable HTTP: 400, 404 or 405 with a
/// body that is not a modern JSON-RPC error.
fn refuses_post(error: &TransportError) -> bool {
    match error {
        TransportError::Status { status, body } => {
            matches!(*status, StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED)
                && !jsonrpc::is_modern_error(body)
        }
        _ => false,
    }
}

/// A GET that got no event stream: a 4xx other than a sign-in, or another kind of body.
fn refuses_event_stream(error: &TransportError) -> bool {
    match error {
        TransportError::Status { status, .. } => status.is_client_error(),
        TransportError::InvalidResponse(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn status(code: u16, body: &'static str) -> TransportError {
        TransportError::Status {
            status: StatusCode::from_u16(code).unwrap(),
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn only_the_specs_statuses_without_a_modern_error_fall_back_to_sse() {
        assert!(refuses_post(&status(404, "Cannot POST /sse")));
        assert!(refuses_post(&status(405, "")));
        assert!(refuses_post(&status(400, r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"x"}}"#)));
        assert!(!refuses_post(&status(400, r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32022,"message":"v"}}"#)));
        assert!(!refuses_post(&status(403, "")));
        assert!(!refuses_post(&status(500, "")));
        assert!(!refuses_post(&TransportError::Unauthorized { www_authenticate: None, used: None }));
    }

    #[test]
    fn modes_have_the_npm_names() {
        assert_eq!("sse-only".parse(), Ok(TransportMode::SseOnly));
        assert_eq!("http-first".parse(), Ok(TransportMode::HttpFirst));
        assert!("websocket".parse::<TransportMode>().is_err());
    }
}
