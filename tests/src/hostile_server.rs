//! OUR OWN HOSTILE SERVER: not a real MCP implementation. A malicious or flooding server is a
//! fault no real server produces on demand; this one plays it, to check that what the proxy holds
//! on a server's behalf stays within its budgets and that only valid JSON reaches stdout.
//!
//! It speaks just enough Streamable HTTP (`initialize`, 202 to notifications, 405 to GET) and
//! picks its attack by the tool name of a `tools/call`:
//! - `flood` (arguments `count`, `pad`): an event stream of `count` notifications whose `data`
//!   is `<n>:` and `pad` bytes of `x` ([`notification`] spells each line), then the answer. It is
//!   written through a one-chunk channel, so the server knows how far the client let it get: it
//!   reports [`Report::Stalled`] when a write has waited [`STALL`] (the client stopped reading
//!   and backpressure reached the server) and [`Report::Finished`] when everything went out.
//! - `invalid_large` (arguments `as`: `json` or `sse`, `fault`: `control` or `literal`): a 1 MB
//!   answer that is not JSON: a raw 0x01 inside a string, or `"a": tru`.
//! - `long_comment`: an event stream whose first line is a comment of 1 MiB, then the answer.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long one write of a flood may wait before the server reports that it is stalled.
pub const STALL: Duration = Duration::from_secs(2);
/// The size of an `invalid_large` answer.
pub const INVALID_ANSWER_BYTES: usize = 1 << 20;
/// The pieces a flood's padding goes out in.
const PIECE: usize = 1 << 20;
/// Small events are gathered into chunks of about this size.
const GATHER: usize = 64 * 1024;

/// How far a flood got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// A write waited [`STALL`] after `sent` bytes of the stream had gone out.
    Stalled { sent: u64 },
    /// All `sent` bytes went out.
    Finished { sent: u64 },
}

/// The stdout line of the flood's notification `n` with `pad` bytes of padding, as the server sends
/// it (without the line end): the part before the padding, and the part after it.
pub fn notification(n: u64) -> (String, &'static str) {
    (format!(r#"{{"jsonrpc":"2.0","method":"notifications/message","params":{{"level":"info","data":"{n}:"#), r#""}}"#)
}

pub struct HostileServer {
    pub url: String,
    reports: tokio::sync::Mutex<mpsc::UnboundedReceiver<Report>>,
    shutdown: CancellationToken,
}

impl HostileServer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
        let (tx, rx) = mpsc::unbounded_channel();
        let app = axum::Router::new()
            .route(
                "/mcp",
                post(on_post).get(|| async { StatusCode::METHOD_NOT_ALLOWED }).delete(|| async { StatusCode::OK }),
            )
            .layer(axum::extract::DefaultBodyLimit::disable())
            .with_state(tx);
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _ =
                axum::serve(listener, app).with_graceful_shutdown(async move { stop.cancelled_owned().await }).await;
        });
        Self { url, reports: tokio::sync::Mutex::new(rx), shutdown }
    }

    /// The next report of a flood: stalled, or finished.
    pub async fn next_report(&self) -> Report {
        self.reports.lock().await.recv().await.expect("the server is running")
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn answer(id: &Value, text: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": { "content": [{ "type": "text", "text": text }] } })
}

fn event_stream(body: Body) -> Response {
    Response::builder().header("content-type", "text/event-stream").body(body).expect("response")
}

async fn on_post(State(reports): State<mpsc::UnboundedSender<Report>>, body: Bytes) -> Response {
    let message: Value = serde_json::from_slice(&body).unwrap_or_default();
    let Some(id) = message.get("id").cloned() else {
        return Response::builder().status(StatusCode::ACCEPTED).body(Body::empty()).expect("response");
    };
    let result = match message.get("method").and_then(Value::as_str) {
        Some("initialize") => json!({
            "jsonrpc": "2.0", "id": id,
            "result": {
                "protocolVersion": "2025-11-25",
                "capabilities": { "tools": {} },
                "serverInfo": { "name": "hostile-server", "version": "0" }
            }
        }),
        Some("tools/call") => {
            let arguments = message.pointer("/params/arguments").cloned().unwrap_or_default();
            let number = |name: &str| arguments.get(name).and_then(Value::as_u64).unwrap_or(0);
            match message.pointer("/params/name").and_then(Value::as_str).unwrap_or("") {
                "flood" => return flood(id, number("count"), number("pad") as usize, reports),
                "invalid_large" => return invalid_large(&id, &arguments),
                "long_comment" => {
                    let comment = format!(": {}\n\ndata: {}\n\n", "c".repeat(1 << 20), answer(&id, "after"));
                    return event_stream(Body::from(comment));
                }
                other => answer(&id, other),
            }
        }
        _ => json!({ "jsonrpc": "2.0", "id": id, "result": {} }),
    };
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from(result.to_string()))
        .expect("response")
}

