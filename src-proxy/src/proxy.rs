//! The proxy: reads the client's lines, runs each message's exchange with the server
//! concurrently, gives every request exactly one answer, recovers an expired session once, and
//! shuts down cleanly (DELETE the session, flush stdout, exit).
//!
//! The handshake (`initialize`, `notifications/initialized`) is the one ordered part: stdin is
//! not read past it until the server has it, and until the GET stream for server-initiated
//! messages has been answered, so no request can overtake it.

use crate::auth::{Auth, AuthError, AuthSettings, Challenge, Opener};
use crate::cli::Config;
use crate::jsonrpc::{self, code, ClientMessage, Method};
use crate::router::Router;
use crate::stdio;
use crate::store::Store;
use crate::transport::{self, StreamableHttp, TransportError};
use bytes::Bytes;
use futures_util::StreamExt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

/// After stdin closes, in-flight requests get this long to finish before they are cut off.
const DRAIN_ON_EOF: Duration = Duration::from_millis(300);
/// How long the last messages may take to reach a client that is still reading.
const FLUSH_ON_EXIT: Duration = Duration::from_secs(1);
/// Sign-ins with more scope one request may trigger before its 403 is final.
const MAX_STEP_UPS: usize = 2;
/// How long the handshake waits for the server to answer the first GET stream request.
const SERVER_STREAM_WAIT: Duration = Duration::from_secs(3);

/// What the proxy needs from a transport; the seam the other protocol eras plug into.
pub trait Remote: Send + Sync + 'static {
    /// Sends one client message; answers go to the transport's sink. Returns when the exchange ends.
    fn send(&self, message: &ClientMessage) -> impl Future<Output = Result<(), TransportError>> + Send;
    /// Replays the handshake on a new session unless that happened since `expired_generation`.
    fn reinitialize(
        &self,
        initialize: &ClientMessage,
        initialized: Option<&ClientMessage>,
        expired_generation: u64,
    ) -> impl Future<Output = Result<(), TransportError>> + Send;
    /// Starts listening for server-initiated messages; resolves when the server has answered.
    fn open_server_stream(&self) -> impl Future<Output = ()> + Send + 'static;
    /// Ends the session on the server.
    fn close(&self) -> impl Future<Output = ()> + Send;
}

impl Remote for StreamableHttp {
    fn send(&self, message: &ClientMessage) -> impl Future<Output = Result<(), TransportError>> + Send {
        StreamableHttp::send(self, message)
    }

    fn reinitialize(
        &self,
        initialize: &ClientMessage,
        initialized: Option<&ClientMessage>,
        expired_generation: u64,
    ) -> impl Future<Output = Result<(), TransportError>> + Send {
        StreamableHttp::reinitialize(self, initialize, initialized, expired_generation)
    }

    fn open_server_stream(&self) -> impl Future<Output = ()> + Send + 'static {
        StreamableHttp::open_server_stream(self)
    }

    fn close(&self) -> impl Future<Output = ()> + Send {
        StreamableHttp::close(self)
    }
}

