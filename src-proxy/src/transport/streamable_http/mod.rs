//! Streamable HTTP, the MCP transport of 2025-03-26, 2025-06-18 and 2025-11-25.
//!
//! Each client message is POSTed ([`exchange`]); the answers come back in the POST's own body,
//! `application/json` or `text/event-stream`, and a broken response stream is resumed. The
//! session (`Mcp-Session-Id`, `MCP-Protocol-Version`, the handshake to replay when it expires)
//! lives in [`session`], the standalone GET stream for server-initiated messages in
//! [`server_stream`]. Every message from the server goes to the [`Sink`].

mod exchange;
mod server_stream;
mod session;

use super::handshake::Handshake;
use super::http::{Endpoint, Refusal, ACCEPT_SSE};
use super::{body, Sent, Sink, Transport, TransportError};
use crate::jsonrpc::{ClientMessage, Method};
use http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::Response;
use session::Session;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::debug;

const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// DELETE at exit must not hold up the exit.
const DELETE_TIMEOUT: Duration = Duration::from_millis(700);
/// How long `notifications/initialized` waits for the server to answer the first GET stream
/// request, so that no later request can race the stream its server requests travel on.
const SERVER_STREAM_WAIT: Duration = Duration::from_secs(3);

/// A Streamable HTTP connection to one MCP endpoint; cheap to clone.
#[derive(Clone)]
pub struct StreamableHttp {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Endpoint,
    sink: Arc<dyn Sink>,
    session: RwLock<Session>,
    /// The client's handshake, replayed on a new session when the old one expires.
    handshake: Mutex<Handshake>,
    /// Held while a new session is set up, so concurrent expiries renew once.
    renewing: tokio::sync::Mutex<()>,
    server_stream: Mutex<Option<CancellationToken>>,
}

impl StreamableHttp {
    pub fn new(endpoint: Endpoint, sink: Arc<dyn Sink>) -> Self {
        Self {
            inner: Arc::new(Inner {
                endpoint,
                sink,
                session: RwLock::new(Session::default()),
                handshake: Mutex::new(Handshake::default()),
                renewing: tokio::sync::Mutex::new(()),
                server_stream: Mutex::new(None),
            }),
        }
    }
}

impl Transport for StreamableHttp {
    async fn send(&self, message: &ClientMessage) -> Sent {
        self.inner.handshake.lock().expect("poisoned").remember(message);
        if let Err(error) = self.inner.exchange(message, &*self.inner.sink).await {
            return Sent::from_error(error);
        }
        if message.method == Method::Initialized {
            let answered = self.open_server_stream();
            if tokio::time::timeout(SERVER_STREAM_WAIT, answered).await.is_err() {
                debug!("the server has not answered the GET stream yet; going on");
            }
        }
        Sent::Answered
    }

    async fn renew_session(&self, expired: u64) -> Result<(), TransportError> {
        self.renew(expired).await
    }

    async fn close(&self) {
        self.stop_server_stream();
        let session = self.inner.session();
        if session.id.is_none() {
            return;
        }
        let request = self.inner.endpoint.http.delete(self.inner.endpoint.url.clone());
        let request = request.headers(self.inner.headers(&session, ACCEPT_SSE));
        match tokio::time::timeout(DELETE_TIMEOUT, request.send()).await {
            Ok(Ok(response)) => debug!(status = %response.status(), "session deleted"),
            Ok(Err(error)) => debug!(error = %crate::network::redacted(error), "DELETE of the session failed"),
            Err(_) => debug!("DELETE of the session timed out"),
        }
    }
}

impl Inner {
    /// Request headers: the user's, the bearer token, `Accept`, then the session's.
    fn headers(&self, session: &Session, accept: HeaderValue) -> HeaderMap {
        let mut headers = self.endpoint.headers(accept, 3);
        if let Some(id) = &session.id {
            headers.insert(MCP_SESSION_ID, id.clone());
        }
        if let Some(version) = &session.protocol_version {
            headers.insert(MCP_PROTOCOL_VERSION, version.clone());
        }
        headers
    }

    /// Turns an HTTP error status into the error the proxy can act on.
    async fn failure(&self, response: Response, session: &Session, used: Option<HeaderValue>) -> TransportError {
        let refusal = Refusal::read(&self.endpoint, response).await;
        if session.expired_by(&refusal) {
            return TransportError::SessionExpired { generation: session.generation };
        }
        refusal.into_error(used)
    }

    /// GET with `Accept: text/event-stream`: the standalone stream, or a resumption.
    async fn open_get(&self, last_event_id: Option<&str>, session: &Session) -> Result<Response, TransportError> {
        let mut headers = self.headers(session, ACCEPT_SSE);
        if let Some(id) = last_event_id.and_then(|id| HeaderValue::from_str(id).ok()) {
            headers.insert(LAST_EVENT_ID, id);
        }
        let used = headers.get(AUTHORIZATION).cloned();
        let request = self.endpoint.http.get(self.endpoint.url.clone()).headers(headers);
        let response = self.endpoint.cancellable(request.send()).await??;
        if !response.status().is_success() {
            return Err(self.failure(response, session, used).await);
        }
        if !body::is_event_stream(&response) {
            return Err(TransportError::InvalidResponse("the GET stream is not text/event-stream".into()));
        }
        Ok(response)
    }
}
