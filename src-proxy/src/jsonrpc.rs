//! JSON-RPC 2.0 framing and classification without re-encoding.
//!
//! Messages stay the bytes they arrived as: classification borrows from the buffer (ids as raw JSON
//! text, methods as `&str`) and never builds a `Value` tree. This module owns the error responses the
//! proxy writes on the client's behalf; it does no I/O.

use bytes::Bytes;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// JSON-RPC error codes used by the proxy.
pub mod code {
    /// The line on stdin is not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// The JSON is not a JSON-RPC message.
    pub const INVALID_REQUEST: i64 = -32600;
    /// The remote server could not be reached or answered with an HTTP error.
    pub const TRANSPORT_ERROR: i64 = -32000;
    /// The remote server requires authorization the proxy could not obtain.
    pub const UNAUTHORIZED: i64 = -32001;
    /// The request names something the client may not use (a tool filtered out).
    pub const INVALID_PARAMS: i64 = -32602;
}

/// A JSON string, borrowed from the buffer unless it has escapes. (serde borrows a `Cow` only when
/// it is a field's whole type, not inside an `Option`: this newtype is that field.)
#[derive(Deserialize, Debug)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// The fields of a JSON-RPC message that routing needs, borrowed from the buffer.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    method: Option<Text<'a>>,
    #[serde(default)]
    result: Option<IgnoredAny>,
    #[serde(default)]
    error: Option<IgnoredAny>,
    /// Skipped as cheaply as an ignored field; kept as a slice for the client's messages.
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

/// What one JSON-RPC message is, judged by which fields it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Request,
    Notification,
    Response,
}

fn shape_of(envelope: &Envelope<'_>) -> Option<Shape> {
    match (&envelope.method, envelope.id) {
        (Some(_), Some(_)) => Some(Shape::Request),
        (Some(_), None) => Some(Shape::Notification),
        (None, _) if envelope.result.is_some() || envelope.error.is_some() => Some(Shape::Response),
        _ => None,
    }
}

/// Methods the proxy treats specially; everything else is forwarded untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Initialize,
    Initialized,
    Cancelled,
    /// `tools/call`: names its tool in `params.name`.
    ToolsCall,
    /// `prompts/get`: names its prompt in `params.name`.
    PromptsGet,
    /// `resources/read`: names its resource in `params.uri`.
    ResourcesRead,
    /// `server/discover`: a 2026-07-28 client's first question.
    Discover,
    Other,
}

impl Method {
    fn from_name(name: &str) -> Self {
        match name {
            "initialize" => Self::Initialize,
            "notifications/initialized" => Self::Initialized,
            "notifications/cancelled" => Self::Cancelled,
            "tools/call" => Self::ToolsCall,
            "prompts/get" => Self::PromptsGet,
            "resources/read" => Self::ResourcesRead,
            "server/discover" => Self::Discover,
            _ => Self::Other,
        }
    }
}

/// The ids of the requests in one client message, as raw JSON text (`1`, `"abc"`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RequestIds {
    #[default]
    None,
    One(Bytes),
    Many(Vec<Bytes>),
}

impl RequestIds {
    pub fn as_slice(&self) -> &[Bytes] {
        match self {
            Self::None => &[],
            Self::One(id) => std::slice::from_ref(id),
            Self::Many(ids) => ids,
        }
    }

    fn push(&mut self, id: Bytes) {
        *self = match std::mem::take(self) {
            Self::None => Self::One(id),
            Self::One(first) => Self::Many(vec![first, id]),
            Self::Many(mut ids) => {
                ids.push(id);
                Self::Many(ids)
            }
        };
    }
}

