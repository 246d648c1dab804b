//! What the bridge between a 2025-era client and a 2026-07-28 server rewrites in messages: the
//! per-request `_meta` (protocol version, the client's capabilities and identity, its log level)
//! spliced into each request, the `initialize` answer made from `server/discover`, continuations
//! of a request that needed input, and the client's id put back on the final answer.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

/// The protocol revision spoken to modern servers.
pub const MODERN_VERSION: &str = "2026-07-28";
/// The revisions the stdio side may ask for in `initialize`; the newest is offered otherwise.
const CLIENT_VERSIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const META_INFO: &str = "io.modelcontextprotocol/clientInfo";
const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// Who the client is, as its `initialize` said, encoded once as the `_meta` members every
/// request carries.
#[derive(Debug, Clone)]
pub struct ClientSide {
    capabilities: Value,
    info: Value,
    /// The protocol version the client asked for.
    pub requested_version: Option<String>,
    log_level: Option<String>,
    /// `"key":value,…` without braces.
    members: String,
}

impl Default for ClientSide {
    fn default() -> Self {
        Self::new(json!({}), json!({ "name": "mcp-remote", "version": env!("CARGO_PKG_VERSION") }), None)
    }
}

impl ClientSide {
    fn new(capabilities: Value, info: Value, requested_version: Option<String>) -> Self {
        let mut side = Self { capabilities, info, requested_version, log_level: None, members: String::new() };
        side.encode();
        side
    }

    /// Reads the client's `initialize` request.
    pub fn from_initialize(body: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct Params {
            #[serde(default)]
            capabilities: Option<Value>,
            #[serde(default, rename = "clientInfo")]
            client_info: Option<Value>,
            #[serde(default, rename = "protocolVersion")]
            protocol_version: Option<String>,
        }
        #[derive(Deserialize)]
        struct Initialize {
            params: Option<Params>,
        }
        let params = serde_json::from_slice::<Initialize>(body).ok().and_then(|i| i.params);
        let default = Self::default();
        match params {
            Some(p) => Self::new(
                p.capabilities.filter(Value::is_object).map(modern_capabilities).unwrap_or(default.capabilities),
                p.client_info.filter(Value::is_object).unwrap_or(default.info),
                p.protocol_version,
            ),
            None => default,
        }
    }

    /// Sends `level` with every later request (the 2025 `logging/setLevel`).
    pub fn set_log_level(&mut self, level: String) {
        self.log_level = Some(level);
        self.encode();
    }

    fn encode(&mut self) {
        let mut members = Map::new();
        members.insert(META_VERSION.into(), MODERN_VERSION.into());
        members.insert(META_CAPABILITIES.into(), self.capabilities.clone());
        members.insert(META_INFO.into(), self.info.clone());
        if let Some(level) = &self.log_level {
            members.insert(META_LOG_LEVEL.into(), level.clone().into());
        }
        let object = Value::Object(members).to_string();
        self.members = object[1..object.len() - 1].to_owned();
    }

    /// A `server/discover` request with this client's `_meta`.
    pub fn discover_request(&self, id: &str) -> Bytes {
        Bytes::from(format!(
            r#"{{"jsonrpc":"2.0","id":{},"method":"server/discover","params":{{"_meta":{{{}}}}}}}"#,
            Value::from(id),
            self.members
        ))
    }

    /// A `subscriptions/listen` request for `filter` (a `SubscriptionFilter`) with this client's
    /// `_meta`.
    pub fn listen_request(&self, id: &str, filter: &Value) -> Bytes {
        Bytes::from(format!(
            r#"{{"jsonrpc":"2.0","id":{},"method":"subscriptions/listen","params":{{"notifications":{filter},"_meta":{{{}}}}}}}"#,
            Value::from(id),
            self.members
        ))
    }