/// An answer of [`INVALID_ANSWER_BYTES`] with a fault near its end.
fn invalid_large(id: &Value, arguments: &Value) -> Response {
    let fault = match arguments.get("fault").and_then(Value::as_str) {
        Some("control") => "\u{1}\"",
        _ => "\",\"a\": tru",
    };
    let text = format!(
        r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[{{"type":"text","text":"{}{fault}}}]}}}}"#,
        "y".repeat(INVALID_ANSWER_BYTES)
    );
    if arguments.get("as").and_then(Value::as_str) == Some("sse") {
        return event_stream(Body::from(format!("data: {text}\n\n")));
    }
    Response::builder().header("content-type", "application/json").body(Body::from(text)).expect("response")
}

/// The `flood` stream; see the module's doc.
fn flood(id: Value, count: u64, pad: usize, reports: mpsc::UnboundedSender<Report>) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(1);
    tokio::spawn(async move {
        let padding = Bytes::from(vec![b'x'; PIECE.min(pad.max(1))]);
        let mut writer = FloodWriter { tx, sent: 0, stalled: false, reports: reports.clone(), gathered: Vec::new() };
        for n in 0..count {
            let (head, tail) = notification(n);
            writer.put(format!("data: {head}").as_bytes()).await?;
            let mut left = pad;
            while left > 0 {
                let piece = left.min(padding.len());
                writer.put_shared(padding.slice(..piece)).await?;
                left -= piece;
            }
            writer.put(format!("{tail}\n\n").as_bytes()).await?;
        }
        writer.put(format!("data: {}\n\n", answer(&id, "flooded")).as_bytes()).await?;
        writer.flush().await?;
        let _ = reports.send(Report::Finished { sent: writer.sent });
        Some(())
    });
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
    });
    event_stream(Body::from_stream(chunks))
}

/// Writes a flood through its one-chunk channel, gathering small pieces, and reports the first
/// write that waits [`STALL`].
struct FloodWriter {
    tx: mpsc::Sender<Bytes>,
    sent: u64,
    stalled: bool,
    reports: mpsc::UnboundedSender<Report>,
    gathered: Vec<u8>,
}

impl FloodWriter {
    async fn put(&mut self, bytes: &[u8]) -> Option<()> {
        self.gathered.extend_from_slice(bytes);
        if self.gathered.len() >= GATHER {
            self.flush().await?;
        }
        Some(())
    }

    async fn put_shared(&mut self, bytes: Bytes) -> Option<()> {
        if bytes.len() < GATHER {
            return self.put(&bytes).await;
        }
        self.flush().await?;
        self.send(bytes).await
    }

    async fn flush(&mut self) -> Option<()> {
        if self.gathered.is_empty() {
            return Some(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.gathered));
        self.send(chunk).await
    }

    /// Sends one chunk; `None` once the client has gone.
    async fn send(&mut self, chunk: Bytes) -> Option<()> {
        let permit = match tokio::time::timeout(STALL, self.tx.reserve()).await {
            Ok(permit) => permit.ok()?,
            Err(_) => {
                if !self.stalled {
                    self.stalled = true;
                    let _ = self.reports.send(Report::Stalled { sent: self.sent });
                }
                self.tx.reserve().await.ok()?
            }
        };
        self.sent += chunk.len() as u64;
        permit.send(chunk);
        Some(())
    }
}
