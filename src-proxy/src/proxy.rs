//! The proxy: reads the client's lines, runs each message's exchange with the server
//! concurrently, gives every request exactly one answer, recovers what can be recovered (an
//! expired session, a refused or expired token, too little scope), and shuts down cleanly (close
//! the transport, flush stdout, exit).
//!
//! The handshake (`initialize`, `notifications/initialized`) is the one ordered part: stdin is
//! not read past it until the transport is done with it, so no request can overtake it. The proxy
//! knows the server only through [`Transport`] and the sign-in only through [`Credentials`].

use crate::auth::{Auth, AuthError, AuthSettings, Challenge, Opener};
use crate::cli::Config;
use crate::jsonrpc::{self, code, ClientMessage, Method};
use crate::retry::{Reached, Retries};
use crate::router::Router;
use crate::stdio;
use crate::store::Store;
use crate::tool_filter::ToolFilter;
use crate::transport::{self, Sent, Transport, TransportError};
use bytes::Bytes;
use futures_util::StreamExt;
use http::HeaderValue;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncRead;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

/// After stdin closes, in-flight requests get this long to finish before they are cut off.
const DRAIN_ON_EOF: Duration = Duration::from_millis(300);
/// How long the last messages may take to reach a client that is still reading.
const FLUSH_ON_EXIT: Duration = Duration::from_secs(1);
/// Sign-ins with more scope one request may trigger before its 403 is final.
const MAX_STEP_UPS: usize = 2;

/// What the proxy needs from the sign-in state ([`Auth`]).
pub trait Credentials: Send + Sync + 'static {
    /// The access token expires soon (refresh before sending).
    fn expiring(&self) -> bool;
    /// Gets a token the server will take after it refused `used` (refresh, or sign in).
    fn recover(
        &self,
        challenge: &Challenge,
        used: Option<&HeaderValue>,
    ) -> impl Future<Output = Result<(), AuthError>> + Send;
    /// Signs in again with the scope the server asked for.
    fn step_up(
        &self,
        challenge: &Challenge,
        used: Option<&HeaderValue>,
    ) -> impl Future<Output = Result<(), AuthError>> + Send;
    /// The token requests carry now.
    fn current(&self) -> Option<HeaderValue>;
    /// The server answered a request that carried the current token.
    fn accepted(&self);
}

impl Credentials for Auth {
    fn expiring(&self) -> bool {
        Auth::expiring(self)
    }

    fn recover(
        &self,
        challenge: &Challenge,
        used: Option<&HeaderValue>,
    ) -> impl Future<Output = Result<(), AuthError>> + Send {
        Auth::recover(self, challenge, used)
    }

    fn step_up(
        &self,
        challenge: &Challenge,
        used: Option<&HeaderValue>,
    ) -> impl Future<Output = Result<(), AuthError>> + Send {
        Auth::step_up(self, challenge, used)
    }

    fn current(&self) -> Option<HeaderValue> {
        Auth::bearer(self)
    }

    fn accepted(&self) {
        Auth::note_accepted(self)
    }
}