    /// `request` with this client's `_meta` members added to `params._meta`. When the request has
    /// no `_meta` of its own the members are spliced into the bytes; otherwise the two are merged.
    pub fn stamp(&self, request: &Bytes, params: Option<&Bytes>) -> Bytes {
        match params {
            Some(params) if params.starts_with(b"{") => {
                let has_meta = memchr::memmem::find(params, b"\"_meta\"").is_some();
                if has_meta {
                    return self.merged(request);
                }
                let open = params.as_ptr() as usize - request.as_ptr() as usize + 1;
                let empty = params[1..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'}');
                let separator = if empty { "" } else { "," };
                splice(request, open, &format!(r#""_meta":{{{}}}{separator}"#, self.members))
            }
            Some(_) => self.merged(request),
            None => {
                let open = request.iter().position(|&b| b == b'{').map_or(0, |i| i + 1);
                splice(request, open, &format!(r#""params":{{"_meta":{{{}}}}},"#, self.members))
            }
        }
    }

    /// The slow way, for a request that has `_meta` already: parse, merge, encode. What the
    /// request says itself wins (a modern client sends its own capabilities and identity).
    fn merged(&self, request: &Bytes) -> Bytes {
        let Ok(mut message) = serde_json::from_slice::<Value>(request) else {
            return request.clone();
        };
        let ours: Map<String, Value> =
            serde_json::from_str(&format!("{{{}}}", self.members)).expect("members are one JSON object's");
        if let Some(params) = message.get_mut("params").and_then(Value::as_object_mut) {
            let meta = params.entry("_meta").or_insert_with(|| json!({}));
            if let Some(meta) = meta.as_object_mut() {
                for (key, value) in ours {
                    meta.entry(key).or_insert(value);
                }
            }
        }
        Bytes::from(message.to_string())
    }

    /// The answer to the client's `initialize`, made from the server's `server/discover` result.
    pub fn initialize_result(&self, discovered: &RawValue) -> Value {
        let discovered: Value = serde_json::from_str(discovered.get()).unwrap_or_default();
        let server_info = discovered
            .pointer(&format!("/_meta/{}", META_SERVER_INFO.replace('/', "~1")))
            .or_else(|| discovered.get("serverInfo"))
            .cloned()
            .unwrap_or_else(|| json!({ "name": "mcp-remote", "version": env!("CARGO_PKG_VERSION") }));
        let version = self
            .requested_version
            .as_deref()
            .filter(|asked| CLIENT_VERSIONS.contains(asked))
            .unwrap_or(CLIENT_VERSIONS[0]);
        let mut result = json!({
            "protocolVersion": version,
            "capabilities": legacy_capabilities(discovered.get("capabilities")),
            "serverInfo": server_info,
        });
        if let Some(instructions) = discovered.get("instructions").filter(|i| i.is_string()) {
            result["instructions"] = instructions.clone();
        }
        result
    }
}

/// The client's 2025 capabilities as a modern server reads them: `roots.listChanged` is gone.
fn modern_capabilities(mut capabilities: Value) -> Value {
    if let Some(roots) = capabilities.get_mut("roots").and_then(Value::as_object_mut) {
        roots.remove("listChanged");
    }
    capabilities
}

/// The server's capabilities as a 2025 client sees them through the bridge: list changes and
/// resource subscriptions come through `subscriptions/listen`, logging through the per-request
/// level; extensions, which a 2025 client cannot negotiate, are not offered.
fn legacy_capabilities(capabilities: Option<&Value>) -> Value {
    let mut capabilities = capabilities.filter(|c| c.is_object()).cloned().unwrap_or_else(|| json!({}));
    capabilities.as_object_mut().expect("an object").remove("extensions");
    capabilities
}

fn splice(bytes: &Bytes, at: usize, insert: &str) -> Bytes {
    let mut out = Vec::with_capacity(bytes.len() + insert.len());
    out.extend_from_slice(&bytes[..at]);
    out.extend_from_slice(insert.as_bytes());
    out.extend_from_slice(&bytes[at..]);
    Bytes::from(out)
}

/// The head of a result: what kind it is, and what a request that needs input asks for.
#[derive(Deserialize)]
pub struct ResultHead<'a> {
    #[serde(borrow)]
    pub result: Option<ResultFields<'a>>,
}

#[derive(Deserialize)]
pub struct ResultFields<'a> {
    #[serde(default, rename = "resultType")]
    pub result_type: Option<&'a str>,
    #[serde(borrow, default, rename = "inputRequests")]
    pub input_requests: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "requestState")]
    pub request_state: Option<&'a RawValue>,
}

