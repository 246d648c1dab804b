//! OUR OWN LEGACY HTTP+SSE SERVER: not a real MCP implementation. It exists for one fault no real
//! server can be made to produce on demand: the answer to a POST arrives on the event stream
//! before the POST's own `202 Accepted`, which it holds until the client's next POST arrives (or
//! [`HOLD`] passes). Real servers do this only by chance of scheduling (seen with the Python SDK
//! and the Windows build under Wine). Otherwise it speaks the 2024-11-05 transport minimally:
//! `POST /sse` is 405 (no Streamable HTTP), `GET /sse` opens the stream and names `/messages` as
//! its endpoint, `initialize` gets a result, `tools/call` echoes its `message` argument, other
//! requests get an empty result. [`SlowAcceptSse::requests`] lists every request as "METHOD path".

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

/// The longest a POST's 202 waits for the next POST.
pub const HOLD: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<String>>,
    stream: Mutex<Option<mpsc::UnboundedSender<Bytes>>>,
    /// Told when a POST arrives, which releases the POST held before it.
    next_post: Notify,
}

pub struct SlowAcceptSse {
    /// The URL a client is given: `http://127.0.0.1:PORT/sse`.
    pub url: String,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
}

impl SlowAcceptSse {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/sse", listener.local_addr().expect("addr"));
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new()
            .route("/sse", get(on_get).post(on_sse_post))
            .route("/messages", post(on_message))
            .with_state(Arc::clone(&shared));
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await;
        });
        Self { url, shared, shutdown }
    }

    /// Every request so far, in order, as "GET /sse", "POST /messages initialize", and so on.
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests.lock().unwrap().clone()
    }
}

impl Drop for SlowAcceptSse {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn event(name: &str, data: &str) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

async fn on_sse_post(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.requests.lock().unwrap().push("POST /sse".into());
    shared.next_post.notify_waiters();
    StatusCode::METHOD_NOT_ALLOWED
}

async fn on_get(State(shared): State<Arc<Shared>>) -> Response {
    shared.requests.lock().unwrap().push("GET /sse".into());
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(event("endpoint", "/messages")).unwrap();
    *shared.stream.lock().unwrap() = Some(tx);
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
    });
    Response::builder().header("content-type", "text/event-stream").body(Body::from_stream(body)).expect("response")
}

async fn on_message(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let message: Value = serde_json::from_slice(&body).unwrap_or_default();
    let method = message["method"].as_str().unwrap_or("(answer)").to_owned();
    shared.requests.lock().unwrap().push(format!("POST /messages {method}"));
    // Release the POST held before this one, then hold this one until the next.
    shared.next_post.notify_waiters();
    let next_post = shared.next_post.notified();
    tokio::pin!(next_post);
    next_post.as_mut().enable();
    if let Some(id) = message.get("id").filter(|_| message.get("method").is_some()) {
        let result = match method.as_str() {
            "initialize" => json!({
                "protocolVersion": message["params"]["protocolVersion"],
                "capabilities": { "tools": {} },
                "serverInfo": { "name": "slow-accept-sse", "version": "0" },
            }),
            "tools/call" => json!({
                "content": [{ "type": "text", "text": message["params"]["arguments"]["message"] }],
            }),
            _ => json!({}),
        };
        let answer = json!({ "jsonrpc": "2.0", "id": id, "result": result }).to_string();
        if let Some(stream) = shared.stream.lock().unwrap().as_ref() {
            let _ = stream.send(event("message", &answer));
        }
    }
    let _ = tokio::time::timeout(HOLD, next_post).await;
    StatusCode::ACCEPTED
}
