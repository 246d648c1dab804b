//! A real MCP server built on `rmcp` (the official Rust SDK), served over Streamable HTTP on
//! loopback (plain HTTP, or HTTPS offering HTTP/1.1 or HTTP/2 too): stateful with SSE, stateless,
//! or stateless with JSON responses. rmcp 3.11 serves the stateless 2026-07-28 revision beside the
//! 2025 ones; in [`Mode::Stateful`] requests of that
//! revision are turned away as a 2025-era server turns them away (400, a `-32000` error naming
//! the version), so the 2025 session machinery is what gets tested there.
//!
//! Tools: `echo` (returns `message`), `slow` (sleeps `ms`), `blob` (a text result of `bytes`
//! bytes), `notify` (sends `count` log notifications, which rmcp routes to the standalone GET
//! stream), `ask` (sends the client a
//! `roots/list` or `sampling/createMessage` request and returns the answer). Every HTTP request is
//! recorded (method, HTTP version and headers) so tests can check what the proxy sent.

#![allow(deprecated)] // rmcp 3 marks logging, roots and sampling deprecated (SEP-2577); they still work.

use axum::response::IntoResponse;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, CreateMessageRequestParams, Implementation, LoggingLevel,
    LoggingMessageNotificationParam, SamplingMessage, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{SessionManager, StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{tool, tool_handler, tool_router, ErrorData as McpError, Peer, RoleServer, ServerHandler};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct EchoArgs {
    pub message: String,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct SlowArgs {
    pub ms: u64,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct BlobArgs {
    pub bytes: usize,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct NotifyArgs {
    pub count: u32,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct AskArgs {
    /// "roots" (default) or "sampling"
    pub kind: Option<String>,
}

#[derive(Clone)]
pub struct TestServer {
    tool_router: ToolRouter<Self>,
}

impl Default for TestServer {
    fn default() -> Self {
        Self { tool_router: Self::tool_router() }
    }
}

fn text(s: impl Into<String>) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(s)])
}

fn internal<E: std::fmt::Display>(e: E) -> McpError {
    McpError::internal_error(e.to_string(), None)
}

#[tool_router]
impl TestServer {
    #[tool(description = "Echo back `message`")]
    async fn echo(&self, Parameters(args): Parameters<EchoArgs>) -> Result<CallToolResult, McpError> {
        Ok(text(args.message))
    }

    #[tool(description = "Sleep `ms` milliseconds, then answer")]
    async fn slow(
        &self,
        Parameters(args): Parameters<SlowArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(args.ms)) => Ok(text(format!("slept {}ms", args.ms))),
            () = context.ct.cancelled() => Err(McpError::internal_error("cancelled", None)),
        }
    }

    #[tool(description = "Return a text result of `bytes` bytes")]
    async fn blob(&self, Parameters(args): Parameters<BlobArgs>) -> Result<CallToolResult, McpError> {
        Ok(text("x".repeat(args.bytes)))
    }

    #[tool(description = "Send `count` logging notifications")]
    async fn notify(
        &self,
        Parameters(args): Parameters<NotifyArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        for i in 0..args.count {
            context
                .peer
                .notify_logging_message(LoggingMessageNotificationParam::new(
                    LoggingLevel::Info,
                    serde_json::json!({ "i": i }),
                ))
                .await
                .map_err(internal)?;
        }
        Ok(text(format!("sent {}", args.count)))
    }

    #[tool(description = "Ask the client for its roots or a sampling result")]
    async fn ask(
        &self,
        Parameters(args): Parameters<AskArgs>,
        peer: Peer<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let answer = tokio::time::timeout(Duration::from_secs(20), async {
            match args.kind.as_deref() {
                Some("sampling") => peer
                    .create_message(CreateMessageRequestParams::new(vec![SamplingMessage::user_text("ping?")], 64))
                    .await
                    .map(|r| serde_json::to_string(&r).unwrap_or_default()),
                _ => peer.list_roots().await.map(|r| serde_json::to_string(&r).unwrap_or_default()),
            }
        })
        .await
        .map_err(internal)?
        .map_err(internal)?;
        Ok(text(answer))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for TestServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_logging().build())
            .with_server_info(Implementation::new("rmcp-test-server", "0.1.0"))
    }
}

/// How the server keeps state and answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// 2025 only: sessions, SSE responses with priming events, a GET stream.
    Stateful,
    /// No sessions; SSE responses. Speaks 2026-07-28 too.
    Stateless,
    /// No sessions; plain `application/json` responses. Speaks 2026-07-28 too.
    StatelessJson,
}

/// One HTTP request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// HTTP/1.1 or HTTP/2.
    pub version: axum::http::Version,
    pub headers: axum::http::HeaderMap,
}

pub struct RunningServer {
    pub url: String,
    pub sessions: Arc<LocalSessionManager>,
    pub requests: Arc<Mutex<Vec<Seen>>>,
    /// The TLS handshakes of an HTTPS server (none over plain HTTP).
    pub tls_handshakes: Arc<TlsHandshakes>,
    shutdown: CancellationToken,
}