/// Why the proxy could not run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    #[error("cannot set up the HTTP client: {0}")]
    HttpClient(#[source] crate::network::NetworkError),
    #[error("cannot read stdin: {0}")]
    Stdin(#[source] std::io::Error),
    #[error("cannot set up sign-in: {0}")]
    Auth(#[source] AuthError),
}

/// OAuth state for the configured server, unless the user's own `Authorization` header turns
/// OAuth off.
fn oauth_for(config: &Config) -> Result<Option<Arc<Auth>>, RunError> {
    if config.has_user_authorization() {
        return Ok(None);
    }
    let settings = AuthSettings::from_config(config, Opener::System { browser: config.browser.clone() }, true);
    let auth = Auth::new(settings, Store::new(&config.config_dir), &config.server_key()).map_err(RunError::Auth)?;
    Ok(Some(Arc::new(auth)))
}

struct Proxy<T, C> {
    transport: T,
    router: Arc<Router>,
    /// OAuth for this server; `None` when the user supplied `Authorization` themselves.
    auth: Option<Arc<C>>,
    /// Cancelled when in-flight requests must give up (shutdown).
    give_up: CancellationToken,
    /// How long a message that failed in passing is sent again (`--retry-for`).
    retry_for: Duration,
    /// The tools the client may see and call; `None`: all of them.
    tools: Option<Arc<ToolFilter>>,
    /// Ping the server this often once the handshake is done (`--keep-alive`).
    keep_alive: Option<Duration>,
}

/// Runs the proxy between `input`/`output` (the client) and `config.server_url` until the input
/// ends or `shutdown` is cancelled.
pub async fn run<I>(
    config: &Config,
    input: I,
    output: stdio::Output,
    shutdown: CancellationToken,
) -> Result<(), RunError>
where
    I: AsyncRead + Send + 'static,
{
    let http = config.network.client().map_err(RunError::HttpClient)?;
    let auth = oauth_for(config)?;
    let (outbox, queue) = stdio::outbox();
    let tools = ToolFilter::new(&config.ignore_tools, &config.allow_tools).map(Arc::new);
    let router = Arc::new(Router::new(outbox, tools.clone()));
    let give_up = CancellationToken::new();
    let endpoint = transport::Endpoint {
        http,
        url: config.server_url.clone(),
        user_headers: config.headers.clone(),
        tokens: auth.clone().map(|auth| auth as Arc<dyn transport::TokenSource>),
        shutdown: give_up.clone(),
    };
    let folder = Some(Store::new(&config.config_dir).server(&config.server_key()));
    let settings = transport::Settings {
        endpoint,
        sink: Arc::clone(&router) as _,
        mode: config.transport,
        folder,
        probe_modern: config.probe_modern,
    };
    let transport = transport::connect(settings);
    info!(server = %crate::logging::redacted_url(&config.server_url), "proxying stdio");
    let proxy =
        Proxy { transport, router, auth, give_up, retry_for: config.retry_for, tools, keep_alive: config.keep_alive };
    serve(proxy, queue, input, output, shutdown).await
}

/// Serves the client on `input`/`output` until the input ends, `shutdown` is cancelled or the
/// client stops reading; `queue` is the router's outbox.
async fn serve<T, C, I>(
    proxy: Proxy<T, C>,
    queue: stdio::OutboxReceiver,
    input: I,
    output: stdio::Output,
    shutdown: CancellationToken,
) -> Result<(), RunError>
where
    T: Transport,
    C: Credentials,
    I: AsyncRead + Send + 'static,
{
    let proxy = Arc::new(proxy);
    let mut writer = tokio::spawn(stdio::write_lines(queue, output));
    let tasks = TaskTracker::new();
    let lines = stdio::lines(input);
    tokio::pin!(lines);
    let mut stdout_closed = false;
    let mut pinging = false;
    let ended = loop {
        // A client that does not read stdout is not read from either: the proxy's own answers to
        // its lines could otherwise pile up without bound.
        let next_line = async {
            if let Some(stdout) = transport::Sink::room(&*proxy.router) {
                stdout.room().await;
            }
            lines.next().await
        };
        let line = tokio::select! {
            line = next_line => line,
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
        if let (Method::Initialized, Some(every)) = (message.method, proxy.keep_alive) {
            if !pinging {
                pinging = true;
                // Not a tracked task: the exit's drain waits for requests, not for this.
                tokio::spawn(Arc::clone(&proxy).keep_alive(every));
            }
        }
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
    proxy.give_up.cancel();
    tasks.wait().await;
    proxy.transport.close().await;
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

impl<T: Transport, C: Credentials> Proxy<T, C> {
    /// Carries one client message to the server and makes sure each request in it is answered.
    async fn handle(self: Arc<Self>, message: ClientMessage) {
        let ids = message.request_ids.as_slice();
        let mut answered = Vec::with_capacity(ids.len());
        for (index, id) in ids.iter().enumerate() {
            let Some(token) = self.router.register(id) else {
                self.refuse_reused_id(&ids[..index], id);
                return;
            };
            answered.push(token);
        }
        if let Some(id) = message.cancels.as_ref().filter(|_| message.method == Method::Cancelled) {
            self.router.forget(id);
        }
        if let (Some(tools), [id]) = (&self.tools, ids) {
            if !self.tools_permit(tools, &message, id) {
                return;
            }
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
            if let Some(tools) = &self.tools {
                tools.done(id);
            }
        }
    }

    /// Pings the server every `every` until shutdown, so idle connections stay open. The ids
    /// are the proxy's own, never pending, so the answers are dropped.
    async fn keep_alive(self: Arc<Self>, every: Duration) {
        for n in 1u64.. {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = self.give_up.cancelled() => return,
            }
            let ping = format!(r#"{{"jsonrpc":"2.0","id":"mcp-remote-keepalive-{n}","method":"ping"}}"#);
            let Ok(ping) = ClientMessage::parse(Bytes::from(ping)) else { return };
            tokio::select! {
                sent = self.transport.send(&ping) => if !matches!(sent, Sent::Answered | Sent::Accepted { .. }) {
                    debug!("a keep-alive ping got no answer");
                },
                () = self.give_up.cancelled() => return,
            }
        }
    }

    /// Applies the tool filter to a single request: a call of a hidden tool is answered here
    /// (false: send nothing); a `tools/list` has its answer filtered.
    fn tools_permit(&self, tools: &ToolFilter, message: &ClientMessage, id: &Bytes) -> bool {
        if message.method == Method::ToolsCall {
            let tool = message.target.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
            if !tools.permits(&tool) {
                debug!(tool = %tool, "refusing a call of a filtered tool");
                self.router.answer(id, || tools.refusal(id, &tool));
                return false;
            }
        } else if message.method_name.as_deref() == Some(b"tools/list") {
            tools.expect_list(id);
        }
        true
    }

    /// A message reuses request id `reused`, already in flight: nothing of it is sent, and the
    /// requests of it registered so far (`registered`) are answered with an error too, so none
    /// waits forever.
    fn refuse_reused_id(&self, registered: &[Bytes], reused: &Bytes) {
        let text = String::from_utf8_lossy(reused);
        for id in registered {
            self.router.answer(id, || {
                let message = format!("mcp-remote: not sent: the same message reuses request id {text}");
                jsonrpc::error_response(Some(id), code::INVALID_REQUEST, &message, None)
            });
        }
        let error = jsonrpc::error_response(Some(reused), code::INVALID_REQUEST, "request id already in use", None);
        self.router.write(error);
    }

    /// Sends `message`, recovering what can be recovered, each a bounded number of times: an
    /// expired session (replay the handshake, once), a 401 (refresh or sign in, once), a 403
    /// `insufficient_scope` (sign in with more scope, at most [`MAX_STEP_UPS`] times), and a
    /// failure that passes (sent again within the retry window, see [`crate::retry`]). Returns
    /// once the server can say no more about the message's requests.
    async fn exchange(&self, message: &ClientMessage) -> Result<(), TransportError> {
        let mut session_renewed = false;
        let mut auth_recovered = false;
        let mut step_ups = 0;
        let mut retries = Retries::new(self.retry_for);
        loop {
            if let Some(auth) = self.auth.as_ref().filter(|auth| auth.expiring()) {
                if let Err(error) = auth.recover(&Challenge::default(), auth.current().as_ref()).await {
                    warn!(%error, "could not refresh the access token ahead of its expiry");
                }
            }
            let (error, reached) = match self.transport.send(message).await {
                Sent::Answered => {
                    if let Some(auth) = &self.auth {
                        auth.accepted();
                    }
                    return Ok(());
                }
                Sent::Accepted { lost } => {
                    if let Some(auth) = &self.auth {
                        auth.accepted();
                    }
                    if message.request_ids.as_slice().is_empty() {
                        return Ok(());
                    }
                    lost.cancelled().await;
                    (TransportError::AnswerLost, Reached::Maybe)
                }
                Sent::NotDelivered(error) => (error, Reached::No),
                Sent::Failed(error) => (error, Reached::Maybe),
            };
            match (error, self.auth.as_deref()) {
                (TransportError::SessionExpired { generation }, _)
                    if !session_renewed && message.method != Method::Initialize =>
                {
                    session_renewed = true;
                    if let Err(error) = self.transport.renew_session(generation).await {
                        // The server went away again while the session was renewed: the message
                        // itself has not been sent on the new session yet.
                        session_renewed = false;
                        Box::pin(self.wait_to_retry(&mut retries, message, error, Reached::No)).await?;
                        continue;
                    }
                    if message.method == Method::Initialized {
                        // The renewed session's handshake included it.
                        return Ok(());
                    }
                }
                (TransportError::Unauthorized { www_authenticate, used }, Some(auth)) if !auth_recovered => {
                    auth_recovered = true;
                    auth.recover(&Challenge::parse(www_authenticate.as_deref()), used.as_ref()).await?;
                }
                (TransportError::InsufficientScope { www_authenticate, used }, Some(auth))
                    if step_ups < MAX_STEP_UPS =>
                {
                    step_ups += 1;
                    auth.step_up(&Challenge::parse(www_authenticate.as_deref()), used.as_ref()).await?;
                }
                // Boxed, as every rare path: the timer it holds would grow every message's task.
                (error, _) => Box::pin(self.wait_to_retry(&mut retries, message, error, reached)).await?,
            }
        }
    }

    /// Waits before `message` is sent again after it failed with `error`, or returns the error
    /// when the failure is final.
    async fn wait_to_retry(
        &self,
        retries: &mut Retries,
        message: &ClientMessage,
        error: TransportError,
        reached: Reached,
    ) -> Result<(), TransportError> {
        let Some(wait) = retries.wait_before_next(message, &error, reached) else {
            return Err(error);
        };
        debug!(%error, ?wait, "sending the message again after a failure that may pass");
        tokio::time::sleep(wait).await;
        Ok(())
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
        TransportError::Status { status, body, .. } => {
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
            retry_after: None,
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
            retry_after: None,
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
            retry_after: None,
        }));
        assert_eq!(v["error"]["message"], "mcp-remote: the server answered HTTP 500 Internal Server Error");
        let v = answer(Ok(()));
        assert!(v["error"]["message"].as_str().unwrap().contains("without answering"));
        let v = answer(Err(TransportError::Unauthorized { www_authenticate: None, used: None }));
        assert_eq!(v["error"]["code"], code::UNAUTHORIZED);
    }

    /// What the fake transport does with the next message it is given.
    enum Step {
        /// Delivers this server message to the sink, then ends the exchange.
        Answer(&'static str),
        /// Ends the exchange without a word.
        Silence,
        /// Waits for the notify, then answers like [`Step::Answer`].
        HoldThenAnswer(Arc<tokio::sync::Notify>, &'static str),
        /// Accepts the message and then loses the stream that would carry the answer.
        AcceptThenLose,
        Expired,
        Unauthorized,
        InsufficientScope,
        /// 503, with this `Retry-After` in seconds: the server did not take the message on.
        Busy(Option<u64>),
        /// The response stream broke after the server may have acted on the message.
        Broken,
    }

    /// A transport that follows a script, one [`Step`] per message sent, and records what it saw.
    struct Scripted {
        /// Dropped on close, as a real transport drops its sink, so stdout can end.
        sink: std::sync::Mutex<Option<Arc<Router>>>,
        steps: std::sync::Mutex<std::collections::VecDeque<Step>>,
        sent: std::sync::Mutex<Vec<String>>,
        renewals: std::sync::Mutex<Vec<u64>>,
        generation: std::sync::atomic::AtomicU64,
    }

    impl Transport for Scripted {
        async fn send(&self, message: &ClientMessage) -> Sent {
            self.sent.lock().unwrap().push(String::from_utf8_lossy(&message.body).into_owned());
            let step = self.steps.lock().unwrap().pop_front().expect("a step for every message sent");
            let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
            match step {
                Step::Answer(answer) => {
                    self.deliver(answer);
                    Sent::Answered
                }
                Step::Silence => Sent::Answered,
                Step::HoldThenAnswer(release, answer) => {
                    release.notified().await;
                    self.deliver(answer);
                    Sent::Answered
                }
                Step::AcceptThenLose => {
                    let lost = CancellationToken::new();
                    lost.cancel();
                    Sent::Accepted { lost }
                }
                Step::Expired => Sent::NotDelivered(TransportError::SessionExpired { generation }),
                Step::Unauthorized => {
                    Sent::NotDelivered(TransportError::Unauthorized { www_authenticate: None, used: None })
                }
                Step::InsufficientScope => Sent::NotDelivered(TransportError::InsufficientScope {
                    www_authenticate: Some(r#"Bearer error="insufficient_scope", scope="more""#.into()),
                    used: None,
                }),
                Step::Busy(retry_after) => Sent::NotDelivered(TransportError::Status {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    body: Bytes::new(),
                    retry_after: retry_after.map(Duration::from_secs),
                }),
                Step::Broken => Sent::Failed(TransportError::StreamEnded),
            }
        }

        async fn renew_session(&self, expired: u64) -> Result<(), TransportError> {
            self.renewals.lock().unwrap().push(expired);
            self.generation.store(expired + 1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }

        async fn close(&self) {
            self.sink.lock().unwrap().take();
        }
    }

    impl Scripted {
        fn deliver(&self, answer: &'static str) {
            let sink = self.sink.lock().unwrap().clone().expect("not closed");
            transport::Sink::deliver(&*sink, Bytes::from_static(answer.as_bytes()), None);
        }
    }

    /// Sign-in that always succeeds, counting how often it was asked.
    #[derive(Default)]
    struct CountingAuth {
        recoveries: std::sync::atomic::AtomicUsize,
        step_ups: std::sync::atomic::AtomicUsize,
    }

    impl Credentials for CountingAuth {
        fn expiring(&self) -> bool {
            false
        }

        async fn recover(&self, _: &Challenge, _: Option<&HeaderValue>) -> Result<(), AuthError> {
            self.recoveries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }

        async fn step_up(&self, _: &Challenge, _: Option<&HeaderValue>) -> Result<(), AuthError> {
            self.step_ups.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }

        fn current(&self) -> Option<HeaderValue> {
            None
        }

        fn accepted(&self) {}
    }

    /// A proxy serving a client made of pipes, over a scripted transport.
    struct Harness {
        transport: Arc<Scripted>,
        auth: Option<Arc<CountingAuth>>,
        input: Option<tokio::io::DuplexStream>,
        output: tokio::io::Lines<tokio::io::BufReader<tokio::io::DuplexStream>>,
        served: tokio::task::JoinHandle<Result<(), RunError>>,
    }

    /// Lets the proxy share the scripted transport with the test that inspects it.
    impl Transport for Arc<Scripted> {
        fn send(&self, message: &ClientMessage) -> impl Future<Output = Sent> + Send {
            Scripted::send(self, message)
        }

        fn renew_session(&self, expired: u64) -> impl Future<Output = Result<(), TransportError>> + Send {
            Scripted::renew_session(self, expired)
        }

        fn close(&self) -> impl Future<Output = ()> + Send {
            Scripted::close(self)
        }
    }

    impl Harness {
        fn start(steps: Vec<Step>, with_auth: bool) -> Self {
            let (outbox, queue) = stdio::outbox();
            let router = Arc::new(Router::new(outbox, None));
            let transport = Arc::new(Scripted {
                sink: std::sync::Mutex::new(Some(Arc::clone(&router))),
                steps: std::sync::Mutex::new(steps.into()),
                sent: Default::default(),
                renewals: Default::default(),
                generation: 1.into(),
            });
            let auth = with_auth.then(|| Arc::new(CountingAuth::default()));
            let proxy = Proxy {
                transport: Arc::clone(&transport),
                router,
                auth: auth.clone(),
                give_up: CancellationToken::new(),
                retry_for: Duration::from_secs(10),
                tools: None,
                keep_alive: None,
            };
            let (input, proxy_input) = tokio::io::duplex(1 << 16);
            let (proxy_output, output) = tokio::io::duplex(1 << 16);
            let served = tokio::spawn(serve(
                proxy,
                queue,
                proxy_input,
                stdio::Output::writer(proxy_output),
                CancellationToken::new(),
            ));
            let output = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(output));
            Self { transport, auth, input: Some(input), output, served }
        }

        async fn send(&mut self, line: &str) {
            use tokio::io::AsyncWriteExt;
            let input = self.input.as_mut().expect("input open");
            input.write_all(line.as_bytes()).await.unwrap();
            input.write_all(b"\n").await.unwrap();
        }

        /// The next line the client reads, as JSON (bounded: a missing answer fails the test).
        async fn read(&mut self) -> serde_json::Value {
            let line = tokio::time::timeout(Duration::from_secs(5), self.output.next_line())
                .await
                .expect("an answer in time")
                .unwrap()
                .expect("a line");
            serde_json::from_str(&line).unwrap()
        }

        /// Closes stdin and returns every line still to come.
        async fn finish(mut self) -> Vec<serde_json::Value> {
            drop(self.input.take());
            let mut rest = Vec::new();
            while let Some(line) =
                tokio::time::timeout(Duration::from_secs(5), self.output.next_line()).await.unwrap().unwrap()
            {
                rest.push(serde_json::from_str(&line).unwrap());
            }
            self.served.await.unwrap().unwrap();
            rest
        }

        fn sent(&self) -> usize {
            self.transport.sent.lock().unwrap().len()
        }
    }

    const CALL: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#;
    const ANSWER: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"ok":true}}"#;

    #[tokio::test]
    async fn an_expired_session_is_renewed_once_and_the_request_retried() {
        let mut proxy = Harness::start(vec![Step::Expired, Step::Answer(ANSWER)], false);
        proxy.send(CALL).await;
        assert_eq!(proxy.read().await["result"]["ok"], true);
        assert_eq!(*proxy.transport.renewals.lock().unwrap(), vec![1]);
        assert_eq!(proxy.sent(), 2);
        assert!(proxy.finish().await.is_empty());

        let mut proxy = Harness::start(vec![Step::Expired, Step::Expired], false);
        proxy.send(CALL).await;
        let answer = proxy.read().await;
        assert_eq!(answer["id"], 1);
        assert_eq!(answer["error"]["message"], "mcp-remote: the server's session expired");
        assert_eq!(proxy.transport.renewals.lock().unwrap().len(), 1, "renewed once, not again");
        assert!(proxy.finish().await.is_empty());
    }

    #[tokio::test]
    async fn a_401_is_recovered_once_and_only_with_credentials() {
        let mut proxy = Harness::start(vec![Step::Unauthorized, Step::Answer(ANSWER)], true);
        proxy.send(CALL).await;
        assert_eq!(proxy.read().await["result"]["ok"], true);
        assert_eq!(proxy.auth.as_ref().unwrap().recoveries.load(std::sync::atomic::Ordering::SeqCst), 1);
        proxy.finish().await;

        let mut proxy = Harness::start(vec![Step::Unauthorized, Step::Unauthorized], true);
        proxy.send(CALL).await;
        let answer = proxy.read().await;
        assert_eq!(answer["error"]["code"], code::UNAUTHORIZED);
        assert_eq!(answer["error"]["data"]["httpStatus"], 401);
        assert_eq!(proxy.sent(), 2);
        proxy.finish().await;

        let mut proxy = Harness::start(vec![Step::Unauthorized], false);
        proxy.send(CALL).await;
        assert_eq!(proxy.read().await["error"]["code"], code::UNAUTHORIZED);
        assert_eq!(proxy.sent(), 1, "the user's own Authorization is not retried");
        proxy.finish().await;
    }

    #[tokio::test]
    async fn step_ups_stop_at_the_limit() {
        let steps = (0..=MAX_STEP_UPS).map(|_| Step::InsufficientScope).collect();
        let mut proxy = Harness::start(steps, true);
        proxy.send(CALL).await;
        let answer = proxy.read().await;
        assert_eq!(answer["error"]["data"]["httpStatus"], 403);
        assert_eq!(proxy.auth.as_ref().unwrap().step_ups.load(std::sync::atomic::Ordering::SeqCst), MAX_STEP_UPS);
        assert_eq!(proxy.sent(), MAX_STEP_UPS + 1);
        proxy.finish().await;
    }

    #[tokio::test]
    async fn a_reused_id_refuses_the_whole_message_and_strands_no_request() {
        let release = Arc::new(tokio::sync::Notify::new());
        let held = r#"{"jsonrpc":"2.0","id":5,"result":{"held":true}}"#;
        let fresh = r#"{"jsonrpc":"2.0","id":7,"result":{"fresh":true}}"#;
        let steps = vec![Step::HoldThenAnswer(Arc::clone(&release), held), Step::Answer(fresh)];
        let mut proxy = Harness::start(steps, false);
        proxy.send(r#"{"jsonrpc":"2.0","id":5,"method":"tools/call"}"#).await;
        proxy.send(r#"[{"jsonrpc":"2.0","id":7,"method":"ping"},{"jsonrpc":"2.0","id":5,"method":"ping"}]"#).await;
        let first = proxy.read().await;
        let second = proxy.read().await;
        assert_eq!(first["id"], 7);
        assert!(first["error"]["message"].as_str().unwrap().contains("reuses request id 5"), "{first}");
        assert_eq!(second["id"], 5);
        assert_eq!(second["error"]["message"], "request id already in use");
        // Id 7 was not left pending: it can be used again, and the held request still completes.
        proxy.send(r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#).await;
        assert_eq!(proxy.read().await["result"]["fresh"], true);
        release.notify_one();
        assert_eq!(proxy.read().await["result"]["held"], true);
        assert_eq!(proxy.sent(), 2, "the refused batch was not sent");
        assert!(proxy.finish().await.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_message_the_server_did_not_take_on_is_sent_again_as_it_asks() {
        let mut proxy = Harness::start(vec![Step::Busy(None), Step::Busy(Some(2)), Step::Answer(ANSWER)], false);
        let started = tokio::time::Instant::now();
        proxy.send(CALL).await;
        assert_eq!(proxy.read().await["result"]["ok"], true);
        assert_eq!(proxy.sent(), 3);
        assert_eq!(started.elapsed().as_secs(), 2, "Retry-After was not followed");
        // A server that wants more time than the window has is answered for at once.
        proxy.transport.steps.lock().unwrap().push_back(Step::Busy(Some(60)));
        proxy.send(CALL).await;
        let answer = proxy.read().await;
        assert_eq!(answer["error"]["data"]["httpStatus"], 503, "{answer}");
        assert_eq!(proxy.sent(), 4);
        assert!(proxy.finish().await.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn only_a_method_safe_to_repeat_is_sent_again_after_the_server_may_have_had_it() {
        const LIST: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;
        const LISTED: &str = r#"{"jsonrpc":"2.0","id":2,"result":{"tools":[]}}"#;
        let mut proxy = Harness::start(vec![Step::Broken, Step::Broken, Step::Answer(LISTED)], false);
        proxy.send(CALL).await;
        let answer = proxy.read().await;
        assert_eq!(answer["id"], 1);
        assert!(answer["error"]["message"].as_str().unwrap().contains("closed the response stream"), "{answer}");
        assert_eq!(proxy.sent(), 1, "a tool call was sent twice");
        proxy.send(LIST).await;
        assert_eq!(proxy.read().await["result"]["tools"], serde_json::json!([]));
        assert_eq!(proxy.sent(), 3);
        assert!(proxy.finish().await.is_empty());
    }

    #[tokio::test]
    async fn silence_and_a_lost_stream_each_get_an_error() {
        let mut proxy = Harness::start(vec![Step::Silence, Step::AcceptThenLose], false);
        proxy.send(CALL).await;
        assert!(proxy.read().await["error"]["message"].as_str().unwrap().contains("without answering"));
        proxy.send(CALL).await;
        let answer = proxy.read().await;
        assert_eq!(answer["id"], 1);
        assert!(answer["error"]["message"].as_str().unwrap().contains("closed before it answered"), "{answer}");
        assert!(proxy.finish().await.is_empty());
    }
}