/// One line from the client, classified, with its original bytes.
#[derive(Debug, Clone)]
pub struct ClientMessage {
    /// The message exactly as the client wrote it (without the line ending).
    pub body: Bytes,
    /// Ids of the requests it carries; each one must get exactly one answer.
    pub request_ids: RequestIds,
    /// The method of a single request or notification (`Other` for responses and batches).
    pub method: Method,
    /// The method's name, as text of `body` when it has no escapes (`None` for responses and
    /// batches).
    pub method_name: Option<Bytes>,
    /// What the message is about, where the method names one: the tool or prompt name
    /// (`params.name`) or the resource URI (`params.uri`), unescaped.
    pub target: Option<Bytes>,
    /// For `notifications/cancelled`: the raw id of the request being cancelled.
    pub cancels: Option<Bytes>,
    /// The raw `params` of a single request or notification, a slice of `body`.
    pub params: Option<Bytes>,
}

/// Why a client line could not be forwarded; each maps to a JSON-RPC error response.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClientLineError {
    #[error("Parse error: {0}")]
    Parse(String),
    #[error("Invalid Request: {0}")]
    Invalid(&'static str),
}

impl ClientLineError {
    pub fn code(&self) -> i64 {
        match self {
            Self::Parse(_) => code::PARSE_ERROR,
            Self::Invalid(_) => code::INVALID_REQUEST,
        }
    }
}

/// Returns the raw id text as a slice of `body`, so ids share the line's buffer.
fn raw_slice(body: &Bytes, raw: &RawValue) -> Bytes {
    body.slice_ref(raw.get().as_bytes())
}

/// A string read from `body`: a slice of it when it had no escapes, else a copy.
fn text_of(body: &Bytes, text: &Text<'_>) -> Bytes {
    match &text.0 {
        Cow::Borrowed(slice) => body.slice_ref(slice.as_bytes()),
        Cow::Owned(owned) => Bytes::copy_from_slice(owned.as_bytes()),
    }
}

/// The `params` fields the proxy reads: what a request is about, and what a cancellation cancels.
#[derive(Deserialize, Default)]
struct Params<'a> {
    #[serde(borrow, default)]
    name: Option<Text<'a>>,
    #[serde(borrow, default)]
    uri: Option<Text<'a>>,
    #[serde(borrow, default, rename = "requestId")]
    request_id: Option<&'a RawValue>,
}

impl ClientMessage {
    /// Classifies one line from stdin. The line must not contain its trailing newline.
    pub fn parse(body: Bytes) -> Result<Self, ClientLineError> {
        // JSON is UTF-8 (RFC 8259 §8.1); serde checks only the strings it reads, not skipped ones.
        if simdutf8::basic::from_utf8(&body).is_err() {
            let at = std::str::from_utf8(&body).err().map_or(0, |error| error.valid_up_to());
            return Err(ClientLineError::Parse(format!("not UTF-8 at byte {at}")));
        }
        let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
        if first == Some(b'[') {
            return Self::parse_batch(body);
        }
        let envelope: Envelope<'_> = serde_json::from_slice(&body).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => ClientLineError::Invalid("not a JSON-RPC message"),
            _ => ClientLineError::Parse(e.to_string()),
        })?;
        let raw_params = envelope.params;
        let shape = shape_of(&envelope).ok_or(ClientLineError::Invalid("not a JSON-RPC message"))?;
        let method = envelope.method.as_deref().map_or(Method::Other, Method::from_name);
        let method_name = envelope.method.as_ref().map(|name| text_of(&body, name));
        let mut request_ids = RequestIds::None;
        if shape == Shape::Request {
            if let Some(id) = envelope.id {
                request_ids.push(raw_slice(&body, id));
            }
        }
        // Only these methods need a look inside `params`: the rest pay nothing for it.
        let params = match method {
            Method::ToolsCall | Method::PromptsGet | Method::ResourcesRead | Method::Cancelled => {
                // By-position params (an array) name nothing; serde would read them as a struct.
                let named = raw_params.filter(|raw| raw.get().starts_with('{'));
                named.and_then(|raw| serde_json::from_str::<Params<'_>>(raw.get()).ok()).unwrap_or_default()
            }
            _ => Params::default(),
        };
        let target = match method {
            Method::ToolsCall | Method::PromptsGet => params.name.as_ref(),
            Method::ResourcesRead => params.uri.as_ref(),
            _ => None,
        }
        .map(|text| text_of(&body, text));
        let cancels = params.request_id.filter(|_| method == Method::Cancelled).map(|id| raw_slice(&body, id));
        let raw_params = raw_params.map(|raw| raw_slice(&body, raw));
        Ok(Self { request_ids, method, method_name, target, cancels, params: raw_params, body })
    }

    fn parse_batch(body: Bytes) -> Result<Self, ClientLineError> {
        let items: Vec<Envelope<'_>> = serde_json::from_slice(&body).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => ClientLineError::Invalid("not a JSON-RPC batch"),
            _ => ClientLineError::Parse(e.to_string()),
        })?;
        if items.is_empty() {
            return Err(ClientLineError::Invalid("empty batch"));
        }
        let mut request_ids = RequestIds::None;
        for item in &items {
            match (shape_of(item), item.id) {
                (None, _) => return Err(ClientLineError::Invalid("batch holds a non-JSON-RPC item")),
                (Some(Shape::Request), Some(id)) => request_ids.push(raw_slice(&body, id)),
                _ => {}
            }
        }
        drop(items);
        Ok(Self {
            request_ids,
            method: Method::Other,
            method_name: None,
            target: None,
            cancels: None,
            params: None,
            body,
        })
    }
}

