//! HTTP+SSE, the MCP transport of 2024-11-05.
//!
//! A GET opens the event stream first; its `endpoint` event names the URL to POST every client
//! message to (resolved against the server URL; another origin is refused). The POSTs are only
//! accepted: answers, server requests and notifications all arrive later as `message` events on
//! the stream, and go to the [`Sink`], where the router matches responses to requests by id. The
//! stream is the session: when it ends, the answers still owed can no longer arrive (each request
//! waiting for one is told through its `lost` token), and a new stream is opened with backoff and
//! the client's handshake replayed on it.

use super::body::{self, deliver_each};
use super::handshake::Handshake;
use super::http::{backoff, pause, Endpoint, Refusal, ACCEPT_POST, ACCEPT_SSE, APPLICATION_JSON};
use super::sse::SseParser;
use super::{Sent, Sink, Transport, TransportError};
use crate::jsonrpc::{ClientMessage, Method, ServerMessage};
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// How long a new stream may take to name its POST endpoint.
const ENDPOINT_WAIT: Duration = Duration::from_secs(10);
/// How long the answer to a replayed `initialize` may take on a new stream.
const REPLAY_WAIT: Duration = Duration::from_secs(10);

/// An HTTP+SSE connection to one server; cheap to clone.
#[derive(Clone)]
pub struct LegacySse {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Endpoint,
    sink: Arc<dyn Sink>,
    /// The open stream, if any.
    current: RwLock<Option<Arc<Stream>>>,
    /// Counts streams opened, so concurrent losses renew once.
    generation: std::sync::atomic::AtomicU64,
    /// Held while a stream is opened and its handshake replayed.
    renewing: tokio::sync::Mutex<()>,
    handshake: Mutex<Handshake>,
    /// While a handshake is replayed: the id of its `initialize` and who waits for the answer.
    replay: Mutex<Option<(Bytes, oneshot::Sender<()>)>>,
}

/// One event stream and the POST endpoint it named: a session of the server's.
struct Stream {
    post_url: Url,
    generation: u64,
    /// Cancelled when the stream has ended: nothing more arrives on it.
    ended: CancellationToken,
}

impl LegacySse {
    pub fn new(endpoint: Endpoint, sink: Arc<dyn Sink>) -> Self {
        Self {
            inner: Arc::new(Inner {
                endpoint,
                sink,
                current: RwLock::new(None),
                generation: 0.into(),
                renewing: tokio::sync::Mutex::new(()),
                handshake: Mutex::new(Handshake::default()),
                replay: Mutex::new(None),
            }),
        }
    }
}

impl Transport for LegacySse {
    async fn send(&self, message: &ClientMessage) -> Sent {
        let inner = &self.inner;
        inner.handshake.lock().expect("poisoned").remember(message);
        let stream = if message.method == Method::Initialize {
            // A new handshake gets a new stream: the server's session is the stream.
            let _one_at_a_time = inner.renewing.lock().await;
            match Arc::clone(inner).open_stream().await {
                Ok(stream) => stream,
                Err(error) => return Sent::from_error(error),
            }
        } else {
            match inner.live_stream() {
                Ok(stream) => stream,
                Err(error) => return Sent::NotDelivered(error),
            }
        };
        match inner.post(&stream, message).await {
            Ok(()) => Sent::Accepted { lost: stream.ended.clone() },
            Err(error) => Sent::from_error(error),
        }
    }

    async fn renew_session(&self, expired: u64) -> Result<(), TransportError> {
        Arc::clone(&self.inner).renew(expired).await
    }

    async fn close(&self) {
        if let Some(stream) = self.inner.current.write().expect("poisoned").take() {
            stream.ended.cancel();
        }
    }
}

impl Inner {
    /// The open stream, or the expiry of the last one (for the proxy to renew).
    fn live_stream(&self) -> Result<Arc<Stream>, TransportError> {
        match &*self.current.read().expect("poisoned") {
            Some(stream) if !stream.ended.is_cancelled() => Ok(Arc::clone(stream)),
            Some(stream) => Err(TransportError::SessionExpired { generation: stream.generation }),
            None => Err(TransportError::SessionExpired { generation: 0 }),
        }
    }

