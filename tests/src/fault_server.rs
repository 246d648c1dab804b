//! OUR OWN FAULT SERVER — not a real MCP implementation. It exists only for faults real servers
//! cannot be made to produce on demand: a response stream cut off mid-way (then resumable, with a
//! replay of an event already delivered), the same cut in the middle of a large answer, a stream
//! cut off with nothing to resume from, a body that is not JSON, an HTTP 500, and a 202 to a
//! request. Everything else it answers minimally.
//!
//! The fault is chosen by the tool name of a `tools/call`: `drop_then_resume`,
//! `drop_large_then_resume` (its answer's text is [`LARGE_ANSWER_BYTES`] of `y`), `drop_no_id`,
//! `garbage`, `http500`, `accepted`, and `expire_session` (from then on the session is unknown
//! (404) and the GET stream of the next session never answers, not even with headers); any other
//! tool echoes its name. A batch array is answered
//! with an array (each request's method as its result).
//!
//! HTTP-level faults, chosen the same way or, for `resources/read` (which the proxy may send
//! again), by a `fault://NAME` URI: `http503_once` (503 without `Retry-After`, then the answer),
//! `http503_retry_after_once` (503 with `Retry-After: 1`), `http429_once` (429 with
//! `Retry-After: 1`), `http503_always` (503, `Retry-After: 1`, every time), `http502_html` (a
//! gateway's HTML error page, every time) and `http502_html_once`, `truncated_utf8` (a JSON body
//! cut in the middle of a character), `invalid_utf8` (a byte that is not UTF-8 inside a string),
//! `slow_headers` (the answer after [`SLOW_HEADERS`]) and `never` (no answer, not even headers).
//! `size` answers with the byte length of the request body (real servers refuse over 4 MiB).
//! [`FaultServer::times_asked`] tells when each was asked.
//!
//! Started with [`FaultServer::start_modern`] it also answers `server/discover` as a 2026-07-28
//! server, and has two faults of that revision: `drop_once` (the first call's stream is cut before
//! its answer; this revision has no resumption) and `mismatch_once` (the first call is refused with
//! `-32020`, a header mismatch), and `hang` (a stream that sends one notification and never ends;
//! [`FaultServer::hung_up`] resolves when the client closes it). It records the method and id of
//! every request.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// The size of the text in the answer of `drop_large_then_resume`.
pub const LARGE_ANSWER_BYTES: usize = 3 << 20;
/// How long `slow_headers` keeps the client waiting for the response headers.
pub const SLOW_HEADERS: std::time::Duration = std::time::Duration::from_secs(31);

#[derive(Default)]
struct Log {
    /// `Last-Event-ID` of each resumption GET.
    resumed_from: Vec<String>,
    deletes: usize,
    /// The id of the request that a resumption must answer, and whether its answer is large.
    pending_call: Option<(Value, bool)>,
    /// Speaks 2026-07-28 (answers `server/discover`).
    modern: bool,
    /// The method and id of each request.
    requests: Vec<(String, Value)>,
    /// The `-once` faults already given.
    given: Vec<String>,
    /// When each HTTP-level fault was asked for.
    asked: Vec<(String, std::time::Instant)>,
    /// Told each time a fault is asked for.
    asked_signal: Arc<tokio::sync::Notify>,
    /// The session's number; `expire_session` makes the server forget it.
    session: u32,
    session_expired: bool,
    /// GET streams hang before their headers.
    hang_get: bool,
    hung_up: Arc<tokio::sync::Notify>,
}

pub struct FaultServer {
    pub url: String,
    log: Arc<Mutex<Log>>,
    /// Told when a `hang` stream is closed by the client.
    hung_up: Arc<tokio::sync::Notify>,
    shutdown: CancellationToken,
}

impl FaultServer {
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// The fault server as a 2026-07-28 server (see the module's doc).
    pub async fn start_modern() -> Self {
        Self::start_with(true).await
    }