/// A message from the server, classified for routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerMessage {
    /// A response; `id` is its raw id text, a slice of the message.
    Response { id: Bytes },
    /// A request or notification from the server, for the client to see.
    Other,
}

impl ServerMessage {
    /// Classifies a single server message. Returns `None` for bytes that are not a JSON-RPC message.
    pub fn classify(message: &Bytes) -> Option<Self> {
        // Bytes that are not UTF-8 are not JSON, even where serde would skip over them.
        simdutf8::basic::from_utf8(message).ok()?;
        let envelope: Envelope<'_> = serde_json::from_slice(message).ok()?;
        match shape_of(&envelope)? {
            // A response without an id answers nothing the client could match: not a message.
            Shape::Response => envelope.id.map(|id| Self::Response { id: raw_slice(message, id) }),
            Shape::Request | Shape::Notification => Some(Self::Other),
        }
    }
}

/// Splits a JSON array body into its elements (each a slice of `body`).
pub fn split_batch(body: &Bytes) -> Option<Vec<Bytes>> {
    let items: Vec<&RawValue> = serde_json::from_slice(body).ok()?;
    Some(items.into_iter().map(|raw| raw_slice(body, raw)).collect())
}

/// Reads `result.protocolVersion` from an `initialize` response.
pub fn negotiated_protocol_version(response: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Result<'a> {
        #[serde(borrow, rename = "protocolVersion")]
        protocol_version: Cow<'a, str>,
    }
    #[derive(Deserialize)]
    struct Response<'a> {
        #[serde(borrow)]
        result: Result<'a>,
    }
    let parsed: Response<'_> = serde_json::from_slice(response).ok()?;
    Some(parsed.result.protocol_version.into_owned())
}

/// If `body` is a JSON-RPC error response, returns its raw `error` object.
pub fn error_object(body: &[u8]) -> Option<&RawValue> {
    #[derive(Deserialize)]
    struct ErrorResponse<'a> {
        #[serde(borrow)]
        error: &'a RawValue,
    }
    let parsed: ErrorResponse<'_> = serde_json::from_slice(body).ok()?;
    parsed.error.get().starts_with('{').then_some(parsed.error)
}

/// Error codes only the 2026-07-28 revision defines: header mismatch, missing client capability,
/// unsupported protocol version. A body carrying one comes from a modern server.
pub const MODERN_ERROR_CODES: std::ops::RangeInclusive<i64> = -32022..=-32020;

/// The `error.code` of a JSON-RPC error response.
pub fn error_code(body: &[u8]) -> Option<i64> {
    #[derive(Deserialize)]
    struct Error {
        code: i64,
    }
    serde_json::from_str::<Error>(error_object(body)?.get()).ok().map(|error| error.code)
}

/// Whether `body` is a JSON-RPC error only a modern (2026-07-28) server sends.
pub fn is_modern_error(body: &[u8]) -> bool {
    error_code(body).is_some_and(|code| MODERN_ERROR_CODES.contains(&code))
}

