//! Streamable HTTP, the MCP transport of 2025-03-26, 2025-06-18 and 2025-11-25.
//!
//! Owns the session (`Mcp-Session-Id`, `MCP-Protocol-Version`), POSTs each client message, reads
//! `application/json` and `text/event-stream` answers, resumes a broken response stream with GET +
//! `Last-Event-ID` after the server's `retry:` delay, keeps the standalone GET stream for
//! server-initiated messages open with backoff, replays the handshake when the session expires, and
//! sends DELETE at the end. Every message from the server goes to a [`Sink`]; this module decides
//! nothing about what the client sees.

use super::sse::SseParser;
use super::{Delivered, Sink, TokenSource, TransportError};
use crate::jsonrpc::{self, ClientMessage, Method, ServerMessage};
use crate::spool::{SpoolWriter, Spooled, SpooledShape, SPOOL_THRESHOLD};
use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use http::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Response, StatusCode, Url};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
const ACCEPT_POST: HeaderValue = HeaderValue::from_static("application/json, text/event-stream");
const ACCEPT_SSE: HeaderValue = HeaderValue::from_static("text/event-stream");
const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// Resumption attempts for one response stream before its requests are answered with an error.
const MAX_RESUME_ATTEMPTS: u32 = 3;
/// Wait before reconnecting when the server gave no `retry:`.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);
/// Ceiling of the GET stream's reconnection backoff.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How much of an error body is kept for the client's error message.
const ERROR_BODY_LIMIT: usize = 4096;
/// How long the rest of an answered response stream is read to keep its connection.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// DELETE at exit must not hold up the exit.
const DELETE_TIMEOUT: Duration = Duration::from_millis(700);

#[derive(Clone, Default)]
struct Session {
    id: Option<HeaderValue>,
    protocol_version: Option<HeaderValue>,
    /// Counts sessions established, so concurrent expiries re-initialize once.
    generation: u64,
}

/// A Streamable HTTP connection to one MCP endpoint; cheap to clone.
#[derive(Clone)]
pub struct StreamableHttp {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    endpoint: Url,
    user_headers: HeaderMap,
    sink: Arc<dyn Sink>,
    tokens: Option<Arc<dyn TokenSource>>,
    session: RwLock<Session>,
    reinit: tokio::sync::Mutex<()>,
    server_stream: Mutex<Option<CancellationToken>>,
    shutdown: CancellationToken,
}

/// Swallows the answers of a replayed handshake: the client already saw the originals.
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

/// A message body as received: in memory, or spooled to a file when it is large.
enum Received {
    InMemory(Bytes),
    Spooled(Spooled),
}

impl StreamableHttp {
    pub fn new(
        http: reqwest::Client,
        endpoint: Url,
        user_headers: HeaderMap,
        sink: Arc<dyn Sink>,
        tokens: Option<Arc<dyn TokenSource>>,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                http,
                endpoint,
                user_headers,
                sink,
                tokens,
                session: RwLock::new(Session::default()),
                reinit: tokio::sync::Mutex::new(()),
                server_stream: Mutex::new(None),
                shutdown,
            }),
        }
    }

    /// Sends one client message and delivers everything the server answers on that exchange.
    /// Returns once each request in it is answered, or the exchange is over.
    pub async fn send(&self, message: &ClientMessage) -> Result<(), TransportError> {
        self.inner.exchange(message, &*self.inner.sink).await.map(|_| ())
    }

    /// Replays the client's handshake on a new session, unless another request already did so
    /// since `expired_generation`. The answers go nowhere.
    pub async fn reinitialize(
        &self,
        initialize: &ClientMessage,
        initialized: Option<&ClientMessage>,
        expired_generation: u64,
    ) -> Result<(), TransportError> {
        let inner = &self.inner;
        let _one_at_a_time = inner.reinit.lock().await;
        if inner.session().generation != expired_generation {
            return Ok(());
        }
        info!("the server's session expired; re-initializing");
        self.stop_server_stream();
        let unanswered = inner.exchange(initialize, &Discard).await?;
        if unanswered > 0 {
            return Err(TransportError::InvalidResponse("the server did not answer the replayed initialize".into()));
        }
        if let Some(initialized) = initialized {
            inner.exchange(initialized, &Discard).await?;
            self.open_server_stream().await;
        }
        Ok(())
    }

    /// Opens (or reopens) the standalone GET stream for server-initiated messages. The returned
    /// future resolves once the server has answered the first GET (or it failed), so requests sent
    /// after it cannot race the stream their server-to-client requests will travel on.
    pub fn open_server_stream(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let token = self.inner.shutdown.child_token();
        if let Some(previous) = self.inner.server_stream.lock().expect("poisoned").replace(token.clone()) {
            previous.cancel();
        }
        let (opened, answered) = tokio::sync::oneshot::channel();
        tokio::spawn(Arc::clone(&self.inner).run_server_stream(token, opened));
        async move {
            let _ = answered.await;
        }
    }

    fn stop_server_stream(&self) {
        if let Some(token) = self.inner.server_stream.lock().expect("poisoned").take() {
            token.cancel();
        }
    }

    /// Ends the GET stream and deletes the session on the server (bounded in time).
    pub async fn close(&self) {
        self.stop_server_stream();
        let session = self.inner.session();
        if session.id.is_none() {
            return;
        }
        let request = self.inner.http.delete(self.inner.endpoint.clone()).headers(self.inner.headers(&session, None));
        match tokio::time::timeout(DELETE_TIMEOUT, request.send()).await {
            Ok(Ok(response)) => debug!(status = %response.status(), "session deleted"),
            Ok(Err(error)) => debug!(error = %error.without_url(), "DELETE of the session failed"),
            Err(_) => debug!("DELETE of the session timed out"),
        }
    }
}

