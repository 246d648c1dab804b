//! OUR OWN FORWARD PROXY — a stand-in for the HTTP proxy a company network has, only so a test
//! can give the MCP server a public-looking name: every request sent through it (absolute-form
//! `http://<any name>/…`) goes to one loopback origin. With `HTTP_PROXY` pointing here, a server
//! at `http://mcp.hostile.test/mcp` is, to the proxy under test, a server on the internet, while
//! URLs it names on loopback are reached directly (loopback is never proxied) and are what the
//! fetch policy must refuse. Plain http only; bodies are buffered (the peers behind it send small
//! JSON answers).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Headers that belong to one hop, not to the request.
const HOP_BY_HOP: &[&str] =
    &["connection", "proxy-connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host"];

pub struct ForwardProxy {
    /// `http://127.0.0.1:<port>`, for `HTTP_PROXY`.
    pub url: String,
    /// Requests that went through.
    pub forwarded: Arc<AtomicUsize>,
    shutdown: CancellationToken,
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

struct Upstream {
    origin: String,
    client: reqwest::Client,
    forwarded: Arc<AtomicUsize>,
}

impl ForwardProxy {
    /// Forwards everything to `origin` (`http://127.0.0.1:<port>`).
    pub async fn start(origin: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let upstream = Arc::new(Upstream {
            origin: origin.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder().no_proxy().build().expect("client"),
            forwarded: Arc::clone(&forwarded),
        });
        let app = axum::Router::new().fallback(forward).with_state(upstream);
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _ =
                axum::serve(listener, app).with_graceful_shutdown(async move { stop.cancelled_owned().await }).await;
        });
        Self { url, forwarded, shutdown }
    }
}

async fn forward(
    State(upstream): State<Arc<Upstream>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    upstream.forwarded.fetch_add(1, Ordering::SeqCst);
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = upstream.client.request(method, format!("{}{path}", upstream.origin)).body(body);
    // The server behind learns the name the request was for.
    if let Some(host) = uri
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| headers.get("host").and_then(|h| h.to_str().ok()).map(str::to_owned))
    {
        request = request.header("x-forwarded-host", host);
    }
    for (name, value) in &headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            request = request.header(name, value);
        }
    }
    let Ok(answer) = request.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let mut back = HeaderMap::new();
    for (name, value) in answer.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) && name != "content-length" {
            back.insert(name, value.clone());
        }
    }
    let body = answer.bytes().await.unwrap_or_default();
    (status, back, body).into_response()
}
