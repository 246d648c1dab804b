//! The stateless 2026-07-28 revision, bridged to the 2025-era client Claude Desktop is.
//!
//! There is no session: every request is its own POST, carrying the client's `_meta` (see
//! [`bridge`]) and the headers that mirror its body (`MCP-Protocol-Version`, `Mcp-Method`,
//! `Mcp-Name`, `Mcp-Param-*`, see [`headers`]). The 2025 handshake is answered here from
//! `server/discover`; `ping` and `logging/setLevel` are answered here too (the level travels with
//! each later request). A result that needs input (`resultType: "input_required"`) becomes the
//! client's own elicitation, sampling or roots request, and the original request is sent again
//! with the answers, for a bounded number of rounds. A `-32020` header mismatch refetches the tool
//! list and retries once; a `-32022` retries once with a common version. A broken response stream
//! re-issues the request once (this revision has no resumption). Cancellation is dropping the
//! exchange, which closes its stream. The session's GET stream and `resources/subscribe` are
//! made from `subscriptions/listen` ([`listen`]).

mod bridge;
mod headers;
mod listen;

use super::body::{self, Received};
use super::http::{Endpoint, Refusal, ACCEPT_POST, APPLICATION_JSON};
use super::sse::SseParser;
use super::{Sent, Sink, Transport, TransportError};
use crate::jsonrpc::{self, ClientMessage, Method, ServerMessage};
use bridge::{ClientSide, ResultHead, MODERN_VERSION};
use bytes::Bytes;
use headers::ParamHeader;
use http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::oneshot;
use tracing::{debug, warn};

const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");
/// How long `notifications/initialized` waits for the server to acknowledge the listen.
const LISTEN_WAIT: std::time::Duration = std::time::Duration::from_secs(3);
/// Rounds of input one request may ask for before it is answered with an error.
const MAX_INPUT_ROUNDS: usize = 8;

/// A 2026-07-28 connection to one server; cheap to clone.
#[derive(Clone)]
pub struct Stateless {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Endpoint,
    sink: Arc<dyn Sink>,
    client: RwLock<ClientSide>,
    /// The server's `server/discover` result.
    discovered: Mutex<Option<Box<RawValue>>>,
    /// Each tool's parameters mirrored into headers, from the last `tools/list`.
    tools: Mutex<HashMap<String, Arc<[ParamHeader]>>>,
    /// Requests sent to the client for a server's input, by raw id, and who waits for the answer.
    asked: Mutex<HashMap<Bytes, oneshot::Sender<Bytes>>>,
    listening: Mutex<listen::Listening>,
    next_id: AtomicU64,
}

/// What `server/discover` says of a server.
pub enum Probe {
    /// It speaks 2026-07-28.
    Modern,
    /// It does not: this is why (for the log).
    Legacy(TransportError),
}

/// Why an exchange gave no usable answer, or the answer it gave.
enum Reply {
    Answer(Received),
    /// The stream ended before the answer.
    Broken,
}