/// The original request again, as a new request `id`, with the client's answers to the server's
/// input requests and the server's `requestState` exactly as it sent it (when it sent one).
pub fn continuation(
    request: &[u8],
    id: &str,
    input_responses: Option<Value>,
    request_state: Option<&RawValue>,
) -> Bytes {
    let mut message: Value = serde_json::from_slice(request).unwrap_or_default();
    message["id"] = Value::from(id);
    let params = message.as_object_mut().and_then(|m| m.get_mut("params")).and_then(Value::as_object_mut);
    if let Some(params) = params {
        params.remove("inputResponses");
        params.remove("requestState");
        if let Some(responses) = input_responses {
            params.insert("inputResponses".into(), responses);
        }
        if let Some(state) = request_state {
            // A placeholder keeps the server's bytes out of any re-encoding.
            params.insert("requestState".into(), Value::from("\u{0}mcp-remote-state\u{0}"));
            let encoded = message.to_string();
            return Bytes::from(encoded.replacen(r#""\u0000mcp-remote-state\u0000""#, state.get(), 1));
        }
    }
    Bytes::from(message.to_string())
}

/// `response` with `id` (raw JSON) as its id: the client's own, for an answer to a continuation.
pub fn with_id(response: &[u8], id: &[u8]) -> Bytes {
    let Ok(mut message) = serde_json::from_slice::<Map<String, Value>>(response) else {
        return Bytes::copy_from_slice(response);
    };
    message.insert("id".into(), serde_json::from_slice(id).unwrap_or(Value::Null));
    Bytes::from(Value::Object(message).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> ClientSide {
        ClientSide::from_initialize(
            br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18",
                "capabilities":{"roots":{"listChanged":true},"elicitation":{}},"clientInfo":{"name":"claude","version":"1"}}}"#,
        )
    }

    fn stamped(line: &str) -> Value {
        let message = crate::jsonrpc::ClientMessage::parse(Bytes::copy_from_slice(line.as_bytes())).unwrap();
        serde_json::from_slice(&client().stamp(&message.body, message.params.as_ref())).unwrap()
    }

    #[test]
    fn every_request_carries_the_clients_meta() {
        for line in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{ "cursor":"c"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"progressToken":7}}}"#,
        ] {
            let v = stamped(line);
            let meta = &v["params"]["_meta"];
            assert_eq!(meta[META_VERSION], MODERN_VERSION, "{line}");
            assert_eq!(meta[META_CAPABILITIES], json!({"roots":{},"elicitation":{}}), "{line}");
            assert_eq!(meta[META_INFO]["name"], "claude", "{line}");
            assert_eq!(v["id"], 1);
        }
        assert_eq!(
            stamped(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{ "cursor":"c"}}"#)["params"]["cursor"],
            "c"
        );
        let v = stamped(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"progressToken":7}}}"#,
        );
        assert_eq!(v["params"]["_meta"]["progressToken"], 7);
    }

    #[test]
    fn initialize_is_answered_from_discover() {
        let discovered = RawValue::from_string(
            json!({ "supportedVersions": ["2026-07-28"], "resultType": "complete", "instructions": "be nice",
                    "capabilities": { "tools": { "listChanged": true }, "resources": { "subscribe": true }, "extensions": {} },
                    "_meta": { META_SERVER_INFO: { "name": "srv", "version": "2" } } })
            .to_string(),
        )
        .unwrap();
        let result = client().initialize_result(&discovered);
        assert_eq!(result["protocolVersion"], "2025-06-18");
        assert_eq!(result["serverInfo"]["name"], "srv");
        assert_eq!(
            result["capabilities"],
            json!({ "tools": { "listChanged": true }, "resources": { "subscribe": true } })
        );
        assert_eq!(result["instructions"], "be nice");
    }

    #[test]
    fn a_continuation_has_a_new_id_the_answers_and_the_state_byte_for_byte() {
        let state = RawValue::from_string(r#""{\"nonce\": 1,  \"x\":\"é\"}""#.into()).unwrap();
        let request = br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t","arguments":{}}}"#;
        let next =
            continuation(request, "mcp-remote-2", Some(json!({ "confirm": { "action": "accept" } })), Some(&state));
        let text = std::str::from_utf8(&next).unwrap();
        assert!(text.contains(r#""requestState":"{\"nonce\": 1,  \"x\":\"é\"}""#), "{text}");
        let v: Value = serde_json::from_slice(&next).unwrap();
        assert_eq!(v["id"], "mcp-remote-2");
        assert_eq!(v["params"]["inputResponses"]["confirm"]["action"], "accept");
        let stateless = continuation(request, "mcp-remote-3", Some(json!({})), None);
        let v: Value = serde_json::from_slice(&stateless).unwrap();
        assert!(v["params"].get("requestState").is_none());
        let answer: Value =
            serde_json::from_slice(&with_id(br#"{"jsonrpc":"2.0","id":"mcp-remote-2","result":{}}"#, b"3")).unwrap();
        assert_eq!(answer["id"], 3);
    }
}