/// Builds `{"jsonrpc":"2.0","id":<id>,"error":{"code":..,"message":..[,"data":..]}}`.
/// `id` is raw JSON text; `None` writes `null` (for lines whose id could not be read).
pub fn error_response(id: Option<&[u8]>, code: i64, message: &str, data: Option<&serde_json::Value>) -> Bytes {
    let error = match data {
        Some(data) => serde_json::json!({ "code": code, "message": message, "data": data }),
        None => serde_json::json!({ "code": code, "message": message }),
    };
    error_response_with(id, error.to_string().as_bytes())
}

/// Builds an error response around an already-encoded `error` object.
pub fn error_response_with(id: Option<&[u8]>, raw_error: &[u8]) -> Bytes {
    let id = id.unwrap_or(b"null");
    let mut out = Vec::with_capacity(40 + id.len() + raw_error.len());
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    out.extend_from_slice(id);
    out.extend_from_slice(br#","error":"#);
    out.extend_from_slice(raw_error);
    out.push(b'}');
    Bytes::from(out)
}

/// Makes a message fit on one line. JSON strings cannot hold raw line breaks, so any CR or LF in
/// valid JSON is insignificant whitespace and becomes a space. Borrows when there is nothing to do.
pub fn single_line(message: Bytes) -> Bytes {
    let trimmed = trim_ascii_whitespace(&message);
    let message = message.slice_ref(trimmed);
    if memchr::memchr2(b'\n', b'\r', &message).is_none() {
        return message;
    }
    let flattened: Vec<u8> = message.iter().map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b }).collect();
    Bytes::from(flattened)
}