/// How many TLS handshakes the server completed, by kind: a resumed one skips the certificate
/// and its signature.
#[derive(Debug, Default)]
pub struct TlsHandshakes {
    pub full: AtomicUsize,
    pub resumed: AtomicUsize,
}

impl RunningServer {
    /// Ids of the sessions alive now.
    pub async fn session_ids(&self) -> Vec<String> {
        self.sessions.sessions.read().await.keys().map(|id| id.to_string()).collect()
    }

    /// Ends every session, as a server restart or an idle timeout would.
    pub async fn expire_sessions(&self) {
        let ids: Vec<_> = self.sessions.sessions.read().await.keys().cloned().collect();
        for id in ids {
            self.sessions.close_session(&id).await.expect("close session");
        }
    }

    /// Closes every session's standalone GET stream (the session lives on), telling the client
    /// to reconnect after `retry`.
    pub async fn close_get_streams(&self, retry: Duration) {
        for handle in self.sessions.sessions.read().await.values() {
            handle.close_standalone_sse_stream(Some(retry)).await.expect("close GET stream");
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Starts the server on `127.0.0.1:0`; it stops when the returned value is dropped.
pub async fn start(mode: Mode) -> RunningServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    start_on(mode, listener).await
}

pub async fn start_on(mode: Mode, listener: tokio::net::TcpListener) -> RunningServer {
    let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
    // Without TCP_NODELAY, an SSE answer written in pieces (priming event, then the response)
    // meets the client's delayed ACK and every call takes 40 ms, on any client.
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
        let _ = stream.set_nodelay(true);
    });
    serve(mode, url, listener, Arc::default())
}

/// Starts the server over HTTPS on `127.0.0.1:0` with `tls` (its certificate, and whether ALPN
/// offers HTTP/2); it stops when the returned value is dropped.
pub async fn start_tls(mode: Mode, tls: Arc<rustls::ServerConfig>) -> RunningServer {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("https://{}/mcp", tcp.local_addr().expect("addr"));
    let handshakes = Arc::<TlsHandshakes>::default();
    let listener = TlsListener { tcp, acceptor: TlsAcceptor::from(tls), handshakes: Arc::clone(&handshakes) };
    serve(mode, url, listener, handshakes)
}

fn serve<L>(mode: Mode, url: String, listener: L, tls_handshakes: Arc<TlsHandshakes>) -> RunningServer
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let shutdown = CancellationToken::new();
    let sessions = Arc::new(LocalSessionManager::default());
    let base = StreamableHttpServerConfig::default()
        .with_sse_keep_alive(Some(Duration::from_secs(15)))
        .with_cancellation_token(shutdown.child_token());
    let config = match mode {
        Mode::Stateful => base,
        Mode::Stateless => base.with_legacy_session_mode(false),
        Mode::StatelessJson => base.with_legacy_session_mode(false).with_json_response(true),
    };
    let service = StreamableHttpService::new(|| Ok(TestServer::default()), Arc::clone(&sessions), config);
    let requests: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let recorder = Arc::clone(&requests);
    let only_2025 = mode == Mode::Stateful;
    let app = axum::Router::new().nest_service("/mcp", service).layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let recorder = Arc::clone(&recorder);
            async move {
                recorder.lock().unwrap().push(Seen {
                    method: request.method().to_string(),
                    version: request.version(),
                    headers: request.headers().clone(),
                });
                let modern = request.headers().get("mcp-protocol-version").is_some_and(|v| v == "2026-07-28");
                if only_2025 && modern {
                    let body = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Bad Request: Unsupported protocol version: 2026-07-28"}}"#;
                    return (axum::http::StatusCode::BAD_REQUEST, [("content-type", "application/json")], body)
                        .into_response();
                }
                next.run(request).await
            }
        },
    ));
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).with_graceful_shutdown(async move { stop.cancelled_owned().await }).await;
    });
    RunningServer { url, sessions, requests, tls_handshakes, shutdown }
}

/// TCP connections with TCP_NODELAY, each through a TLS handshake before it is served. A
/// handshake that fails ends that connection only.
pub struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: TlsAcceptor,
    handshakes: Arc<TlsHandshakes>,
}

impl TlsListener {
    /// Serves `tcp` over TLS with `tls`, for any axum app of the tests.
    pub fn new(tcp: tokio::net::TcpListener, tls: Arc<rustls::ServerConfig>) -> Self {
        Self { tcp, acceptor: TlsAcceptor::from(tls), handshakes: Arc::default() }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            if let Ok(tls) = self.acceptor.accept(stream).await {
                let counter = match tls.get_ref().1.handshake_kind() {
                    Some(rustls::HandshakeKind::Resumed) => &self.handshakes.resumed,
                    _ => &self.handshakes.full,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