    async fn start_with(modern: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
        let hung_up = Arc::new(tokio::sync::Notify::new());
        let log: Arc<Mutex<Log>> =
            Arc::new(Mutex::new(Log { modern, hung_up: Arc::clone(&hung_up), session: 1, ..Log::default() }));
        let app = axum::Router::new()
            .route("/mcp", post(on_post).get(on_get).delete(on_delete))
            .layer(axum::extract::DefaultBodyLimit::disable())
            .with_state(Arc::clone(&log));
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _ =
                axum::serve(listener, app).with_graceful_shutdown(async move { stop.cancelled_owned().await }).await;
        });
        Self { url, log, hung_up, shutdown }
    }

    pub fn resumed_from(&self) -> Vec<String> {
        self.log.lock().unwrap().resumed_from.clone()
    }

    pub fn deletes(&self) -> usize {
        self.log.lock().unwrap().deletes
    }

    /// Resolves once the client has closed a `hang` stream.
    pub async fn hung_up(&self) {
        self.hung_up.notified().await
    }

    /// When the HTTP-level fault `name` was asked for, in order.
    pub fn times_asked(&self, name: &str) -> Vec<std::time::Instant> {
        self.log.lock().unwrap().asked.iter().filter(|(n, _)| n == name).map(|(_, at)| *at).collect()
    }

    /// Resolves once the fault `name` has been asked for.
    pub async fn asked(&self, name: &str) {
        let signal = Arc::clone(&self.log.lock().unwrap().asked_signal);
        loop {
            let told = signal.notified();
            tokio::pin!(told);
            told.as_mut().enable();
            if !self.times_asked(name).is_empty() {
                return;
            }
            told.await;
        }
    }

    /// The method and id of each request so far.
    pub fn requests(&self) -> Vec<(String, Value)> {
        self.log.lock().unwrap().requests.clone()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    json_response_in(1, status, body)
}

fn json_response_in(session: u32, status: StatusCode, body: Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("mcp-session-id", format!("fault-session-{session}"))
        .body(Body::from(body.to_string()))
        .expect("response")
}

fn sse_event(id: Option<&str>, data: &Value) -> Bytes {
    let id = id.map(|id| format!("id: {id}\n")).unwrap_or_default();
    Bytes::from(format!("{id}data: {data}\n\n"))
}

/// An SSE body that sends `chunks`, then breaks the connection (an error mid-body). The body
/// yields once before the error, so hyper flushes the chunks first.
fn cut_stream(chunks: Vec<Bytes>) -> Response {
    use futures_util::StreamExt;
    let data = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
    let cut = futures_util::stream::once(async {
        tokio::task::yield_now().await;
        Err(std::io::Error::other("fault: stream cut"))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(data.chain(cut)))
        .expect("response")
}

fn log_notification(text: &str) -> Value {
    json!({ "jsonrpc": "2.0", "method": "notifications/message", "params": { "level": "info", "data": text } })
}

async fn on_post(State(log): State<Arc<Mutex<Log>>>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return json_response(StatusCode::BAD_REQUEST, json!({ "error": "not json" }));
    };
    if let Value::Array(batch) = &message {
        // A 2025-03-26 batch: answer each request with its method name.
        let answers: Vec<Value> = batch
            .iter()
            .filter_map(|m| {
                Some(json!({ "jsonrpc": "2.0", "id": m.get("id")?, "result": { "method": m.get("method")? } }))
            })
            .collect();
        return json_response(StatusCode::OK, Value::Array(answers));
    }
    let id = message.get("id").cloned();
    let method = message.get("method").and_then(Value::as_str).unwrap_or("");
    let Some(id) = id else {
        return Response::builder().status(StatusCode::ACCEPTED).body(Body::empty()).expect("response");
    };
    let modern = {
        let mut log = log.lock().unwrap();
        log.requests.push((method.to_string(), id.clone()));
        log.modern
    };
    if modern {
        if let Some(response) = modern_fault(&log, method, &message, &id) {
            return response;
        }
    }
    let session = {
        let mut log = log.lock().unwrap();
        let sent = headers.get("mcp-session-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if method == "initialize" && log.session_expired {
            log.session += 1;
            log.session_expired = false;
        } else if log.session_expired && sent == format!("fault-session-{}", log.session) {
            return Response::builder().status(StatusCode::NOT_FOUND).body(Body::empty()).expect("response");
        }
        log.session
    };
    let fault = match method {
        "tools/call" => message.pointer("/params/name").and_then(Value::as_str),
        "resources/read" => {
            message.pointer("/params/uri").and_then(Value::as_str).and_then(|u| u.strip_prefix("fault://"))
        }
        _ => None,
    };
    if let Some(response) = http_fault(&log, fault.unwrap_or(""), &id).await {
        return response;
    }
    let result = match method {
        "resources/read" => json!({ "contents": [{ "uri": message.pointer("/params/uri"), "text": "read" }] }),
        "initialize" => json!({
            "protocolVersion": "2025-11-25",
            "capabilities": { "tools": {} },
            "serverInfo": { "name": "fault-server", "version": "0" }
        }),
        "tools/call" => {
            let tool = message.pointer("/params/name").and_then(Value::as_str).unwrap_or("");
            match tool {
                "drop_then_resume" => {
                    log.lock().unwrap().pending_call = Some((id, false));
                    return cut_stream(vec![
                        Bytes::from_static(b"retry: 50\n\n"),
                        sse_event(Some("e1"), &log_notification("before the cut")),
                    ]);
                }
                "drop_large_then_resume" => {
                    // The cut comes a third of the way into the answer's data line.
                    let answer = sse_event(Some("e2"), &large_answer(&id)).to_vec();
                    log.lock().unwrap().pending_call = Some((id, true));
                    return cut_stream(vec![
                        Bytes::from_static(b"retry: 50\n\n"),
                        sse_event(Some("e1"), &log_notification("before the cut")),
                        Bytes::from(answer[..answer.len() / 3].to_vec()),
                    ]);
                }
                "drop_no_id" => return cut_stream(vec![Bytes::from_static(b": nothing to resume from\n\n")]),
                "garbage" => {
                    return Response::builder()
                        .header("content-type", "application/json")
                        .body(Body::from("this is not json"))
                        .expect("response")
                }
                "http500" => {
                    return Response::builder()
                        .status(StatusCode::INTERNAL_SERVER_ERROR)
                        .header("content-type", "text/plain")
                        .body(Body::from("database on fire"))
                        .expect("response")
                }
                "accepted" => {
                    return Response::builder().status(StatusCode::ACCEPTED).body(Body::empty()).expect("response")
                }
                "expire_session" => {
                    let mut log = log.lock().unwrap();
                    (log.session_expired, log.hang_get) = (true, true);
                    json!({ "content": [{ "type": "text", "text": "expired" }] })
                }
                "size" => json!({ "content": [{ "type": "text", "text": body.len().to_string() }] }),
                other => json!({ "content": [{ "type": "text", "text": other }] }),
            }
        }
        _ => json!({}),
    };
    json_response_in(session, StatusCode::OK, json!({ "jsonrpc": "2.0", "id": id, "result": result }))
}

