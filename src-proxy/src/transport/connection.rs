//! Choosing the protocol era and transport for a server: the one function the proxy calls,
//! [`connect`], and the [`Connection`] it returns, which speaks whatever the server turned out to.
//!
//! The choice is made on the client's `initialize`. Where `--transport` allows HTTP (the default
//! `http-first`, and `http-only`) the server is first asked `server/discover`, as the 2026-07-28
//! versioning rules say: a discover result means the stateless revision; anything else short of a
//! sign-in means an older server, which gets the client's `initialize` as Streamable HTTP. That
//! falls back to HTTP+SSE only on the spec's sign: a 400, 404 or 405 whose body is not a modern
//! JSON-RPC error. `sse-first` opens the event stream first and falls back to Streamable HTTP when
//! the server refuses the GET; the `-only` modes never fall back. A 401 is never a reason to fall
//! back: the proxy signs in and sends again. What was found is kept in the server's folder
//! (`transport.json`), so the next start skips the probe, and probes again if that fails.

use super::legacy_sse::LegacySse;
use super::stateless::{Probe, Stateless};
use super::streamable_http::StreamableHttp;
use super::{Endpoint, Sent, Sink, Transport, TransportError};
use crate::jsonrpc::{self, ClientMessage, Method};
use crate::store::{KnownTransport, ServerDir};
use reqwest::StatusCode;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use tracing::{debug, info, warn};

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
    /// The server's folder, where what it speaks is remembered (none: probe every time).
    pub folder: Option<ServerDir>,
    /// Ask for 2026-07-28 first (false with `--protocol legacy`: 2025 handshakes only).
    pub probe_modern: bool,
}

/// The transports a server may turn out to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Speaks {
    Modern = 0,
    Streamable = 1,
    Legacy = 2,
}

impl Speaks {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Modern,
            1 => Self::Streamable,
            _ => Self::Legacy,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Modern => "2026-07-28",
            Self::Streamable => "streamable-http",
            Self::Legacy => "http+sse",
        }
    }
}

/// JSON-RPC's code for a method the server does not have.
const METHOD_NOT_FOUND: i64 = -32601;

/// The transport to one server.
pub struct Connection {
    mode: TransportMode,
    /// For the proxy's own answers (a modern client's discover, on an older server).
    sink: Arc<dyn Sink>,
    modern: Stateless,
    streamable: StreamableHttp,
    legacy: LegacySse,
    /// What the server turned out to speak ([`Speaks`]).
    speaks: AtomicU8,
    folder: Option<ServerDir>,
    probe_modern: bool,
    /// The write of `transport.json` under way, which [`Transport::close`] waits for.
    saving: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Connects to `settings.endpoint`; nothing is sent until the first message.
pub fn connect(settings: Settings) -> Connection {
    let Settings { endpoint, sink, mode, folder, probe_modern } = settings;
    let speaks = if mode == TransportMode::SseOnly { Speaks::Legacy } else { Speaks::Streamable };
    Connection {
        mode,
        sink: Arc::clone(&sink),
        modern: Stateless::new(endpoint.clone(), Arc::clone(&sink)),
        streamable: StreamableHttp::new(endpoint.clone(), Arc::clone(&sink)),
        legacy: LegacySse::new(endpoint, sink),
        speaks: AtomicU8::new(speaks as u8),
        folder,
        probe_modern,
        saving: std::sync::Mutex::new(None),
    }
}

impl Connection {
    fn speaks(&self) -> Speaks {
        Speaks::from_u8(self.speaks.load(Ordering::Acquire))
    }

    fn found(&self, speaks: Speaks) {
        self.speaks.store(speaks as u8, Ordering::Release);
        let Some(folder) = &self.folder else {
            return;
        };
        if folder.known_transport().is_some_and(|known| known.transport == speaks.name()) {
            return;
        }
        let known = KnownTransport {
            version: crate::store::FORMAT_VERSION,
            transport: speaks.name().to_owned(),
            found: crate::store::unix_now(),
            extra: Default::default(),
        };
        // A write with fsync: off the runtime; only the exit waits for it.
        let folder = folder.clone();
        let saving = tokio::task::spawn_blocking(move || {
            if let Err(error) = folder.save_known_transport(&known) {
                warn!(%error, "cannot remember what the server speaks");
            }
        });
        *self.saving.lock().expect("poisoned") = Some(saving);
    }

    /// Sends the client's `initialize`: to a modern server (answered from `server/discover`),
    /// else on the transport the mode picks, falling back as it allows.
    async fn initialize(&self, message: &ClientMessage) -> Sent {
        let may_probe = self.probe_modern && matches!(self.mode, TransportMode::HttpFirst | TransportMode::HttpOnly);
        let known = self.folder.as_ref().and_then(ServerDir::known_transport).map(|k| k.transport);
        let known_older = known.as_deref().is_some_and(|k| k != Speaks::Modern.name());
        if may_probe && !known_older {
            if let Some(sent) = self.try_modern(message).await {
                return sent;
            }
        }
        let sent = self.initialize_older(message).await;
        if let (Sent::NotDelivered(error) | Sent::Failed(error), true) = (&sent, may_probe && known_older) {
            // What was remembered may be out of date: the server may have been upgraded.
            debug!(%error, "the remembered transport failed; asking the server again");
            if let Some(sent) = self.try_modern(message).await {
                return sent;
            }
        }
        sent
    }

