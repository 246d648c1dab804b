//! The Streamable HTTP session: its id and negotiated protocol version, a generation count so
//! concurrent expiries start one new session, and the client's handshake, kept to replay on a new
//! session when the server forgets the old one (its answers go nowhere: the client saw the
//! originals).

use super::{Inner, StreamableHttp, SERVER_STREAM_WAIT};
use crate::jsonrpc::ServerMessage;
use crate::spool::Spooled;
use crate::transport::http::Refusal;
use crate::transport::{Delivered, Sink, TransportError};
use bytes::Bytes;
use http::header::HeaderValue;
use reqwest::StatusCode;
use tracing::{debug, info, warn};

#[derive(Clone, Default)]
pub(super) struct Session {
    pub id: Option<HeaderValue>,
    pub protocol_version: Option<HeaderValue>,
    /// Counts sessions established, so concurrent expiries re-initialize once.
    pub generation: u64,
}

impl Session {
    /// Whether the server refused a request of this session because it no longer knows it: 404, or
    /// a 400 whose body mentions the session (as some servers answer).
    pub fn expired_by(&self, refusal: &Refusal) -> bool {
        self.id.is_some()
            && (refusal.status == StatusCode::NOT_FOUND
                || (refusal.status == StatusCode::BAD_REQUEST && mentions_session(&refusal.body)))
    }
}

impl Inner {
    pub(super) fn session(&self) -> Session {
        self.session.read().expect("poisoned").clone()
    }

    pub(super) fn start_session(&self, id: Option<HeaderValue>) {
        {
            let mut session = self.session.write().expect("poisoned");
            *session = Session { id, protocol_version: None, generation: session.generation + 1 };
        }
        self.sink.session_started();
    }

    pub(super) fn set_protocol_version(&self, version: &str) {
        match HeaderValue::from_str(version) {
            Ok(value) => self.session.write().expect("poisoned").protocol_version = Some(value),
            Err(_) => warn!("the server negotiated an unusable protocol version; not sending MCP-Protocol-Version"),
        }
    }
}

impl StreamableHttp {
    /// Replays the client's handshake on a new session, unless another request already did so
    /// since the session numbered `expired` ended. The answers go nowhere.
    pub(super) async fn renew(&self, expired: u64) -> Result<(), TransportError> {
        let inner = &self.inner;
        let _one_at_a_time = inner.renewing.lock().await;
        if inner.session().generation != expired {
            return Ok(());
        }
        let handshake = inner.handshake.lock().expect("poisoned").clone();
        let Some(initialize) = handshake.initialize else {
            return Err(TransportError::SessionExpired { generation: expired });
        };
        info!("the server's session expired; re-initializing");
        self.stop_server_stream();
        let unanswered = inner.exchange(&initialize, &Discard).await?;
        if unanswered > 0 {
            return Err(TransportError::InvalidResponse("the server did not answer the replayed initialize".into()));
        }
        if let Some(initialized) = handshake.initialized {
            inner.exchange(&initialized, &Discard).await?;
            // Bounded as after the client's own initialized: this runs under the renewal lock,
            // and a stream that never answers must not hold every request behind it.
            if tokio::time::timeout(SERVER_STREAM_WAIT, self.open_server_stream()).await.is_err() {
                debug!("the renewed session's GET stream has not answered yet; going on");
            }
        }
        Ok(())
    }
}

/// Swallows the answers of a replayed handshake.
struct Discard;

impl Sink for Discard {
    fn deliver(&self, message: Bytes, _event_id: Option<&str>) -> Delivered {
        Self::outcome(ServerMessage::classify(&message))
    }

    fn deliver_spooled(&self, shape: Option<ServerMessage>, _message: Spooled, _event_id: Option<&str>) -> Delivered {
        Self::outcome(shape)
    }
}

impl Discard {
    /// What delivering a message of this shape would have done.
    fn outcome(shape: Option<ServerMessage>) -> Delivered {
        match shape {
            Some(ServerMessage::Response { id }) => Delivered::Answered(id),
            Some(ServerMessage::Other) => Delivered::Dropped,
            None => Delivered::Invalid,
        }
    }
}

/// Some servers answer an unknown session with 400 and say so in the body.
fn mentions_session(body: &[u8]) -> bool {
    String::from_utf8_lossy(body).to_ascii_lowercase().contains("session")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_mentions_are_found_in_any_case() {
        assert!(mentions_session(br#"{"error":{"message":"Bad Request: No valid session ID provided"}}"#));
        assert!(mentions_session(b"Session not found"));
        assert!(!mentions_session(b"invalid params"));
    }
}