impl Inner {
    fn session(&self) -> Session {
        self.session.read().expect("poisoned").clone()
    }

    /// Request headers: the user's, the bearer token, then the ones the protocol owns.
    fn headers(&self, session: &Session, accept: Option<HeaderValue>) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(self.user_headers.len() + 5);
        headers.extend(self.user_headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(bearer) = self.tokens.as_ref().and_then(|t| t.bearer()) {
            headers.insert(AUTHORIZATION, bearer);
        }
        if let Some(accept) = accept {
            headers.insert(ACCEPT, accept);
        }
        if let Some(id) = &session.id {
            headers.insert(MCP_SESSION_ID, id.clone());
        }
        if let Some(version) = &session.protocol_version {
            headers.insert(MCP_PROTOCOL_VERSION, version.clone());
        }
        headers
    }

    /// POSTs `message`, delivers what comes back to `sink`, and returns how many of its requests
    /// were left unanswered when the exchange ended.
    async fn exchange(&self, message: &ClientMessage, sink: &dyn Sink) -> Result<usize, TransportError> {
        let initializing = message.method == Method::Initialize;
        // A new handshake starts a new session: the old id and version must not be sent with it.
        let session = if initializing { Session::default() } else { self.session() };
        let mut headers = self.headers(&session, Some(ACCEPT_POST));
        headers.insert(CONTENT_TYPE, APPLICATION_JSON);
        let used = headers.get(AUTHORIZATION).cloned();
        let request = self.http.post(self.endpoint.clone()).headers(headers).body(message.body.clone());
        let response = self.cancellable(request.send()).await??;
        if !response.status().is_success() {
            return Err(self.failure(response, &session, used).await);
        }
        if initializing {
            self.start_session(response.headers().get(MCP_SESSION_ID).cloned());
        }
        let mut exchange =
            Exchange { inner: self, sink, message, unanswered: message.request_ids.as_slice().len(), invalid: false };
        if response.status() == StatusCode::ACCEPTED {
            return Ok(exchange.unanswered);
        }
        if is_event_stream(&response) {
            exchange.read_event_stream(response, &session).await?;
        } else {
            let body = self.cancellable(read_body(response)).await??;
            exchange.take_body(body);
        }
        if exchange.invalid && exchange.unanswered > 0 {
            return Err(TransportError::InvalidResponse("the body is not a JSON-RPC message".into()));
        }
        Ok(exchange.unanswered)
    }

    fn start_session(&self, id: Option<HeaderValue>) {
        {
            let mut session = self.session.write().expect("poisoned");
            *session = Session { id, protocol_version: None, generation: session.generation + 1 };
        }
        self.sink.session_started();
    }

    fn set_protocol_version(&self, version: &str) {
        match HeaderValue::from_str(version) {
            Ok(value) => self.session.write().expect("poisoned").protocol_version = Some(value),
            Err(_) => warn!("the server negotiated an unusable protocol version; not sending MCP-Protocol-Version"),
        }
    }