    /// GETs a new event stream, starts reading it, and returns once it named its POST endpoint.
    /// The caller holds `renewing`.
    async fn open_stream(self: Arc<Self>) -> Result<Arc<Stream>, TransportError> {
        let headers = self.endpoint.headers(ACCEPT_SSE, 0);
        let used = headers.get(AUTHORIZATION).cloned();
        let request = self.endpoint.http.get(self.endpoint.url.clone()).headers(headers);
        let response = self.endpoint.cancellable(request.send()).await??;
        if !response.status().is_success() {
            return Err(Refusal::read(&self.endpoint, response).await.into_error(used));
        }
        if !body::is_event_stream(&response) {
            return Err(TransportError::InvalidResponse("the server's GET answer is not an event stream".into()));
        }
        let generation = self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let ended = self.endpoint.shutdown.child_token();
        let (named, post_url) = oneshot::channel();
        tokio::spawn(Arc::clone(&self).read_stream(response, named, ended.clone(), generation));
        let post_url = match tokio::time::timeout(ENDPOINT_WAIT, post_url).await {
            Ok(Ok(url)) => url?,
            Ok(Err(_)) => {
                return Err(TransportError::InvalidResponse("the event stream ended before naming its endpoint".into()))
            }
            Err(_) => {
                ended.cancel();
                return Err(TransportError::InvalidResponse("the event stream named no endpoint in time".into()));
            }
        };
        debug!("event stream open");
        let stream = Arc::new(Stream { post_url, generation, ended });
        if let Some(previous) = self.current.write().expect("poisoned").replace(Arc::clone(&stream)) {
            previous.ended.cancel();
        }
        self.sink.session_started();
        Ok(stream)
    }

    /// Reads one event stream until it ends or is closed: the `endpoint` event goes to `named`,
    /// messages to the sink. When the stream of an established session ends by itself, a new one
    /// is opened in the background and the handshake replayed.
    async fn read_stream(
        self: Arc<Self>,
        response: reqwest::Response,
        named: oneshot::Sender<Result<Url, TransportError>>,
        ended: CancellationToken,
        generation: u64,
    ) {
        let mut named = Some(named);
        let mut parser = SseParser::new();
        let pumped = tokio::select! {
            pumped = body::pump(response, &mut parser, self.sink.room(), |event| {
                match event.event_type {
                    Some("endpoint") => {
                        if let Some(named) = named.take() {
                            let _ = named.send(self.post_url(event.data));
                        }
                    }
                    None => self.take(event.data, event.id),
                    Some(other) => debug!(event = other, "ignoring an event of another type"),
                }
                false
            }) => pumped,
            () = ended.cancelled() => return,
        };
        ended.cancel();
        match pumped {
            Ok(()) => info!("the server closed its event stream"),
            Err(error) => warn!(%error, "the server's event stream broke"),
        }
        let established = self.handshake.lock().expect("poisoned").initialized.is_some();
        if established && !self.endpoint.shutdown.is_cancelled() {
            tokio::spawn(self.reconnect(generation));
        }
    }

