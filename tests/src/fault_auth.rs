//! OUR OWN FAULT AUTHORIZATION SERVER — not a real one. It plays an MCP server with its own
//! authorization server only to misbehave in ways a real one will not on demand: a redirect that
//! names the wrong issuer or carries a forged state, a token endpoint that redirects to another
//! origin, and an authorization endpoint that is a `javascript:` URL. In `Fault::None` it behaves,
//! so a test can show that the failures come from the fault and nothing else.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "fault-token";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    None,
    /// The authorization response names another issuer than the metadata's.
    WrongIssuer,
    /// The authorization response carries a state the client never sent.
    ForgedState,
    /// The token endpoint answers 307 to another origin.
    TokenRedirect,
    /// The authorization endpoint is `javascript:alert(1)`.
    JavascriptAuthorize,
}

#[derive(Default)]
pub struct Hits {
    pub token: AtomicUsize,
    /// Requests that reached the other origin (where a redirected token request would land).
    pub elsewhere: AtomicUsize,
}

struct Shared {
    origin: String,
    elsewhere: String,
    fault: Fault,
    hits: Arc<Hits>,
}

pub struct FaultAuthServer {
    pub url: String,
    pub hits: Arc<Hits>,
    shutdown: CancellationToken,
}

impl Drop for FaultAuthServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn serve(listener: tokio::net::TcpListener, app: axum::Router, stop: CancellationToken) {
    let _ = axum::serve(listener, app).with_graceful_shutdown(async move { stop.cancelled_owned().await }).await;
}

impl FaultAuthServer {
    pub async fn start(fault: Fault) -> Self {
        let main = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let other = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let origin = format!("http://{}", main.local_addr().expect("addr"));
        let elsewhere = format!("http://{}", other.local_addr().expect("addr"));
        let hits = Arc::new(Hits::default());
        let shared = Arc::new(Shared { origin: origin.clone(), elsewhere, fault, hits: Arc::clone(&hits) });
        let app = axum::Router::new()
            .route("/mcp", post(mcp))
            .route("/.well-known/oauth-protected-resource/mcp", get(resource_metadata))
            .route("/.well-known/oauth-authorization-server", get(server_metadata))
            .route("/register", post(register))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(Arc::clone(&shared));
        let thief_hits = Arc::clone(&hits);
        let thief = axum::Router::new().fallback(move || {
            let hits = Arc::clone(&thief_hits);
            async move {
                hits.elsewhere.fetch_add(1, Ordering::SeqCst);
                Json(json!({ "access_token": "stolen", "token_type": "Bearer" }))
            }
        });
        let shutdown = CancellationToken::new();
        tokio::spawn(serve(main, app, shutdown.clone()));
        tokio::spawn(serve(other, thief, shutdown.clone()));
        Self { url: format!("{origin}/mcp"), hits, shutdown }
    }
}

async fn mcp(State(s): State<Arc<Shared>>, headers: HeaderMap, Json(message): Json<Value>) -> Response {
    let authorized = headers.get("authorization").is_some_and(|v| v == format!("Bearer {TOKEN}").as_str());
    if !authorized {
        let challenge = format!(r#"Bearer resource_metadata="{}/.well-known/oauth-protected-resource/mcp""#, s.origin);
        return (StatusCode::UNAUTHORIZED, [("www-authenticate", challenge)]).into_response();
    }
    let Some(id) = message.get("id").cloned() else {
        return StatusCode::ACCEPTED.into_response();
    };
    let result = match message.get("method").and_then(Value::as_str) {
        Some("initialize") => json!({
            "protocolVersion": "2025-11-25", "capabilities": {}, "serverInfo": { "name": "fault-auth", "version": "0" }
        }),
        _ => json!({ "content": [{ "type": "text", "text": "authorized" }] }),
    };
    Json(json!({ "jsonrpc": "2.0", "id": id, "result": result })).into_response()
}

async fn resource_metadata(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "resource": format!("{}/mcp", s.origin), "authorization_servers": [s.origin] }))
}

async fn server_metadata(State(s): State<Arc<Shared>>) -> Json<Value> {
    let authorize = match s.fault {
        Fault::JavascriptAuthorize => "javascript:alert(1)".to_string(),
        _ => format!("{}/authorize", s.origin),
    };
    Json(json!({
        "issuer": s.origin,
        "authorization_endpoint": authorize,
        "token_endpoint": format!("{}/token", s.origin),
        "registration_endpoint": format!("{}/register", s.origin),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "authorization_response_iss_parameter_supported": true
    }))
}

async fn register(Json(body): Json<Value>) -> Response {
    let client = json!({
        "client_id": "fault-client",
        "redirect_uris": body.get("redirect_uris").cloned().unwrap_or(json!([])),
        "token_endpoint_auth_method": "none"
    });
    (StatusCode::CREATED, Json(client)).into_response()
}

async fn authorize(State(s): State<Arc<Shared>>, Query(params): Query<HashMap<String, String>>) -> Response {
    let Some(redirect) = params.get("redirect_uri").and_then(|u| reqwest_free_url(u)) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let state = match s.fault {
        Fault::ForgedState => "forged".to_string(),
        _ => params.get("state").cloned().unwrap_or_default(),
    };
    let iss = match s.fault {
        Fault::WrongIssuer => "https://evil.example".to_string(),
        _ => s.origin.clone(),
    };
    let location = format!("{redirect}?code=fault-code&state={}&iss={}", encode(&state), encode(&iss));
    (StatusCode::FOUND, [("location", location)]).into_response()
}

async fn token(State(s): State<Arc<Shared>>) -> Response {
    s.hits.token.fetch_add(1, Ordering::SeqCst);
    if s.fault == Fault::TokenRedirect {
        let location = format!("{}/token", s.elsewhere);
        return (StatusCode::TEMPORARY_REDIRECT, [("location", location)]).into_response();
    }
    Json(json!({ "access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600 })).into_response()
}

fn reqwest_free_url(uri: &str) -> Option<String> {
    (uri.starts_with("http://127.0.0.1:") || uri.starts_with("http://localhost:")).then(|| uri.to_string())
}

/// `value` percent-encoded for a query string (RFC 3986 unreserved characters kept).
pub(crate) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