    /// Turns an HTTP error status into the error the proxy can act on.
    async fn failure(&self, mut response: Response, session: &Session, used: Option<HeaderValue>) -> TransportError {
        let status = response.status();
        let www_authenticate =
            response.headers().get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        if status == StatusCode::UNAUTHORIZED {
            return TransportError::Unauthorized { www_authenticate, used };
        }
        if status == StatusCode::FORBIDDEN
            && crate::auth::Challenge::parse(www_authenticate.as_deref()).is_insufficient_scope()
        {
            return TransportError::InsufficientScope { www_authenticate, used };
        }
        let mut body = Vec::new();
        while body.len() < ERROR_BODY_LIMIT {
            match self.cancellable(response.chunk()).await {
                Ok(Ok(Some(chunk))) => body.extend_from_slice(&chunk),
                _ => break,
            }
        }
        body.truncate(ERROR_BODY_LIMIT);
        let expired = session.id.is_some()
            && (status == StatusCode::NOT_FOUND || (status == StatusCode::BAD_REQUEST && mentions_session(&body)));
        if expired {
            return TransportError::SessionExpired { generation: session.generation };
        }
        debug!(%status, "the server refused a request");
        TransportError::Status { status, body: Bytes::from(body) }
    }

    /// GET with `Accept: text/event-stream`: the standalone stream, or a resumption.
    async fn open_get(&self, last_event_id: Option<&str>, session: &Session) -> Result<Response, TransportError> {
        let mut headers = self.headers(session, Some(ACCEPT_SSE));
        if let Some(id) = last_event_id.and_then(|id| HeaderValue::from_str(id).ok()) {
            headers.insert(LAST_EVENT_ID, id);
        }
        let used = headers.get(AUTHORIZATION).cloned();
        let request = self.http.get(self.endpoint.clone()).headers(headers);
        let response = self.cancellable(request.send()).await??;
        if !response.status().is_success() {
            return Err(self.failure(response, session, used).await);
        }
        if !is_event_stream(&response) {
            return Err(TransportError::InvalidResponse("the GET stream is not text/event-stream".into()));
        }
        Ok(response)
    }

    /// Runs `future` unless the proxy shuts down first.
    async fn cancellable<F: std::future::Future>(&self, future: F) -> Result<F::Output, TransportError> {
        tokio::select! {
            output = future => Ok(output),
            () = self.shutdown.cancelled() => Err(TransportError::ShuttingDown),
        }
    }

    async fn pause(&self, delay: Duration, token: &CancellationToken) -> Result<(), TransportError> {
        tokio::select! {
            () = tokio::time::sleep(delay) => Ok(()),
            () = token.cancelled() => Err(TransportError::ShuttingDown),
        }
    }

    /// Keeps the standalone GET stream open until `token` is cancelled: reconnects after the
    /// server's `retry:` when a stream ends, with exponential backoff while it fails (a 401
    /// included: the next POST refreshes the token). Stops for good on other 4xx such as 405 or
    /// 409 (no stream offered, or one already open), and on an expired session, which the next
    /// POST re-creates. Signals `first_answer` once.
    async fn run_server_stream(self: Arc<Self>, token: CancellationToken, first_answer: oneshot::Sender<()>) {
        let mut first_answer = Some(first_answer);
        let mut parser = SseParser::new();
        let mut failures: u32 = 0;
        loop {
            let session = self.session();
            let opened = tokio::select! {
                opened = self.open_get(parser.last_event_id(), &session) => opened,
                () = token.cancelled() => return,
            };
            if let Some(first_answer) = first_answer.take() {
                let _ = first_answer.send(());
            }
            match opened {
                Ok(response) => {
                    debug!("server stream open");
                    parser.restart();
                    let mut delivered = 0usize;
                    let pumped = tokio::select! {
                        pumped = pump(response, &mut parser, |message, event_id| {
                            delivered += deliver_each(&*self.sink, message, event_id, |_| {});
                            false
                        }) => pumped,
                        () = token.cancelled() => return,
                    };
                    if let Err(error) = pumped {
                        debug!(%error, "server stream broke");
                    }
                    failures = if delivered > 0 { 0 } else { failures + 1 };
                }
                // 405: no stream offered; 409: one is open already; other 4xx: a server that
                // does not expect this GET. Retrying would not change its mind.
                Err(TransportError::Status { status, .. })
                    if status.is_client_error()
                        && status != StatusCode::REQUEST_TIMEOUT
                        && status != StatusCode::TOO_MANY_REQUESTS =>
                {
                    debug!(%status, "the server offers no separate GET stream");
                    return;
                }
                Err(error @ TransportError::SessionExpired { .. }) => {
                    debug!(%error, "server stream closed");
                    return;
                }
                // A token that expired: a POST will refresh it; retry with backoff until then.
                Err(error @ TransportError::Unauthorized { .. }) => {
                    debug!(%error, "server stream refused; will retry after sign-in");
                    failures += 1;
                }
                Err(TransportError::ShuttingDown) => return,
                Err(error @ TransportError::InvalidResponse(_)) => {
                    debug!(%error, "the server's GET answer is not an event stream");
                    return;
                }
                Err(error) => {
                    warn!(%error, "server stream failed; will retry");
                    failures += 1;
                }
            }
            let hinted = parser.retry().unwrap_or(DEFAULT_RETRY);
            let delay = if failures == 0 { hinted } else { backoff(failures).max(hinted) };
            if self.pause(delay, &token).await.is_err() {
                return;
            }
        }
    }
}