    /// Probes with `server/discover`; `Some` when that settled the matter (modern, or a sign-in).
    async fn try_modern(&self, message: &ClientMessage) -> Option<Sent> {
        match self.modern.probe(message).await {
            Ok(Probe::Modern) => {
                info!("the server speaks MCP 2026-07-28");
                self.found(Speaks::Modern);
                Some(self.modern.send(message).await)
            }
            Ok(Probe::Legacy(why)) => {
                debug!(%why, "the server does not speak 2026-07-28");
                None
            }
            Err(error) => Some(Sent::from_error(error)),
        }
    }

    /// A modern client's own `server/discover`: a modern server answers it (and is spoken to in
    /// its revision from then on); an older one gets the answer a 2025-era server gives, method
    /// not found, so a dual-era client falls back to `initialize`, which is bridged as usual.
    async fn discover(&self, message: &ClientMessage) -> Sent {
        let may_probe = self.probe_modern && matches!(self.mode, TransportMode::HttpFirst | TransportMode::HttpOnly);
        if may_probe {
            match self.modern.probe(message).await {
                Ok(Probe::Modern) => {
                    self.found(Speaks::Modern);
                    return Sent::Answered;
                }
                Ok(Probe::Legacy(why)) => debug!(%why, "the server does not speak 2026-07-28"),
                Err(error) => return Sent::from_error(error),
            }
        }
        if let [id] = message.request_ids.as_slice() {
            let text = "Method not found: the server speaks an earlier revision of MCP (send initialize)";
            self.sink.deliver(jsonrpc::error_response(Some(id), METHOD_NOT_FOUND, text, None), None);
        }
        Sent::Answered
    }

    /// Sends `initialize` as Streamable HTTP or HTTP+SSE, as the mode says.
    async fn initialize_older(&self, message: &ClientMessage) -> Sent {
        let (first_is_legacy, may_fall_back) = match self.mode {
            TransportMode::HttpFirst => (false, true),
            TransportMode::SseFirst => (true, true),
            TransportMode::HttpOnly => (false, false),
            TransportMode::SseOnly => (true, false),
        };
        let sent = self.send_on(first_is_legacy, message).await;
        let refused = match &sent {
            Sent::NotDelivered(error) | Sent::Failed(error) if may_fall_back => error,
            Sent::NotDelivered(_) | Sent::Failed(_) => return sent,
            _ => {
                self.found(if first_is_legacy { Speaks::Legacy } else { Speaks::Streamable });
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
            // The other transport is there and wants a sign-in: that is the error to act on.
            Sent::NotDelivered(TransportError::Unauthorized { .. } | TransportError::InsufficientScope { .. }) => {
                retried
            }
            Sent::NotDelivered(_) | Sent::Failed(_) => sent,
            retried => {
                self.found(if first_is_legacy { Speaks::Streamable } else { Speaks::Legacy });
                retried
            }
        }
    }

    /// Sends `initialize` on one of the older transports, which from then on carries the client's
    /// other messages too: the answer may reach the client (on an event stream) before this
    /// returns, and what the client sends next must not go to the transport not being tried.
    async fn send_on(&self, legacy: bool, message: &ClientMessage) -> Sent {
        let trying = if legacy { Speaks::Legacy } else { Speaks::Streamable };
        self.speaks.store(trying as u8, Ordering::Release);
        if legacy {
            self.legacy.send(message).await
        } else {
            self.streamable.send(message).await
        }
    }
}

impl Transport for Connection {
    async fn send(&self, message: &ClientMessage) -> Sent {
        // Every message's task holds this future: the rare or larger paths are boxed, so the
        // common one does not make every task as large as the largest of them.
        if message.method == Method::Initialize {
            return Box::pin(self.initialize(message)).await;
        }
        if message.method == Method::Discover && self.speaks() != Speaks::Modern {
            return Box::pin(self.discover(message)).await;
        }
        match self.speaks() {
            Speaks::Modern => Box::pin(self.modern.send(message)).await,
            Speaks::Streamable => self.streamable.send(message).await,
            Speaks::Legacy => Box::pin(self.legacy.send(message)).await,
        }
    }

    async fn renew_session(&self, expired: u64) -> Result<(), TransportError> {
        match self.speaks() {
            Speaks::Modern => self.modern.renew_session(expired).await,
            Speaks::Streamable => self.streamable.renew_session(expired).await,
            Speaks::Legacy => self.legacy.renew_session(expired).await,
        }
    }

    async fn close(&self) {
        match self.speaks() {
            Speaks::Modern => self.modern.close().await,
            Speaks::Streamable => self.streamable.close().await,
            Speaks::Legacy => self.legacy.close().await,
        }
        // The exit drops blocking work not yet started: the write must be done before it.
        let saving = self.saving.lock().expect("poisoned").take();
        if let Some(saving) = saving {
            let _ = saving.await;
        }
    }
}

/// The spec's sign that a POST reached a server without Streamable HTTP: 400, 404 or 405 with a
/// body that is not a modern JSON-RPC error.
fn refuses_post(error: &TransportError) -> bool {
    match error {
        TransportError::Status { status, body, .. } => {
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
            retry_after: None,
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