/// Why the proxy could not run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    #[error("cannot set up the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    #[error("cannot read stdin: {0}")]
    Stdin(#[source] std::io::Error),
    #[error("cannot set up sign-in: {0}")]
    Auth(#[source] AuthError),
}

/// OAuth state for the configured server, unless the user's own `Authorization` header turns
/// OAuth off.
fn oauth_for(config: &Config, http: &reqwest::Client) -> Result<Option<Arc<Auth>>, RunError> {
    if config.has_user_authorization() {
        return Ok(None);
    }
    let settings = AuthSettings::from_config(config, Opener::System { browser: config.browser.clone() }, true);
    let auth = Auth::new(settings, Store::new(&config.config_dir), &config.server_key(), http.clone())
        .map_err(RunError::Auth)?;
    Ok(Some(Arc::new(auth)))
}

/// The client's handshake, kept to replay on a new session.
#[derive(Default, Clone)]
struct Handshake {
    initialize: Option<ClientMessage>,
    initialized: Option<ClientMessage>,
}

struct Proxy<R> {
    remote: R,
    router: Arc<Router>,
    /// OAuth for this server; `None` when the user supplied `Authorization` themselves.
    auth: Option<Arc<Auth>>,
    handshake: Mutex<Handshake>,
    /// Cancelled when in-flight requests must give up (shutdown).
    give_up: CancellationToken,
}

/// Runs the proxy between `input`/`output` (the client) and `config.server_url` until the input
/// ends or `shutdown` is cancelled.
pub async fn run<I, O>(config: &Config, input: I, output: O, shutdown: CancellationToken) -> Result<(), RunError>
where
    I: AsyncRead + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let http = transport::build_client().map_err(RunError::HttpClient)?;
    let auth = oauth_for(config, &http)?;
    let (outbox, queue) = stdio::outbox();
    let mut writer = tokio::spawn(stdio::write_lines(queue, output));
    let router = Arc::new(Router::new(outbox));
    let transport_stop = CancellationToken::new();
    let remote = StreamableHttp::new(
        http,
        config.server_url.clone(),
        config.headers.clone(),
        Arc::clone(&router) as Arc<dyn transport::Sink>,
        auth.clone().map(|auth| auth as Arc<dyn transport::TokenSource>),
        transport_stop.clone(),
    );
    let proxy = Arc::new(Proxy {
        remote,
        router,
        auth,
        handshake: Mutex::new(Handshake::default()),
        give_up: transport_stop.clone(),
    });
    info!(server = %crate::logging::redacted_url(&config.server_url), "proxying stdio");

    let tasks = TaskTracker::new();
    let lines = stdio::lines(input);
    tokio::pin!(lines);
    let mut stdout_closed = false;
    let ended = loop {
        let line = tokio::select! {
            line = lines.next() => line,
            () = shutdown.cancelled() => break Ok(Ending::Signal),
            _ = &mut writer => { stdout_closed = true; break Ok(Ending::StdoutClosed) },
        };
        let line = match line {
            None => break Ok(Ending::Eof),
            Some(Err(e)) => break Err(RunError::Stdin(e)),
            Some(Ok(stdio::Line::Text(line))) => line,
            Some(Ok(stdio::Line::TooLong)) => {
                warn!("dropped a line from the client longer than {} MiB", stdio::MAX_LINE >> 20);
                let message = format!("mcp-remote: a line longer than {} MiB was dropped", stdio::MAX_LINE >> 20);
                proxy.router.write(jsonrpc::error_response(None, code::PARSE_ERROR, &message, None));
                continue;
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let message = match ClientMessage::parse(line) {
            Ok(message) => message,
            Err(e) => {
                warn!(error = %e, "rejected a line from the client");
                proxy.router.write(jsonrpc::error_response(None, e.code(), &e.to_string(), None));
                continue;
            }
        };
        let ordered = matches!(message.method, Method::Initialize | Method::Initialized);
        let handled = tasks.spawn(Arc::clone(&proxy).handle(message));
        if ordered {
            // Nothing may overtake the handshake; a signal still ends the wait.
            tokio::select! {
                _ = handled => {}
                () = shutdown.cancelled() => break Ok(Ending::Signal),
            }
        }
    };
    tasks.close();
    match &ended {
        Ok(Ending::Eof) => {
            debug!("stdin closed; finishing in-flight requests");
            if tokio::time::timeout(DRAIN_ON_EOF, tasks.wait()).await.is_err() {
                debug!("giving up on requests still in flight");
            }
        }
        Ok(Ending::Signal) => info!("terminating on signal"),
        Ok(Ending::StdoutClosed) => debug!("stdout closed"),
        Err(_) => {}
    }
    transport_stop.cancel();
    tasks.wait().await;
    proxy.remote.close().await;
    drop(proxy);
    if !stdout_closed {
        // Ends once every message is written; a client that stopped reading cannot hold us.
        match tokio::time::timeout(FLUSH_ON_EXIT, writer).await {
            Ok(Ok(Err(e))) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                warn!(error = %e, "writing stdout failed")
            }
            Err(_) => warn!("stdout did not drain in time; exiting"),
            _ => {}
        }
    }
    ended.map(|_| ())
}

enum Ending {
    Eof,
    Signal,
    StdoutClosed,
}

impl<R: Remote> Proxy<R> {
    /// Carries one client message to the server and makes sure each request in it is answered.
    async fn handle(self: Arc<Self>, message: ClientMessage) {
        let ids = message.request_ids.as_slice();
        let mut answered = Vec::with_capacity(ids.len());
        for id in ids {
            match self.router.register(id) {
                Some(token) => answered.push(token),
                None => {
                    let error =
                        jsonrpc::error_response(Some(id), code::INVALID_REQUEST, "request id already in use", None);
                    self.router.write(error);
                    return;
                }
            }
        }
        match message.method {
            Method::Initialize => {
                *self.handshake.lock().expect("poisoned") =
                    Handshake { initialize: Some(message.clone()), initialized: None };
            }
            Method::Initialized => self.handshake.lock().expect("poisoned").initialized = Some(message.clone()),
            Method::Cancelled => {
                if let Some(id) = &message.cancels {
                    self.router.forget(id);
                }
            }
            Method::Other => {}
        }
        let outcome = tokio::select! {
            outcome = self.exchange(&message) => outcome,
            () = all_cancelled(&answered), if !answered.is_empty() => Ok(()),
            () = self.give_up.cancelled() => Err(TransportError::ShuttingDown),
        };
        match &outcome {
            Ok(()) => {}
            Err(TransportError::ShuttingDown) => debug!("request cut off by shutdown"),
            Err(e) => warn!(error = %e, "exchange with the server failed"),
        }
        for id in ids {
            if self.router.answer(id, || error_answer(id, &outcome)) {
                debug!("answered a request with an error of the proxy");
            }
        }
        let stream_wanted = message.method == Method::Initialized && outcome.is_ok();
        if stream_wanted && tokio::time::timeout(SERVER_STREAM_WAIT, self.remote.open_server_stream()).await.is_err() {
            debug!("the server has not answered the GET stream yet; going on");
        }
    }

    /// Sends `message`; when the session has expired, replays the handshake and retries once.
    /// Sends `message`, recovering what can be recovered, each a bounded number of times: an
    /// expired session (replay the handshake, once), a 401 (refresh or sign in, once), a 403
    /// `insufficient_scope` (sign in with more scope, at most [`MAX_STEP_UPS`] times).
    async fn exchange(&self, message: &ClientMessage) -> Result<(), TransportError> {
        let mut session_recovered = false;
        let mut auth_recovered = false;
        let mut step_ups = 0;
        loop {
            if let Some(auth) = self.auth.as_ref().filter(|auth| auth.expiring()) {
                if let Err(error) = auth.recover(&Challenge::default(), auth.bearer().as_ref()).await {
                    warn!(%error, "could not refresh the access token ahead of its expiry");
                }
            }
            match self.remote.send(message).await {
                Err(TransportError::SessionExpired { generation })
                    if !session_recovered && message.method != Method::Initialize =>
                {
                    session_recovered = true;
                    let handshake = self.handshake.lock().expect("poisoned").clone();
                    let Some(initialize) = handshake.initialize else {
                        return Err(TransportError::SessionExpired { generation });
                    };
                    self.remote.reinitialize(&initialize, handshake.initialized.as_ref(), generation).await?;
                    if message.method == Method::Initialized {
                        return Ok(());
                    }
                }
                Err(TransportError::Unauthorized { www_authenticate, used })
                    if !auth_recovered && self.auth.is_some() =>
                {
                    auth_recovered = true;
                    let challenge = Challenge::parse(www_authenticate.as_deref());
                    self.auth.as_ref().expect("checked").recover(&challenge, used.as_ref()).await?;
                }
                Err(TransportError::InsufficientScope { www_authenticate, used })
                    if step_ups < MAX_STEP_UPS && self.auth.is_some() =>
                {
                    step_ups += 1;
                    let challenge = Challenge::parse(www_authenticate.as_deref());
                    self.auth.as_ref().expect("checked").step_up(&challenge, used.as_ref()).await?;
                }
                outcome => return outcome,
            }
        }
    }
}

async fn all_cancelled(tokens: &[CancellationToken]) {
    for token in tokens {
        token.cancelled().await;
    }
}

/// The JSON-RPC error a request gets when the server did not answer it.
fn error_answer(id: &[u8], outcome: &Result<(), TransportError>) -> Bytes {
    let error = match outcome {
        Ok(()) => {
            return jsonrpc::error_response(
                Some(id),
                code::TRANSPORT_ERROR,
                "mcp-remote: the server ended the exchange without answering this request",
                None,
            )
        }
        Err(error) => error,
    };
    match error {
        TransportError::Status { status, body } => {
            if let Some(server_error) = jsonrpc::error_object(body) {
                return jsonrpc::error_response_with(Some(id), server_error.get().as_bytes());
            }
            let mut message = format!("mcp-remote: the server answered HTTP {status}");
            if let Some(detail) = readable_excerpt(body) {
                message.push_str(": ");
                message.push_str(&detail);
            }
            let data = serde_json::json!({ "httpStatus": status.as_u16() });
            jsonrpc::error_response(Some(id), code::TRANSPORT_ERROR, &message, Some(&data))
        }
        TransportError::Unauthorized { .. } => {
            let data = serde_json::json!({ "httpStatus": 401 });
            jsonrpc::error_response(Some(id), code::UNAUTHORIZED, &format!("mcp-remote: {error}"), Some(&data))
        }
        TransportError::InsufficientScope { .. } => {
            let data = serde_json::json!({ "httpStatus": 403 });
            jsonrpc::error_response(Some(id), code::UNAUTHORIZED, &format!("mcp-remote: {error}"), Some(&data))
        }
        TransportError::Auth(auth) => {
            jsonrpc::error_response(Some(id), code::UNAUTHORIZED, &format!("mcp-remote: {auth}"), None)
        }
        other => jsonrpc::error_response(Some(id), code::TRANSPORT_ERROR, &format!("mcp-remote: {other}"), None),
    }
}

/// The start of an error body when it is text worth showing a person.
fn readable_excerpt(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.is_empty() || text.starts_with('<') {
        return None;
    }
    let mut excerpt: String = text.chars().take(200).collect();
    if excerpt.len() < text.len() {
        excerpt.push('…');
    }
    Some(excerpt.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn answer(outcome: Result<(), TransportError>) -> serde_json::Value {
        serde_json::from_slice(&error_answer(b"7", &outcome)).unwrap()
    }

    #[test]
    fn http_errors_carry_status_and_text() {
        let v = answer(Err(TransportError::Status {
            status: StatusCode::BAD_GATEWAY,
            body: Bytes::from_static(b"upstream\n down"),
        }));
        assert_eq!(v["id"], 7);
        assert_eq!(v["error"]["code"], code::TRANSPORT_ERROR);
        assert_eq!(v["error"]["message"], "mcp-remote: the server answered HTTP 502 Bad Gateway: upstream down");
        assert_eq!(v["error"]["data"]["httpStatus"], 502);
    }

    #[test]
    fn a_json_rpc_error_body_is_passed_on_with_the_request_id() {
        let v = answer(Err(TransportError::Status {
            status: StatusCode::BAD_REQUEST,
            body: Bytes::from_static(br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32602,"message":"bad params"}}"#),
        }));
        assert_eq!(v["id"], 7);
        assert_eq!(v["error"]["code"], -32602);
        assert_eq!(v["error"]["message"], "bad params");
    }

    #[test]
    fn html_bodies_are_not_shown_and_silence_is_explained() {
        let v = answer(Err(TransportError::Status {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: Bytes::from_static(b"<html>oops</html>"),
        }));
        assert_eq!(v["error"]["message"], "mcp-remote: the server answered HTTP 500 Internal Server Error");
        let v = answer(Ok(()));
        assert!(v["error"]["message"].as_str().unwrap().contains("without answering"));
        let v = answer(Err(TransportError::Unauthorized { www_authenticate: None, used: None }));
        assert_eq!(v["error"]["code"], code::UNAUTHORIZED);
    }
}