    /// Reopens the stream after `lost` ended, with backoff, until it works or another request
    /// has already renewed it. (Boxed: opening a stream spawns its reader, which may spawn this.)
    fn reconnect(self: Arc<Self>, lost: u64) -> futures_util::future::BoxFuture<'static, ()> {
        Box::pin(async move {
            let mut failures = 0;
            loop {
                failures += 1;
                if pause(backoff(failures), &self.endpoint.shutdown).await.is_err() {
                    return;
                }
                match Arc::clone(&self).renew(lost).await {
                    Ok(()) | Err(TransportError::ShuttingDown) => return,
                    Err(error) => debug!(%error, "reopening the event stream failed; will retry"),
                }
            }
        })
    }

    /// Resolves the `endpoint` event's URI reference against the server URL; only the server's
    /// own origin is accepted, since user headers and tokens go to it.
    fn post_url(&self, data: body::Received) -> Result<Url, TransportError> {
        let body::Received::InMemory(data) = data else {
            return Err(TransportError::InvalidResponse("the endpoint event is too large".into()));
        };
        let text = std::str::from_utf8(&data)
            .map_err(|_| TransportError::InvalidResponse("the endpoint event is not text".into()))?;
        let url = self
            .endpoint
            .url
            .join(text.trim())
            .map_err(|e| TransportError::InvalidResponse(format!("the endpoint event is not a URI: {e}")))?;
        if !crate::fetch_policy::on_origin_of(&url, &self.endpoint.url) {
            return Err(TransportError::InvalidResponse("the server named a POST endpoint on another origin".into()));
        }
        Ok(url)
    }

    /// Delivers a `message` event, unless it answers the handshake being replayed.
    fn take(&self, data: body::Received, event_id: Option<&str>) {
        if let body::Received::InMemory(message) = &data {
            let mut replay = self.replay.lock().expect("poisoned");
            let answers_replay = replay.as_ref().is_some_and(|(id, _)| {
                matches!(ServerMessage::classify(message), Some(ServerMessage::Response { id: answered }) if answered == *id)
            });
            if answers_replay {
                if let Some((_, waiter)) = replay.take() {
                    let _ = waiter.send(());
                }
                return;
            }
        }
        deliver_each(&*self.sink, data, event_id, |_| {});
    }

    /// POSTs one message to the stream's endpoint; the server only accepts it here.
    async fn post(&self, stream: &Stream, message: &ClientMessage) -> Result<(), TransportError> {
        let mut headers = self.endpoint.headers(ACCEPT_POST, 1);
        headers.insert(CONTENT_TYPE, APPLICATION_JSON);
        let used = headers.get(AUTHORIZATION).cloned();
        let request = self.endpoint.http.post(stream.post_url.clone()).headers(headers).body(message.body.clone());
        let response = self.endpoint.cancellable(request.send()).await??;
        if response.status().is_success() {
            body::drain_in_background(response);
            return Ok(());
        }
        let refusal = Refusal::read(&self.endpoint, response).await;
        // The server no longer knows the session its endpoint named.
        if refusal.status == StatusCode::NOT_FOUND {
            stream.ended.cancel();
            return Err(TransportError::SessionExpired { generation: stream.generation });
        }
        Err(refusal.into_error(used))
    }

    /// Opens a new stream and replays the client's handshake on it, unless that happened since
    /// the stream numbered `expired` ended.
    async fn renew(self: Arc<Self>, expired: u64) -> Result<(), TransportError> {
        let _one_at_a_time = self.renewing.lock().await;
        if self.live_stream().is_ok_and(|stream| stream.generation != expired) {
            return Ok(());
        }
        let handshake = self.handshake.lock().expect("poisoned").clone();
        let Some(initialize) = handshake.initialize else {
            return Err(TransportError::SessionExpired { generation: expired });
        };
        info!("reopening the server's event stream and replaying the handshake");
        let stream = Arc::clone(&self).open_stream().await?;
        let (answered, answer) = oneshot::channel();
        if let Some(id) = initialize.request_ids.as_slice().first() {
            *self.replay.lock().expect("poisoned") = Some((id.clone(), answered));
        }
        self.post(&stream, &initialize).await?;
        let replayed = tokio::select! {
            answer = tokio::time::timeout(REPLAY_WAIT, answer) => matches!(answer, Ok(Ok(()))),
            () = stream.ended.cancelled() => false,
        };
        self.replay.lock().expect("poisoned").take();
        if !replayed {
            return Err(TransportError::InvalidResponse("the server did not answer the replayed initialize".into()));
        }
        if let Some(initialized) = handshake.initialized {
            self.post(&stream, &initialized).await?;
        }
        Ok(())
    }
}