/// The state of one POST exchange while its answers arrive.
struct Exchange<'a> {
    inner: &'a Inner,
    sink: &'a dyn Sink,
    message: &'a ClientMessage,
    unanswered: usize,
    invalid: bool,
}

impl Exchange<'_> {
    fn take(&mut self, message: Received, event_id: Option<&str>) {
        let initializing = self.message.method == Method::Initialize;
        let message = match message {
            // The negotiated version is read from the initialize answer, however large it is.
            Received::Spooled(spooled) if initializing => match spooled.into_bytes() {
                Ok(bytes) => Received::InMemory(bytes),
                Err(error) => {
                    warn!(%error, "cannot read back a spooled answer");
                    self.invalid = true;
                    return;
                }
            },
            message => message,
        };
        let ids = self.message.request_ids.as_slice();
        let inner = self.inner;
        let mut answered = 0;
        let mut invalid = false;
        deliver_each(self.sink, message, event_id, |outcome| match outcome {
            Outcome::Before(message) if initializing => {
                if let Some(version) = jsonrpc::negotiated_protocol_version(message) {
                    inner.set_protocol_version(&version);
                }
            }
            Outcome::Before(_) => {}
            Outcome::After(Delivered::Answered(id)) if ids.contains(id) => answered += 1,
            Outcome::After(Delivered::Invalid) => invalid = true,
            Outcome::After(_) => {}
        });
        self.unanswered = self.unanswered.saturating_sub(answered);
        self.invalid |= invalid;
    }

    fn take_body(&mut self, body: Received) {
        if matches!(&body, Received::InMemory(bytes) if bytes.iter().all(u8::is_ascii_whitespace)) {
            return;
        }
        self.take(body, None);
    }

    /// Reads a response stream until every request of the message is answered; resumes it with
    /// GET + `Last-Event-ID` when it breaks first.
    async fn read_event_stream(&mut self, response: Response, session: &Session) -> Result<(), TransportError> {
        let mut parser = SseParser::new();
        let mut response = response;
        let mut attempts = 0u32;
        loop {
            let pumped = pump(response, &mut parser, |message, event_id| {
                attempts = 0;
                self.take(message, event_id);
                self.unanswered == 0
            })
            .await;
            if self.unanswered == 0 {
                return Ok(());
            }
            match pumped {
                // Resuming would replay the same message.
                Err(error @ TransportError::Spool(_)) => return Err(error),
                Err(error) => debug!(%error, "response stream broke"),
                Ok(()) => {}
            }
            let Some(last_event_id) = parser.last_event_id().map(str::to_owned) else {
                return Err(TransportError::StreamEnded);
            };
            response = loop {
                attempts += 1;
                if attempts > MAX_RESUME_ATTEMPTS {
                    return Err(TransportError::StreamEnded);
                }
                let delay = parser.retry().unwrap_or(DEFAULT_RETRY).max(backoff(attempts - 1));
                debug!(?delay, "response stream ended early; resuming");
                self.inner.pause(delay, &self.inner.shutdown).await?;
                match self.inner.open_get(Some(&last_event_id), session).await {
                    Ok(response) => break response,
                    Err(TransportError::Network(error)) => debug!(%error, "resumption failed"),
                    Err(error) => return Err(error),
                }
            };
            parser.restart();
        }
    }
}