impl Stateless {
    pub fn new(endpoint: Endpoint, sink: Arc<dyn Sink>) -> Self {
        Self {
            inner: Arc::new(Inner {
                endpoint,
                sink,
                client: RwLock::new(ClientSide::default()),
                discovered: Mutex::new(None),
                tools: Mutex::new(HashMap::new()),
                asked: Mutex::new(HashMap::new()),
                listening: Mutex::new(listen::Listening::default()),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// Asks the server with `server/discover` whether it speaks 2026-07-28. For a 2025-era client
    /// the question is asked as its `initialize` describes it; a modern client's own discover is
    /// sent as it is, and on a modern server its answer goes to the client. A sign-in the server
    /// wants is an error, not an answer.
    pub async fn probe(&self, first: &ClientMessage) -> Result<Probe, TransportError> {
        let inner = &self.inner;
        let clients_own = first.method == Method::Discover;
        if !clients_own {
            *inner.client.write().expect("poisoned") = ClientSide::from_initialize(&first.body);
        }
        let mut version_retried = false;
        loop {
            let (request, id) = match first.request_ids.as_slice().first().filter(|_| clients_own) {
                Some(id) => {
                    (inner.client.read().expect("poisoned").stamp(&first.body, first.params.as_ref()), id.clone())
                }
                None => {
                    let id = inner.new_id();
                    (inner.client.read().expect("poisoned").discover_request(&id), Bytes::from(quoted(&id)))
                }
            };
            let outcome = inner.exchange(&request, "server/discover", HeaderMap::new(), &id).await;
            let answer = match outcome {
                Ok(Reply::Answer(Received::InMemory(answer))) => answer,
                Ok(Reply::Answer(Received::Spooled(_))) => {
                    return Ok(Probe::Legacy(TransportError::InvalidResponse("an oversized discover answer".into())))
                }
                Ok(Reply::Broken) => return Ok(Probe::Legacy(TransportError::StreamEnded)),
                Err(TransportError::Status { body, .. }) if !version_retried && offers_modern_version(&body) => {
                    version_retried = true;
                    continue;
                }
                Err(
                    error @ (TransportError::Unauthorized { .. }
                    | TransportError::InsufficientScope { .. }
                    | TransportError::Auth(_)
                    | TransportError::Network(_)
                    | TransportError::ShuttingDown),
                ) => return Err(error),
                Err(other) => return Ok(Probe::Legacy(other)),
            };
            if let Some(result) = discovery_of(&answer) {
                *inner.discovered.lock().expect("poisoned") = Some(result);
                if clients_own {
                    inner.sink.deliver(answer, None);
                }
                return Ok(Probe::Modern);
            }
            if !version_retried && offers_modern_version(&answer) {
                version_retried = true;
                continue;
            }
            let status = reqwest::StatusCode::OK;
            return Ok(Probe::Legacy(TransportError::Status { status, body: answer, retry_after: None }));
        }
    }
}

impl Transport for Stateless {
    async fn send(&self, message: &ClientMessage) -> Sent {
        let inner = &self.inner;
        if message.body.first() == Some(&b'[') {
            return Sent::NotDelivered(TransportError::Unsupported(
                "a batch (this server speaks MCP 2026-07-28, which has none)",
            ));
        }
        let Some(method) = message.method_name.as_deref() else {
            inner.take_client_answer(message);
            return Sent::Answered;
        };
        let Some(id) = single_request_id(message) else {
            // The other client notifications have no place in this revision: cancellation is
            // closing the stream, which the proxy does by dropping the exchange.
            if message.method == Method::Initialized {
                // As with a session's GET stream: nothing is read on until the server has the
                // listen, so a notification the next request causes cannot be missed.
                let acknowledged = inner.relisten(listen::Change::Start);
                if tokio::time::timeout(LISTEN_WAIT, acknowledged).await.is_err() {
                    debug!("the server has not acknowledged subscriptions/listen yet; going on");
                }
            }
            return Sent::Answered;
        };
        let local = match method {
            b"initialize" => Some(inner.initialize_result()),
            b"ping" => Some(serde_json::json!({})),
            b"logging/setLevel" => {
                inner.set_log_level(message);
                Some(serde_json::json!({}))
            }
            b"resources/subscribe" | b"resources/unsubscribe" => {
                let uri = uri_of(message);
                let change = if method == b"resources/subscribe" {
                    listen::Change::Subscribe(&uri)
                } else {
                    listen::Change::Unsubscribe(&uri)
                };
                drop(inner.relisten(change));
                Some(serde_json::json!({}))
            }
            _ => None,
        };
        if let Some(result) = local {
            inner.sink.deliver(result_response(id, &result), None);
            return Sent::Answered;
        }
        match inner.request(message, id).await {
            Ok(()) => Sent::Answered,
            Err(error) => Sent::from_error(error),
        }
    }

    async fn renew_session(&self, expired: u64) -> Result<(), TransportError> {
        Err(TransportError::SessionExpired { generation: expired })
    }

    async fn close(&self) {
        self.inner.listening.lock().expect("poisoned").stop();
    }
}

impl Inner {
    fn new_id(&self) -> String {
        format!("mcp-remote-{}", self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    fn initialize_result(&self) -> Value {
        let discovered = self.discovered.lock().expect("poisoned");
        let empty = RawValue::from_string("{}".into()).expect("valid");
        self.client.read().expect("poisoned").initialize_result(discovered.as_deref().unwrap_or(&empty))
    }

    fn set_log_level(&self, message: &ClientMessage) {
        #[derive(serde::Deserialize)]
        struct Params {
            level: String,
        }
        let level = message.params.as_ref().and_then(|p| serde_json::from_slice::<Params>(p).ok());
        if let Some(Params { level }) = level {
            self.client.write().expect("poisoned").set_log_level(level);
        }
    }

    /// The client answered a request of ours (a server's input request): hand it to its waiter.
    fn take_client_answer(&self, message: &ClientMessage) {
        let Some(ServerMessage::Response { id }) = ServerMessage::classify(&message.body) else {
            return;
        };
        match self.asked.lock().expect("poisoned").remove(&id) {
            Some(waiter) => {
                let _ = waiter.send(message.body.clone());
            }
            None => debug!("dropping a client answer nobody asked for"),
        }
    }

    /// Sends one client request until it has a final answer, which goes to the sink with the
    /// client's id.
    async fn request(&self, message: &ClientMessage, client_id: &Bytes) -> Result<(), TransportError> {
        let method = std::str::from_utf8(message.method_name.as_deref().unwrap_or_default()).unwrap_or_default();
        let stamped = self.client.read().expect("poisoned").stamp(&message.body, message.params.as_ref());
        let mut body = stamped.clone();
        let mut upstream_id = client_id.clone();
        let (mut rounds, mut header_retried, mut version_retried, mut reissued) = (0, false, false, false);
        loop {
            let headers = self.mirrored_headers(message, &body);
            let reply = match self.exchange(&body, method, headers, &upstream_id).await {
                Ok(Reply::Answer(reply)) => reply,
                Ok(Reply::Broken) if !reissued => {
                    reissued = true;
                    debug!("the response stream broke; sending the request again");
                    (body, upstream_id) = self.renumbered(&body);
                    continue;
                }
                Ok(Reply::Broken) => return Err(TransportError::StreamEnded),
                Err(TransportError::Status { body: refusal, .. })
                    if !header_retried && jsonrpc::error_code(&refusal) == Some(HEADER_MISMATCH) =>
                {
                    header_retried = true;
                    warn!("the server says a header does not match the body; refetching the tool list");
                    self.refresh_tools().await;
                    continue;
                }
                Err(TransportError::Status { body: refusal, status, .. })
                    if !version_retried && offers_modern_version(&refusal) =>
                {
                    version_retried = true;
                    debug!(%status, "the server refused the protocol version; retrying with {MODERN_VERSION}");
                    continue;
                }
                Err(error) => return Err(error),
            };
            let answer = match reply {
                Received::InMemory(answer) => answer,
                // A large answer is a result, never a request for input: it goes as it came.
                spooled => {
                    body::deliver_each(&*self.sink, spooled, None, |_| {});
                    return Ok(());
                }
            };
            // Only these methods may ask for input: the others' answers are not read again.
            let may_ask = matches!(message.method, Method::ToolsCall | Method::PromptsGet | Method::ResourcesRead);
            let head: Option<ResultHead<'_>> = if may_ask { serde_json::from_slice(&answer).ok() } else { None };
            let fields = head.as_ref().and_then(|h| h.result.as_ref());
            if fields.is_some_and(|f| f.result_type == Some("input_required")) {
                rounds += 1;
                if rounds > MAX_INPUT_ROUNDS {
                    return Err(TransportError::InvalidResponse(format!(
                        "the server asked for input more than {MAX_INPUT_ROUNDS} times"
                    )));
                }
                let fields = fields.expect("checked");
                let responses = match fields.input_requests {
                    Some(requests) => Some(self.ask_client(requests).await?),
                    None => None,
                };
                let id = self.new_id();
                body = bridge::continuation(&stamped, &id, responses, fields.request_state);
                upstream_id = Bytes::from(quoted(&id));
                continue;
            }
            let answer = if method == "tools/list" { self.offered_tools(answer) } else { answer };
            let answer = if upstream_id == *client_id { answer } else { bridge::with_id(&answer, client_id) };
            self.sink.deliver(answer, None);
            return Ok(());
        }
    }

    /// The same request under a new id.
    fn renumbered(&self, body: &Bytes) -> (Bytes, Bytes) {
        let id = self.new_id();
        (bridge::with_id(body, quoted(&id).as_bytes()), Bytes::from(quoted(&id)))
    }

    /// `Mcp-Name` and the tool's `Mcp-Param-*` headers for `message` (whose body is now `body`).
    fn mirrored_headers(&self, message: &ClientMessage, body: &Bytes) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let Some(target) = message.target.as_deref() else {
            return headers;
        };
        headers.insert(MCP_NAME, headers::encode_value(&String::from_utf8_lossy(target)));
        if message.method != Method::ToolsCall {
            return headers;
        }
        let annotated = self.tools.lock().expect("poisoned").get(&*String::from_utf8_lossy(target)).cloned();
        let Some(annotated) = annotated.filter(|a| !a.is_empty()) else {
            return headers;
        };
        let arguments = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|mut m| m.get_mut("params").and_then(|p| p.get_mut("arguments")).map(Value::take))
            .unwrap_or_default();
        headers.extend(headers::param_headers(&annotated, &arguments));
        headers
    }

    /// POSTs one request and reads its reply: notifications on the way go to the sink, the
    /// response to `id` (raw JSON) is returned.
    async fn exchange(&self, body: &Bytes, method: &str, extra: HeaderMap, id: &[u8]) -> Result<Reply, TransportError> {
        let mut headers = self.endpoint.headers(ACCEPT_POST, 3 + extra.len());
        headers.insert(CONTENT_TYPE, APPLICATION_JSON);
        headers.insert(MCP_PROTOCOL_VERSION, HeaderValue::from_static(MODERN_VERSION));
        headers.insert(MCP_METHOD, headers::encode_value(method));
        headers.extend(extra);
        let used = headers.get(AUTHORIZATION).cloned();
        let request = self.endpoint.http.post(self.endpoint.url.clone()).headers(headers).body(body.clone());
        let response = self.endpoint.cancellable(request.send()).await??;
        if !response.status().is_success() {
            return Err(Refusal::read(&self.endpoint, response).await.into_error(used));
        }
        if !body::is_event_stream(&response) {
            let answer = self.endpoint.cancellable(body::read_body(response, self.sink.room())).await??;
            return Ok(Reply::Answer(answer));
        }
        let listening = method == "subscriptions/listen";
        let mut parser = SseParser::new();
        let mut answer = None;
        let pumped = body::pump(response, &mut parser, self.sink.room(), |event| {
            if event.event_type.is_some() {
                return false;
            }
            if answers(&event.data, id) {
                answer = Some(event.data);
                return true;
            }
            if listening && is_acknowledgement(&event.data) {
                self.listening.lock().expect("poisoned").acknowledge();
                return false;
            }
            body::deliver_each(&*self.sink, event.data, None, |_| {});
            false
        });
        match self.endpoint.cancellable(pumped).await? {
            Err(error @ TransportError::Spool(_)) => Err(error),
            Err(error) => {
                debug!(%error, "the response stream broke");
                Ok(answer.map_or(Reply::Broken, Reply::Answer))
            }
            Ok(()) => Ok(answer.map_or(Reply::Broken, Reply::Answer)),
        }
    }

    /// Asks the client each of the server's input requests (a JSON object of `{method, params}`
    /// by key) and returns its answers under the same keys.
    async fn ask_client(&self, requests: &RawValue) -> Result<Value, TransportError> {
        #[derive(serde::Deserialize)]
        struct InputRequest {
            method: String,
            #[serde(default)]
            params: Option<Value>,
        }
        let requests: HashMap<String, InputRequest> = serde_json::from_str(requests.get())
            .map_err(|e| TransportError::InvalidResponse(format!("the server's input requests are malformed: {e}")))?;
        let mut responses = serde_json::Map::new();
        for (key, request) in requests {
            if !matches!(request.method.as_str(), "elicitation/create" | "sampling/createMessage" | "roots/list") {
                return Err(TransportError::InvalidResponse(format!(
                    "the server asked for unknown input {:?}",
                    request.method
                )));
            }
            let id = quoted(&self.new_id());
            let (answered, answer) = oneshot::channel();
            self.asked.lock().expect("poisoned").insert(Bytes::from(id.clone()), answered);
            let _forget = Forget { asked: &self.asked, id: Bytes::from(id.clone()) };
            let mut ask = serde_json::json!({ "jsonrpc": "2.0", "method": request.method });
            ask["id"] = serde_json::from_str(&id).expect("a JSON string");
            if let Some(params) = request.params {
                ask["params"] = params;
            }
            self.sink.deliver(Bytes::from(ask.to_string()), None);
            let answer = self.endpoint.cancellable(answer).await?.map_err(|_| TransportError::ShuttingDown)?;
            let answer: Value = serde_json::from_slice(&answer).unwrap_or_default();
            match answer.get("result") {
                Some(result) => responses.insert(key, result.clone()),
                None => {
                    let why = answer["error"]["message"].as_str().unwrap_or("no result").to_owned();
                    return Err(TransportError::InvalidResponse(format!(
                        "the client did not give the input the server asked for ({}): {why}",
                        request.method
                    )));
                }
            };
        }
        Ok(Value::Object(responses))
    }

    /// A `tools/list` answer without the tools whose `x-mcp-header` annotations are invalid; the
    /// valid ones' header parameters are remembered for their calls.
    fn offered_tools(&self, answer: Bytes) -> Bytes {
        let Ok(mut message) = serde_json::from_slice::<Value>(&answer) else {
            return answer;
        };
        let Some(tools) = message.pointer_mut("/result/tools").and_then(Value::as_array_mut) else {
            return answer;
        };
        let mut known = self.tools.lock().expect("poisoned");
        let before = tools.len();
        tools.retain(|tool| {
            let name = tool.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
            match headers::annotations(tool.get("inputSchema").unwrap_or(&Value::Null)) {
                Ok(annotated) => {
                    known.insert(name, annotated.into());
                    true
                }
                Err(why) => {
                    warn!(tool = %name, %why, "not offering a tool whose x-mcp-header annotations are invalid");
                    known.remove(&name);
                    false
                }
            }
        });
        if tools.len() == before {
            return answer;
        }
        Bytes::from(message.to_string())
    }

    /// Reads the tool list again (after the server said a mirrored header is wrong).
    async fn refresh_tools(&self) {
        let id = self.new_id();
        let request = Bytes::from(format!(r#"{{"jsonrpc":"2.0","id":{},"method":"tools/list"}}"#, quoted(&id)));
        let request = self.client.read().expect("poisoned").stamp(&request, None);
        if let Ok(Reply::Answer(Received::InMemory(answer))) =
            self.exchange(&request, "tools/list", HeaderMap::new(), quoted(&id).as_bytes()).await
        {
            self.offered_tools(answer);
        }
    }
}

/// Removes a request to the client from the ledger when its wait ends, however it ends.
struct Forget<'a> {
    asked: &'a Mutex<HashMap<Bytes, oneshot::Sender<Bytes>>>,
    id: Bytes,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.asked.lock().expect("poisoned").remove(&self.id);
    }
}

/// The 2026-07-28 code for a header that does not match the body.
const HEADER_MISMATCH: i64 = -32020;
/// The 2026-07-28 code for an unsupported protocol version.
const UNSUPPORTED_VERSION: i64 = -32022;

/// Whether `body` is an unsupported-version error that lists the version this proxy speaks.
fn offers_modern_version(body: &[u8]) -> bool {
    if jsonrpc::error_code(body) != Some(UNSUPPORTED_VERSION) {
        return false;
    }
    let supported =
        serde_json::from_slice::<Value>(body).ok().and_then(|v| v.pointer("/error/data/supported").cloned());
    supported.and_then(|s| s.as_array().cloned()).is_some_and(|s| s.iter().any(|v| v == MODERN_VERSION))
}

/// The single request id of `message`, if it is one request.
fn single_request_id(message: &ClientMessage) -> Option<&Bytes> {
    match message.request_ids.as_slice() {
        [id] => Some(id),
        _ => None,
    }
}

/// Whether `data` is the response to `id`.
fn answers(data: &Received, id: &[u8]) -> bool {
    match data {
        Received::InMemory(message) => {
            matches!(ServerMessage::classify(message), Some(ServerMessage::Response { id: answered }) if answered == id)
        }
        Received::Spooled(spooled) => {
            matches!(spooled.shape(), crate::spool::SpooledShape::Message(Some(ServerMessage::Response { id: answered })) if answered == id)
        }
    }
}

/// `params.uri` of a request.
fn uri_of(message: &ClientMessage) -> String {
    #[derive(serde::Deserialize)]
    struct Params {
        uri: String,
    }
    let params = message.params.as_ref().and_then(|p| serde_json::from_slice::<Params>(p).ok());
    params.map(|p| p.uri).unwrap_or_default()
}

/// Whether `data` is the server's acknowledgement of a `subscriptions/listen`.
fn is_acknowledgement(data: &Received) -> bool {
    matches!(data, Received::InMemory(m) if memchr::memmem::find(m, b"notifications/subscriptions/acknowledged").is_some())
}

/// The `result` of a `server/discover` answer, if it is one that offers this proxy's revision (a
/// server that answers every method with `{}` is not a modern server).
fn discovery_of(answer: &[u8]) -> Option<Box<RawValue>> {
    #[derive(serde::Deserialize)]
    struct Discovery {
        #[serde(rename = "supportedVersions")]
        supported_versions: Vec<String>,
    }
    #[derive(serde::Deserialize)]
    struct Response {
        result: Box<RawValue>,
    }
    let result = serde_json::from_slice::<Response>(answer).ok()?.result;
    let discovery: Discovery = serde_json::from_str(result.get()).ok()?;
    discovery.supported_versions.iter().any(|v| v == MODERN_VERSION).then_some(result)
}

/// `{"jsonrpc":"2.0","id":<id>,"result":<result>}`.
fn result_response(id: &[u8], result: &Value) -> Bytes {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    out.extend_from_slice(id);
    out.extend_from_slice(br#","result":"#);
    out.extend_from_slice(result.to_string().as_bytes());
    out.push(b'}');
    Bytes::from(out)
}

/// `text` as a JSON string.
fn quoted(text: &str) -> String {
    Value::from(text).to_string()
}
