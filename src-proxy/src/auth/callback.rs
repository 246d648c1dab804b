//! The loopback listener that catches the authorization redirect.
//!
//! It is bound (on `--host`, loopback only, and the positional port) before the browser is
//! opened, serves only `GET` of its path (`/callback`, or `--callback-path`), answers the browser
//! with a small page (or a 303 to `--auth-success-url`), ignores requests
//! whose `state` is wrong (a forged or stale redirect), and returns the first valid callback.
//! Connections are served concurrently, each given [`HEAD_TIMEOUT`] to say what it wants: browsers
//! open speculative connections that send nothing, and one of those must not hold up the sign-in.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// The callback's path unless `--callback-path` names another.
pub const DEFAULT_CALLBACK_PATH: &str = "/callback";
const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// How long a connection may take to send its request and be answered.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// What the authorization server sent back.
#[derive(Debug, PartialEq, Eq)]
pub enum Callback {
    /// `code` (and RFC 9207 `iss`, when present).
    Code { code: String, iss: Option<String> },
    /// The user or the server refused: `error` and its description.
    Denied { error: String, description: Option<String> },
}

/// Where the redirect lands, and where the browser goes after it.
#[derive(Debug, Clone)]
pub struct Landing {
    pub path: String,
    /// Sent a 303 here after a successful sign-in instead of shown our page.
    pub success_url: Option<String>,
}

impl Default for Landing {
    fn default() -> Self {
        Self { path: DEFAULT_CALLBACK_PATH.to_string(), success_url: None }
    }
}

pub struct CallbackListener {
    listener: TcpListener,
    redirect_uri: String,
    landing: Arc<Landing>,
}

impl CallbackListener {
    /// Binds `host:port` (port 0: any free port). `host` is a loopback name or address.
    pub async fn bind(host: &str, port: u16, landing: &Landing) -> io::Result<Self> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let listener = TcpListener::bind((bare, port)).await?;
        let bound: SocketAddr = listener.local_addr()?;
        let shown_host = if bare.contains(':') { format!("[{bare}]") } else { bare.to_string() };
        let redirect_uri = format!("http://{shown_host}:{}{}", bound.port(), landing.path);
        Ok(Self { listener, redirect_uri, landing: Arc::new(landing.clone()) })
    }

    /// `http://<host>:<port>/callback`, to register and to send as `redirect_uri`.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Serves connections, all at once, until one carries `expected_state`; returns what it
    /// carried. The connections still open then are dropped.
    pub async fn wait(self, expected_state: &str) -> io::Result<Callback> {
        let expected: Arc<str> = Arc::from(expected_state);
        let mut serving = JoinSet::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (stream, _) = accepted?;
                    let (expected, landing) = (Arc::clone(&expected), Arc::clone(&self.landing));
                    serving.spawn(async move {
                        tokio::time::timeout(HEAD_TIMEOUT, serve_one(stream, &expected, &landing)).await.ok().flatten()
                    });
                }
                Some(served) = serving.join_next(), if !serving.is_empty() => {
                    if let Ok(Some(callback)) = served {
                        return Ok(callback);
                    }
                }
            }
        }
    }
}