/// The HTTP-level faults (see the module's doc); `None` for any other name, and for a `_once`
/// fault already given.
async fn http_fault(log: &Mutex<Log>, name: &str, id: &Value) -> Option<Response> {
    let status_with = |status: StatusCode, retry_after: Option<&str>, content_type: &str, body: &'static str| {
        let mut response = Response::builder().status(status).header("content-type", content_type);
        if let Some(retry_after) = retry_after {
            response = response.header("retry-after", retry_after);
        }
        Some(response.body(Body::from(body)).expect("response"))
    };
    const GATEWAY_PAGE: &str =
        "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>";
    let first = {
        let mut log = log.lock().unwrap();
        let first = !log.given.iter().any(|given| given == name);
        if name.starts_with("http") || matches!(name, "truncated_utf8" | "invalid_utf8" | "slow_headers" | "never") {
            log.asked.push((name.to_string(), std::time::Instant::now()));
            log.asked_signal.notify_waiters();
            log.given.push(name.to_string());
        }
        first
    };
    let text = |bytes: &[u8]| {
        let mut body =
            format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[{{"type":"text","text":""#).into_bytes();
        body.extend_from_slice(bytes);
        body
    };
    match name {
        "http503_once" if first => status_with(StatusCode::SERVICE_UNAVAILABLE, None, "text/plain", "restarting"),
        "http503_retry_after_once" if first => {
            status_with(StatusCode::SERVICE_UNAVAILABLE, Some("1"), "text/plain", "restarting")
        }
        "http429_once" if first => status_with(StatusCode::TOO_MANY_REQUESTS, Some("1"), "text/plain", "slow down"),
        "http503_always" => {
            status_with(StatusCode::SERVICE_UNAVAILABLE, Some("1"), "text/plain", "down for maintenance")
        }
        "http502_html" => status_with(StatusCode::BAD_GATEWAY, None, "text/html", GATEWAY_PAGE),
        "http502_html_once" if first => status_with(StatusCode::BAD_GATEWAY, None, "text/html", GATEWAY_PAGE),
        // "café" cut between the two bytes of "é", and the message never closed.
        "truncated_utf8" => Some(json_bytes(text(b"caf\xc3"))),
        "invalid_utf8" => {
            let mut body = text(b"bad \xff byte");
            body.extend_from_slice(br#""}]}}"#);
            Some(json_bytes(body))
        }
        "slow_headers" => {
            tokio::time::sleep(SLOW_HEADERS).await;
            None
        }
        "never" => std::future::pending().await,
        _ => None,
    }
}

fn json_bytes(body: Vec<u8>) -> Response {
    Response::builder().header("content-type", "application/json").body(Body::from(body)).expect("response")
}

/// The 2026-07-28 answers and faults of [`FaultServer::start_modern`]; `None` for the rest.
fn modern_fault(log: &Mutex<Log>, method: &str, message: &Value, id: &Value) -> Option<Response> {
    let tool = message.pointer("/params/name").and_then(Value::as_str).unwrap_or("");
    let first_time = |fault: &str| {
        let mut log = log.lock().unwrap();
        let first = !log.given.iter().any(|given| given == fault);
        log.given.push(fault.to_string());
        first
    };
    match (method, tool) {
        ("server/discover", _) => Some(json_response(
            StatusCode::OK,
            json!({ "jsonrpc": "2.0", "id": id, "result": { "resultType": "complete",
                "supportedVersions": ["2026-07-28"], "capabilities": { "tools": {} },
                "_meta": { "io.modelcontextprotocol/serverInfo": { "name": "fault-server", "version": "0" } } } }),
        )),
        ("tools/call", "drop_once") if first_time("drop_once") => {
            Some(cut_stream(vec![sse_event(None, &log_notification("before the cut"))]))
        }
        ("tools/call", "hang") => Some(hanging_stream(Arc::clone(&log.lock().unwrap().hung_up))),
        ("tools/call", "mismatch_once") if first_time("mismatch_once") => Some(json_response(
            StatusCode::BAD_REQUEST,
            json!({ "jsonrpc": "2.0", "id": id, "error": { "code": -32020, "message": "Header mismatch: Mcp-Param-Region" } }),
        )),
        _ => None,
    }
}

/// An SSE body with one notification that never ends; `hung_up` is told when it is dropped (the
/// client closed the connection).
fn hanging_stream(hung_up: Arc<tokio::sync::Notify>) -> Response {
    struct Tell(Arc<tokio::sync::Notify>);
    impl Drop for Tell {
        fn drop(&mut self) {
            self.0.notify_one();
        }
    }
    use futures_util::StreamExt;
    let first = futures_util::stream::iter([Ok::<_, std::io::Error>(sse_event(None, &log_notification("hanging")))]);
    let tell = Tell(hung_up);
    let forever = futures_util::stream::once(async move {
        let _tell = tell;
        std::future::pending::<()>().await;
        Ok(Bytes::new())
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(first.chain(forever)))
        .expect("response")
}

/// Resumption: replays the event already delivered (as some servers do), then the answer.
async fn on_get(State(log): State<Arc<Mutex<Log>>>, headers: HeaderMap) -> Response {
    if log.lock().unwrap().hang_get {
        std::future::pending::<()>().await;
    }
    let Some(last) = headers.get("last-event-id").and_then(|v| v.to_str().ok()) else {
        return Response::builder().status(StatusCode::METHOD_NOT_ALLOWED).body(Body::empty()).expect("response");
    };
    let pending = {
        let mut log = log.lock().unwrap();
        log.resumed_from.push(last.to_string());
        log.pending_call.take()
    };
    let Some((id, large)) = pending else {
        return Response::builder().status(StatusCode::NOT_FOUND).body(Body::empty()).expect("response");
    };
    let answer = if large {
        large_answer(&id)
    } else {
        json!({ "jsonrpc": "2.0", "id": id, "result": { "content": [{ "type": "text", "text": "resumed" }] } })
    };
    let mut body = Vec::new();
    body.extend_from_slice(&sse_event(Some("e1"), &log_notification("before the cut")));
    body.extend_from_slice(&sse_event(Some("e2"), &answer));
    body.extend_from_slice(&sse_event(Some("e2"), &answer));
    Response::builder().header("content-type", "text/event-stream").body(Body::from(body)).expect("response")
}

fn large_answer(id: &Value) -> Value {
    let text = "y".repeat(LARGE_ANSWER_BYTES);
    json!({ "jsonrpc": "2.0", "id": id, "result": { "content": [{ "type": "text", "text": text }] } })
}

async fn on_delete(State(log): State<Arc<Mutex<Log>>>) -> StatusCode {
    log.lock().unwrap().deletes += 1;
    StatusCode::OK
}
