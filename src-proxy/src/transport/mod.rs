//! Talking to the remote MCP server.
//!
//! A [`Transport`] carries each client message to the server and says what became of it
//! ([`Sent`]); every message the server sends, on whatever exchange or stream, goes to the one
//! [`Sink`] (the proxy's router, the only ledger of pending requests). A transport never writes
//! stdout and never decides what the client sees. Each protocol era is one module:
//! [`stateless`] (2026-07-28, bridged to 2025-era clients), [`streamable_http`] (2025-03-26 …
//! 2025-11-25, sessions) and [`legacy_sse`] (2024-11-05 HTTP+SSE); [`connect`] chooses among
//! them, so the proxy never names one. [`body`] and [`sse`] read server bodies for all of them.

mod body;
mod connection;
mod handshake;
mod http;
mod legacy_sse;
pub mod sse;
mod stateless;
mod streamable_http;

pub use crate::network::describe as describe_network_error;
pub use connection::{connect, Connection, Settings, TransportMode};
pub use http::Endpoint;

use crate::jsonrpc::ClientMessage;
use bytes::Bytes;
use reqwest::StatusCode;
use std::future::Future;
use tokio_util::sync::CancellationToken;

/// What the proxy needs from the server side, whatever the era.
pub trait Transport: Send + Sync + 'static {
    /// Sends one client message. What the server says goes to the sink; the result tells the
    /// proxy whether more can come for the message's requests.
    fn send(&self, message: &ClientMessage) -> impl Future<Output = Sent> + Send;
    /// The session that `expired` numbered is gone (see [`TransportError::SessionExpired`]):
    /// start a new one by replaying the client's handshake, unless that happened already.
    fn renew_session(&self, expired: u64) -> impl Future<Output = Result<(), TransportError>> + Send;
    /// Ends the session on the server and stops every stream (bounded in time).
    fn close(&self) -> impl Future<Output = ()> + Send;
}

/// What became of one client message.
#[derive(Debug)]
#[must_use]
pub enum Sent {
    /// The exchange is over and whatever the server answered went to the sink: a request of
    /// the message still pending will get no answer from the server.
    Answered,
    /// The server accepted the message and answers later on a stream; `lost` is cancelled if that
    /// stream ends for good before they arrive.
    Accepted { lost: CancellationToken },
    /// The server did not get (or refused to process) the message: sending it again is safe.
    NotDelivered(TransportError),
    /// The exchange failed after the server may have received the message.
    Failed(TransportError),
}

/// What became of one server message handed to a [`Sink`].
#[derive(Debug, PartialEq, Eq)]
pub enum Delivered {
    /// A response that answered the pending request with this raw id.
    Answered(Bytes),
    /// A server request or notification, passed on to the client.
    Forwarded,
    /// A duplicate, or a response nobody waits for.
    Dropped,
    /// Bytes that are not a JSON-RPC message.
    Invalid,
}

/// Where a transport puts the messages the server sends (the proxy's router).
pub trait Sink: Send + Sync + 'static {
    /// Takes one JSON-RPC message (not a batch). `event_id` is the SSE id it arrived with, if any:
    /// servers may replay events on resumption, and a message already delivered must not be again.
    fn deliver(&self, message: Bytes, event_id: Option<&str>) -> Delivered;

    /// Takes one large message held in a file, classified as `shape` while it was spooled.
    fn deliver_spooled(
        &self,
        shape: Option<crate::jsonrpc::ServerMessage>,
        message: crate::spool::Spooled,
        event_id: Option<&str>,
    ) -> Delivered;

    /// A new session began: event ids of the old one mean nothing any more.
    fn session_started(&self) {}

    /// The stdout budget this sink's messages count against, if any: a transport waits for its
    /// room before it reads more of a server body.
    fn room(&self) -> Option<&crate::budget::StdoutBudget> {
        None
    }
}

/// Where a transport gets the `Authorization` value for each request (the OAuth state).
pub trait TokenSource: Send + Sync + 'static {
    fn bearer(&self) -> Option<::http::HeaderValue>;
}

impl TokenSource for crate::auth::Auth {
    fn bearer(&self) -> Option<::http::HeaderValue> {
        crate::auth::Auth::bearer(self)
    }
}

/// Why an exchange with the server failed. Each is answered to the client as a JSON-RPC error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The server no longer knows the session (404, or a 400 that says so).
    #[error("the server's session expired")]
    SessionExpired { generation: u64 },
    /// HTTP 401: the server wants (new) authorization; `used` is the token that was refused.
    #[error("the server requires authorization (HTTP 401)")]
    Unauthorized { www_authenticate: Option<String>, used: Option<::http::HeaderValue> },
    /// HTTP 403 with `error="insufficient_scope"`: the token lacks scope.
    #[error("the server requires more scope than was granted (HTTP 403)")]
    InsufficientScope { www_authenticate: Option<String>, used: Option<::http::HeaderValue> },
    /// Signing in or refreshing failed.
    #[error("{0}")]
    Auth(#[from] crate::auth::AuthError),
    /// Any other HTTP error status; `body` is the start of the response body, `retry_after` the
    /// server's `Retry-After`, if it gave one.
    #[error("the server answered HTTP {status}")]
    Status { status: StatusCode, body: Bytes, retry_after: Option<std::time::Duration> },
    /// Connecting, sending or reading failed.
    #[error("cannot reach the server: {}", crate::network::describe(.0))]
    Network(#[source] reqwest::Error),
    /// A response stream ended before its answers and could not be resumed.
    #[error("the server closed the response stream before answering, and it could not be resumed")]
    StreamEnded,
    /// The client sent something the server's revision cannot carry.
    #[error("not sent: {0} cannot be carried to this server")]
    Unsupported(&'static str),
    /// The stream that was to carry the answer ended for good first.
    #[error("the server's event stream closed before it answered")]
    AnswerLost,
    /// The server's body is not what its Content-Type promised.
    #[error("the server sent an invalid response: {0}")]
    InvalidResponse(String),
    /// A large message could not be held in a temporary file.
    #[error("cannot hold a large message from the server: {0}")]
    Spool(#[source] std::io::Error),
    /// The proxy is shutting down.
    #[error("mcp-remote is shutting down")]
    ShuttingDown,
}

impl From<reqwest::Error> for TransportError {
    fn from(error: reqwest::Error) -> Self {
        Self::Network(crate::network::redacted(error))
    }
}

impl Sent {
    /// The outcome of an exchange that ended in `error`. Refusals the server gives before acting on
    /// a message (an expired session, 401, 403 for scope, and 429 and 503, which say it was not
    /// taken on) and connections that never carried it are [`Sent::NotDelivered`]; anything else
    /// may have reached the server.
    pub fn from_error(error: TransportError) -> Self {
        let before_delivery = match &error {
            TransportError::SessionExpired { .. }
            | TransportError::Unauthorized { .. }
            | TransportError::InsufficientScope { .. }
            | TransportError::Auth(_) => true,
            TransportError::Network(error) => error.is_connect(),
            TransportError::Status { status, .. } => {
                matches!(*status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE)
            }
            _ => false,
        };
        if before_delivery {
            Self::NotDelivered(error)
        } else {
            Self::Failed(error)
        }
    }
}
