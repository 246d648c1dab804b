//! Talking to the remote MCP server.
//!
//! A transport turns each client message into HTTP exchanges and hands every message the server
//! sends to a [`Sink`]; it never writes stdout and never decides what the client sees. The proxy
//! drives a transport through its own `Remote` seam, so the legacy HTTP+SSE transport (2024-11-05)
//! and the stateless 2026-07-28 revision can sit beside [`StreamableHttp`] without touching routing.

mod http;
pub mod sse;
mod streamable_http;

pub use http::build_client;
pub use streamable_http::StreamableHttp;

use bytes::Bytes;
use reqwest::StatusCode;

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
    /// Any other HTTP error status; `body` is the start of the response body.
    #[error("the server answered HTTP {status}")]
    Status { status: StatusCode, body: Bytes },
    /// Connecting, sending or reading failed.
    #[error("cannot reach the server: {0}")]
    Network(#[source] reqwest::Error),
    /// A response stream ended before its answers and could not be resumed.
    #[error("the server closed the response stream before answering, and it could not be resumed")]
    StreamEnded,
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
        // Drop the URL: its query may carry an API key, and the message reaches the client and logs.
        Self::Network(error.without_url())
    }
}