/// What [`deliver_each`] reports about each message, before and after the sink sees it.
enum Outcome<'a> {
    Before(&'a Bytes),
    After(&'a Delivered),
}

/// Hands `message` to the sink, splitting a batch array into its messages. Returns how many
/// messages the sink took; `observe` sees each in-memory message before delivery and each result
/// after.
fn deliver_each(
    sink: &dyn Sink,
    message: Received,
    event_id: Option<&str>,
    mut observe: impl FnMut(Outcome<'_>),
) -> usize {
    let data = match message {
        Received::InMemory(data) => data,
        Received::Spooled(spooled) => match spooled.shape().clone() {
            SpooledShape::Message(shape) => {
                let delivered = sink.deliver_spooled(shape, spooled, event_id);
                observe(Outcome::After(&delivered));
                return usize::from(matches!(delivered, Delivered::Answered(_) | Delivered::Forwarded));
            }
            // Batches left the protocol in 2025-06-18; a large one is split in memory.
            SpooledShape::Batch => match spooled.into_bytes() {
                Ok(data) => data,
                Err(error) => {
                    warn!(%error, "cannot read back a spooled batch");
                    observe(Outcome::After(&Delivered::Invalid));
                    return 0;
                }
            },
        },
    };
    let data = jsonrpc::single_line(data);
    if data.first() != Some(&b'[') {
        // The common case, one message: no batch bookkeeping on the hot path.
        return deliver_one(sink, data, event_id, &mut observe);
    }
    let Some(messages) = jsonrpc::split_batch(&data) else {
        warn!("the server sent a batch that is not valid JSON");
        observe(Outcome::After(&Delivered::Invalid));
        return 0;
    };
    messages.into_iter().map(|message| deliver_one(sink, message, event_id, &mut observe)).sum()
}

/// Delivers one message; 1 when the sink took it.
fn deliver_one(
    sink: &dyn Sink,
    message: Bytes,
    event_id: Option<&str>,
    observe: &mut impl FnMut(Outcome<'_>),
) -> usize {
    observe(Outcome::Before(&message));
    let delivered = sink.deliver(message, event_id);
    observe(Outcome::After(&delivered));
    usize::from(matches!(delivered, Delivered::Answered(_) | Delivered::Forwarded))
}

/// Feeds a streaming body through the SSE parser, calling `on_message` with each non-empty
/// `message` event and its id; stops early when `on_message` returns true. The rest of the body
/// is then read in the background (servers end the stream right after the answer), so the
/// keep-alive connection goes back to the pool instead of being dropped half-read. Events larger
/// than [`SPOOL_THRESHOLD`] are spooled as they arrive.
async fn pump(
    mut response: Response,
    parser: &mut SseParser,
    mut on_message: impl FnMut(Received, Option<&str>) -> bool,
) -> Result<(), TransportError> {
    let mut spool: Option<SpoolWriter> = None;
    loop {
        let Some(chunk) = response.chunk().await? else {
            return Ok(());
        };
        let mut rest = &chunk[..];
        if let Some(writer) = &mut spool {
            let through = parser.continuing_data(rest);
            writer.push(&rest[..through]).map_err(TransportError::Spool)?;
            rest = &rest[through..];
        }
        parser.feed(rest);
        while let Some(event) = parser.next_event().map_err(|e| TransportError::InvalidResponse(e.to_string()))? {
            let message = match spool.take() {
                Some(mut writer) if event.continued => {
                    writer.push(&event.data).map_err(TransportError::Spool)?;
                    Received::Spooled(writer.finish())
                }
                _ if event.data.iter().all(u8::is_ascii_whitespace) => continue,
                _ => Received::InMemory(event.data),
            };
            if event.event_type.is_some() {
                continue;
            }
            let event_id = if event.has_id { parser.last_event_id() } else { None };
            if on_message(message, event_id) {
                drain_in_background(response);
                return Ok(());
            }
        }
        // Once an event is being spooled, whatever of it has arrived goes to the file at once.
        let piece_size = if spool.is_some() { 1 } else { SPOOL_THRESHOLD };
        if let Some(piece) = parser.take_data_piece(piece_size) {
            let writer = match &mut spool {
                Some(writer) => writer,
                None => spool.insert(SpoolWriter::new().map_err(TransportError::Spool)?),
            };
            writer.push(&piece).map_err(TransportError::Spool)?;
        }
    }
}

/// Reads an `application/json` body: shared with the HTTP buffers when it comes in one piece,
/// spooled once it passes [`SPOOL_THRESHOLD`].
async fn read_body(mut response: Response) -> Result<Received, TransportError> {
    let mut first: Option<Bytes> = None;
    let mut joined = BytesMut::new();
    let mut spool: Option<SpoolWriter> = None;
    while let Some(chunk) = response.chunk().await? {
        if let Some(writer) = &mut spool {
            writer.push(&chunk).map_err(TransportError::Spool)?;
            continue;
        }
        if let Some(first) = first.take() {
            joined.extend_from_slice(&first);
        }
        if joined.is_empty() {
            first = Some(chunk);
            continue;
        }
        joined.extend_from_slice(&chunk);
        if joined.len() > SPOOL_THRESHOLD {
            let mut writer = SpoolWriter::new().map_err(TransportError::Spool)?;
            writer.push(&joined).map_err(TransportError::Spool)?;
            joined = BytesMut::new();
            spool = Some(writer);
        }
    }
    Ok(match (spool, first) {
        (Some(writer), _) => Received::Spooled(writer.finish()),
        (None, Some(first)) => Received::InMemory(first),
        (None, None) => Received::InMemory(joined.freeze()),
    })
}

/// Reads what is left of an answered body so its connection can be reused. Usually the end is
/// already buffered, and no task is needed.
fn drain_in_background(mut response: Response) {
    loop {
        match response.chunk().now_or_never() {
            Some(Ok(Some(_))) => continue,
            Some(_) => return,
            None => break,
        }
    }
    tokio::spawn(async move {
        let rest = async { while let Ok(Some(_)) = response.chunk().await {} };
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, rest).await;
    });
}

fn is_event_stream(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/event-stream"))
}

/// Some servers answer an unknown session with 400 and say so in the body.
fn mentions_session(body: &[u8]) -> bool {
    String::from_utf8_lossy(body).to_ascii_lowercase().contains("session")
}

/// 1 s, 2 s, 4 s … capped at [`MAX_BACKOFF`].
fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    DEFAULT_RETRY.saturating_mul(1 << (failures - 1).min(5)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what reaches it: each in-memory message, or the shape of each spooled one.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Sink for Recorder {
        fn deliver(&self, message: Bytes, _event_id: Option<&str>) -> Delivered {
            self.0.lock().unwrap().push(String::from_utf8(message.to_vec()).unwrap());
            Delivered::Forwarded
        }

        fn deliver_spooled(&self, shape: Option<ServerMessage>, _message: Spooled, _: Option<&str>) -> Delivered {
            self.0.lock().unwrap().push(format!("spooled {shape:?}"));
            Delivered::Forwarded
        }
    }

    fn spooled(text: &str) -> Received {
        let mut writer = SpoolWriter::new().unwrap();
        writer.push(text.as_bytes()).unwrap();
        Received::Spooled(writer.finish())
    }

    #[test]
    fn spooled_messages_go_whole_to_the_sink_and_spooled_batches_are_split() {
        let sink = Recorder::default();
        let delivered = deliver_each(&sink, spooled(r#"{"jsonrpc":"2.0","id":7,"result":{}}"#), None, |_| {});
        assert_eq!(delivered, 1);
        let batch = "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}},\n {\"jsonrpc\":\"2.0\",\"method\":\"m\"}]";
        assert_eq!(deliver_each(&sink, spooled(batch), None, |_| {}), 2);
        let seen = sink.0.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![
                r#"spooled Some(Response { id: b"7" })"#.to_string(),
                r#"{"jsonrpc":"2.0","id":1,"result":{}}"#.to_string(),
                r#"{"jsonrpc":"2.0","method":"m"}"#.to_string(),
            ]
        );
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(0), Duration::ZERO);
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(4));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }

    #[test]
    fn session_mentions_are_found_in_any_case() {
        assert!(mentions_session(br#"{"error":{"message":"Bad Request: No valid session ID provided"}}"#));
        assert!(mentions_session(b"Session not found"));
        assert!(!mentions_session(b"invalid params"));
    }
}