fn trim_ascii_whitespace(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |i| i + 1);
    &bytes[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ClientMessage, ClientLineError> {
        ClientMessage::parse(Bytes::copy_from_slice(text.as_bytes()))
    }

    #[test]
    fn request_keeps_raw_id_and_method() {
        let m = parse(r#"{"jsonrpc":"2.0","id": "a1","method":"initialize","params":{}}"#).unwrap();
        assert_eq!(m.request_ids.as_slice(), &[Bytes::from_static(br#""a1""#)]);
        assert_eq!(m.method, Method::Initialize);
    }

    #[test]
    fn notification_and_response_carry_no_request_ids() {
        let n = parse(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
        assert_eq!(n.method, Method::Initialized);
        assert_eq!(n.request_ids, RequestIds::None);
        let r = parse(r#"{"jsonrpc":"2.0","id":7,"result":{}}"#).unwrap();
        assert_eq!(r.request_ids, RequestIds::None);
        assert_eq!(r.method, Method::Other);
    }

    #[test]
    fn cancelled_notification_names_its_request() {
        let n = parse(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":42,"reason":"x"}}"#)
            .unwrap();
        assert_eq!(n.method, Method::Cancelled);
        assert_eq!(n.cancels.as_deref(), Some(&b"42"[..]));
    }

    #[test]
    fn names_and_uris_are_kept_for_the_methods_that_have_them() {
        let call = parse(
            r#"{"params":{"arguments":{"name":"inner"},"name":"echo"},"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
        )
        .unwrap();
        assert_eq!(call.method, Method::ToolsCall);
        assert_eq!(call.method_name.as_deref(), Some(&b"tools/call"[..]));
        assert_eq!(call.target.as_deref(), Some(&b"echo"[..]));
        let read =
            parse(r#"{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///a\u00e9.txt"}}"#)
                .unwrap();
        assert_eq!(read.target.as_deref(), Some("file:///a\u{e9}.txt".as_bytes()));
        let prompt = parse(r#"{"jsonrpc":"2.0","id":3,"method":"prompts/get","params":{"name":"greet"}}"#).unwrap();
        assert_eq!(prompt.target.as_deref(), Some(&b"greet"[..]));
        let list = parse(r#"{"jsonrpc":"2.0","id":4,"method":"tools/list","params":{"name":"ignored"}}"#).unwrap();
        assert_eq!((list.method, list.target), (Method::Other, None));
        let positional = parse(r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":["echo"]}"#).unwrap();
        assert_eq!(positional.target, None);
        // The method and the name are slices of the line, not copies.
        let range = call.body.as_ptr_range();
        assert!(range.contains(&call.target.as_ref().unwrap().as_ptr()));
        assert!(range.contains(&call.method_name.as_ref().unwrap().as_ptr()));
    }

    #[test]
    fn batch_collects_request_ids_only() {
        let m = parse(r#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","id":2,"method":"b"}]"#)
            .unwrap();
        assert_eq!(m.request_ids.as_slice(), &[Bytes::from_static(b"1"), Bytes::from_static(b"2")]);
        assert!(matches!(parse("[]"), Err(ClientLineError::Invalid(_))));
        assert!(matches!(parse("[1]"), Err(ClientLineError::Invalid(_))));
    }

    #[test]
    fn garbage_is_a_parse_error_and_wrong_shape_is_invalid() {
        let e = parse("{not json").unwrap_err();
        assert_eq!(e.code(), code::PARSE_ERROR);
        let e = parse(r#"{"jsonrpc":"2.0","id":1}"#).unwrap_err();
        assert_eq!(e.code(), code::INVALID_REQUEST);
        let e = parse("42").unwrap_err();
        assert_eq!(e.code(), code::INVALID_REQUEST);
    }

    #[test]
    fn server_messages_are_classified() {
        let resp = Bytes::from_static(br#"{"jsonrpc":"2.0","id":3,"result":{"ok":true}}"#);
        assert_eq!(ServerMessage::classify(&resp), Some(ServerMessage::Response { id: Bytes::from_static(b"3") }));
        let req = Bytes::from_static(br#"{"jsonrpc":"2.0","id":3,"method":"roots/list"}"#);
        assert_eq!(ServerMessage::classify(&req), Some(ServerMessage::Other));
        assert_eq!(ServerMessage::classify(&Bytes::from_static(b"oops")), None);
        let anonymous = Bytes::from_static(br#"{"jsonrpc":"2.0","result":{}}"#);
        assert_eq!(ServerMessage::classify(&anonymous), None);
    }

    #[test]
    fn error_responses_are_valid_json() {
        let e = error_response(Some(b"\"x\""), -32000, "boom \"quoted\"", Some(&serde_json::json!({"status": 500})));
        let v: serde_json::Value = serde_json::from_slice(&e).unwrap();
        assert_eq!(v["id"], "x");
        assert_eq!(v["error"]["code"], -32000);
        assert_eq!(v["error"]["message"], "boom \"quoted\"");
        assert_eq!(v["error"]["data"]["status"], 500);
        let n: serde_json::Value = serde_json::from_slice(&error_response(None, -32700, "bad", None)).unwrap();
        assert!(n["id"].is_null());
    }

    #[test]
    fn protocol_version_and_error_object_are_read() {
        let init = br#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{}}}"#;
        assert_eq!(negotiated_protocol_version(init).as_deref(), Some("2025-06-18"));
        let err = br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"no"}}"#;
        assert_eq!(error_object(err).unwrap().get(), r#"{"code":-32000,"message":"no"}"#);
        assert!(error_object(b"<html>").is_none());
    }

    #[test]
    fn single_line_flattens_insignificant_newlines_only() {
        let pretty = Bytes::from_static(b"{\r\n  \"a\": \"x\\ny\"\n}\n");
        let flat = single_line(pretty);
        assert!(!flat.contains(&b'\n') && !flat.contains(&b'\r'));
        let v: serde_json::Value = serde_json::from_slice(&flat).unwrap();
        assert_eq!(v["a"], "x\ny");
        let already = Bytes::from_static(b"{\"a\":1}");
        assert_eq!(single_line(already.clone()).as_ptr(), already.as_ptr());
    }

    #[test]
    fn split_batch_returns_each_element() {
        let body = Bytes::from_static(br#"[{"id":1,"result":{}}, {"id":2,"error":{}}]"#);
        let items = split_batch(&body).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(&items[1][..], br#"{"id":2,"error":{}}"#);
    }
}