/// Answers one connection; returns the callback when it is the valid one.
async fn serve_one(mut stream: TcpStream, expected_state: &str, landing: &Landing) -> Option<Callback> {
    let head = read_head(&mut stream).await?;
    let target = head.lines().next().and_then(|line| {
        let mut parts = line.split_whitespace();
        (parts.next() == Some("GET")).then(|| parts.next()).flatten()
    });
    let Some(target) = target else {
        respond(&mut stream, "405 Method Not Allowed", "Only the sign-in redirect is served here.").await;
        return None;
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != landing.path {
        respond(&mut stream, "404 Not Found", "Nothing here.").await;
        return None;
    }
    let params: HashMap<String, String> = form_urlencoded_pairs(query);
    if params.get("state").map(String::as_str) != Some(expected_state) {
        respond(
            &mut stream,
            "400 Bad Request",
            "This sign-in response does not belong to the sign-in in progress (state mismatch). Start the sign-in again.",
        )
        .await;
        return None;
    }
    if let Some(error) = params.get("error") {
        respond(&mut stream, "200 OK", "Sign-in was not completed. You can close this tab and try again.").await;
        return Some(Callback::Denied { error: error.clone(), description: params.get("error_description").cloned() });
    }
    let Some(code) = params.get("code") else {
        respond(&mut stream, "400 Bad Request", "The sign-in response carries no authorization code.").await;
        return None;
    };
    match &landing.success_url {
        Some(url) => redirect(&mut stream, url).await,
        None => {
            respond(&mut stream, "200 OK", "Signed in. You can close this tab and return to your MCP client.").await
        }
    }
    Some(Callback::Code { code: code.clone(), iss: params.get("iss").cloned() })
}

async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() + n > MAX_REQUEST_HEAD {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(head).ok()
}

async fn redirect(stream: &mut TcpStream, location: &str) {
    let head = format!("HTTP/1.1 303 See Other\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn respond(stream: &mut TcpStream, status: &str, message: &str) {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>mcp-remote</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h2>mcp-remote</h2><p>{message}</p></body></html>"
    );
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Decodes `a=1&b=x%20y` (application/x-www-form-urlencoded).
fn form_urlencoded_pairs(query: &str) -> HashMap<String, String> {
    reqwest::Url::parse(&format!("http://callback/?{query}"))
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(uri: &str, path: &str) -> String {
        let addr = uri.trim_start_matches("http://").split('/').next().unwrap().to_string();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).await.unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn wrong_state_and_paths_are_refused_and_the_right_one_returns() {
        let listener = CallbackListener::bind("127.0.0.1", 0, &Landing::default()).await.unwrap();
        let uri = listener.redirect_uri().to_string();
        assert!(uri.starts_with("http://127.0.0.1:") && uri.ends_with("/callback"));
        let waiting = tokio::spawn(listener.wait("s-123"));
        assert!(get(&uri, "/favicon.ico").await.starts_with("HTTP/1.1 404"));
        assert!(get(&uri, "/callback?code=evil&state=forged").await.starts_with("HTTP/1.1 400"));
        let ok = get(&uri, "/callback?code=c%2F1&state=s-123&iss=https%3A%2F%2Fas.example").await;
        assert!(ok.starts_with("HTTP/1.1 200") && ok.contains("Signed in"));
        assert_eq!(
            waiting.await.unwrap().unwrap(),
            Callback::Code { code: "c/1".into(), iss: Some("https://as.example".into()) }
        );
    }

    /// A browser's speculative connections send nothing; held open, they must not stall the
    /// sign-in (before, the listener served one connection at a time with no read timeout).
    #[tokio::test]
    async fn idle_connections_do_not_hold_up_the_callback() {
        let listener = CallbackListener::bind("127.0.0.1", 0, &Landing::default()).await.unwrap();
        let uri = listener.redirect_uri().to_string();
        let addr = uri.trim_start_matches("http://").split('/').next().unwrap().to_string();
        let waiting = tokio::spawn(listener.wait("s"));
        let _idle = [TcpStream::connect(&addr).await.unwrap(), TcpStream::connect(&addr).await.unwrap()];
        let mut half = TcpStream::connect(&addr).await.unwrap();
        half.write_all(b"GET /callback?code=x&st").await.unwrap();
        let served = tokio::time::timeout(Duration::from_secs(5), async {
            assert!(get(&uri, "/favicon.ico").await.starts_with("HTTP/1.1 404"));
            assert!(get(&uri, "/callback?code=c&state=s").await.starts_with("HTTP/1.1 200"));
            waiting.await.unwrap().unwrap()
        });
        let callback = served.await.expect("the idle connections held up the sign-in");
        assert_eq!(callback, Callback::Code { code: "c".into(), iss: None });
    }

    #[tokio::test]
    async fn a_denial_with_the_right_state_ends_the_wait() {
        let listener = CallbackListener::bind("localhost", 0, &Landing::default()).await.unwrap();
        let uri = listener.redirect_uri().to_string();
        assert!(uri.starts_with("http://localhost:"));
        let waiting = tokio::spawn(listener.wait("s"));
        get(&uri, "/callback?error=access_denied&error_description=no&state=s").await;
        assert_eq!(
            waiting.await.unwrap().unwrap(),
            Callback::Denied { error: "access_denied".into(), description: Some("no".into()) }
        );
    }

    #[tokio::test]
    async fn a_custom_path_is_served_and_success_redirects_to_the_given_page() {
        let landing =
            Landing { path: "/oauth/callback".into(), success_url: Some("https://docs.example/signed-in".into()) };
        let listener = CallbackListener::bind("127.0.0.1", 0, &landing).await.unwrap();
        let uri = listener.redirect_uri().to_string();
        assert!(uri.ends_with("/oauth/callback"), "{uri}");
        let waiting = tokio::spawn(listener.wait("s"));
        assert!(get(&uri, "/callback?code=c&state=s").await.starts_with("HTTP/1.1 404"));
        let answer = get(&uri, "/oauth/callback?code=c&state=s").await;
        assert!(
            answer.starts_with("HTTP/1.1 303") && answer.contains("Location: https://docs.example/signed-in"),
            "{answer}"
        );
        assert_eq!(waiting.await.unwrap().unwrap(), Callback::Code { code: "c".into(), iss: None });
    }

    #[tokio::test]
    async fn ipv6_loopback_uri_is_bracketed() {
        if let Ok(listener) = CallbackListener::bind("::1", 0, &Landing::default()).await {
            assert!(listener.redirect_uri().starts_with("http://[::1]:"));
        }
    }
}
