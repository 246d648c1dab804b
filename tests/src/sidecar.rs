//! A spawned `mcp-remote` with a small MCP client on its stdio, as Claude Desktop runs it.
//!
//! The client sends requests and waits for their responses by id, answers server-to-client
//! requests (roots, sampling, elicitation with defaults), collects notifications, and records
//! every stdout line that is not JSON-RPC as a protocol violation. Each sidecar gets its own
//! config dir and a scrubbed environment; it is killed on drop, and a failing test prints the
//! tail of its stderr.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

/// Upper bound for any single wait in a test; a hang fails instead of blocking CI.
pub const WAIT: Duration = Duration::from_secs(30);

/// The protocol version the test client asks for.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// Finds the built `mcp-remote`: `MCP_REMOTE_BIN`, else beside the running executable (a test in
/// `target/<profile>/deps/` or a binary in `target/<profile>/`).
pub fn binary_path() -> PathBuf {
    if let Some(path) = std::env::var_os("MCP_REMOTE_BIN") {
        return PathBuf::from(path);
    }
    let name = format!("mcp-remote{}", std::env::consts::EXE_SUFFIX);
    let exe = std::env::current_exe().expect("current_exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    loop {
        let candidate = dir.join(&name);
        if candidate.is_file() {
            return candidate;
        }
        if !dir.pop() || dir.file_name().is_some_and(|n| n == "target") {
            panic!(
                "mcp-remote binary not found near {}; run `cargo build -p mcp-remote` first or set MCP_REMOTE_BIN",
                exe.display()
            );
        }
    }
}

/// True when the sidecar under test is the Windows build, run under Wine by `scripts/wine-sidecar`
/// (`MCP_REMOTE_BIN_OS=windows` says so). A test then checks what Windows has in place of a Unix
/// behaviour: an owner-only ACL for file modes (Wine keeps it as mode bits), Ctrl-C for SIGTERM, and
/// byte-range locks for flock(2).
pub fn sidecar_is_windows() -> bool {
    std::env::var_os("MCP_REMOTE_BIN_OS").is_some_and(|os| os == "windows")
}

/// The tray app's lock on a config dir, held by the test as the tray app would hold it.
pub enum TrayPart {
    Native(mcp_remote::store::TrayLock),
    /// Wine's LockFileEx is a POSIX record lock on the Unix side, which the flock(2) lock Linux's
    /// std takes does not conflict with: for the Windows build a helper holds a POSIX lock.
    Posix(Child),
}

/// Holds the tray lock of `store` until dropped, so sidecars hand their sign-ins to "the tray".
pub async fn play_the_tray(store: &mcp_remote::store::Store) -> TrayPart {
    if !sidecar_is_windows() {
        return TrayPart::Native(store.hold_tray_lock().unwrap().expect("the tray lock is free"));
    }
    std::fs::create_dir_all(store.root()).unwrap();
    let helper = crate::peers::peers_dir().parent().unwrap().join("wine/hold_posix_lock.py");
    let mut child = Command::new(crate::peers::python())
        .arg(helper)
        .arg(store.root().join("tray.lock"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn hold_posix_lock.py");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let held = tokio::time::timeout(WAIT, lines.next_line()).await.expect("hold_posix_lock.py took too long");
    assert_eq!(held.unwrap().as_deref(), Some("held"), "hold_posix_lock.py did not take the lock");
    TrayPart::Posix(child)
}

/// How the client answers a server-to-client request: `Ok(result)` or `Err((code, message))`.
pub type Handler = Arc<dyn Fn(&str, &Value) -> Result<Value, (i64, String)> + Send + Sync>;

/// Answers like a cooperative desktop client: no roots, a canned sampling reply, and elicitation
/// accepted with every default of the requested schema.
pub fn default_handler() -> Handler {
    Arc::new(|method, params| match method {
        "ping" => Ok(json!({})),
        "roots/list" => Ok(json!({ "roots": [{ "uri": "file:///tmp/project", "name": "project" }] })),
        "sampling/createMessage" => Ok(json!({
            "role": "assistant",
            "content": { "type": "text", "text": "sampled by the test client" },
            "model": "test-model",
            "stopReason": "endTurn"
        })),
        "elicitation/create" => {
            let mut content = serde_json::Map::new();
            if let Some(properties) = params.pointer("/requestedSchema/properties").and_then(Value::as_object) {
                for (name, schema) in properties {
                    if let Some(default) = schema.get("default") {
                        content.insert(name.clone(), default.clone());
                    }
                }
            }
            Ok(json!({ "action": "accept", "content": content }))
        }
        other => Err((-32601, format!("method not found: {other}"))),
    })
}

/// Options for [`Sidecar::spawn_with`].
pub struct Launch {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub handler: Handler,
    /// A config dir shared with other sidecars (kept on drop); default: a fresh one of its own.
    pub config_dir: Option<PathBuf>,
}

impl Launch {
    /// `mcp-remote <url> --allow-http --debug` with the default handler: every test's log is
    /// checked for secrets at exit ([`Sidecar::wait_exit`]).
    pub fn new(url: &str) -> Self {
        Self {
            args: vec![url.to_string(), "--allow-http".to_string(), "--debug".to_string()],
            env: Vec::new(),
            handler: default_handler(),
            config_dir: None,
        }
    }

    /// Uses `dir` as the config dir (not removed on drop), as sidecars of one user share it.
    pub fn config_dir(mut self, dir: &Path) -> Self {
        self.config_dir = Some(dir.to_path_buf());
        self
    }

    /// Sign-in through `tests/peers/browser.sh`, which follows the redirects and notes each
    /// invocation in `log`.
    pub fn browser(self, log: &Path) -> Self {
        let script = crate::peers::peers_dir().join("browser.sh");
        self.env("BROWSER", &script.to_string_lossy()).env("BROWSER_LOG", &log.to_string_lossy())
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }
}

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>;

pub struct Sidecar {
    child: Child,
    stdin: Option<mpsc::UnboundedSender<Vec<u8>>>,
    waiters: Waiters,
    notifications: mpsc::UnboundedReceiver<Value>,
    unmatched: mpsc::UnboundedReceiver<Value>,
    violations: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    stdout_closed: Option<oneshot::Receiver<()>>,
    next_id: std::sync::atomic::AtomicI64,
    config_dir: PathBuf,
    owns_config_dir: bool,
}

/// A unique, empty directory under the system temp dir.
pub fn fresh_config_dir() -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("mcp-remote-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("config dir");
    dir
}

impl Sidecar {
    /// Spawns `mcp-remote <url> --allow-http`.
    pub fn spawn(url: &str) -> Self {
        Self::spawn_with(Launch::new(url))
    }

    pub fn spawn_with(launch: Launch) -> Self {
        let owns_config_dir = launch.config_dir.is_none();
        let config_dir = launch.config_dir.clone().unwrap_or_else(fresh_config_dir);
        let mut command = Command::new(binary_path());
        command
            .args(&launch.args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &config_dir)
            .env("MCP_REMOTE_CONFIG_DIR", &config_dir)
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("spawn mcp-remote");
        let (stdin_tx, mut stdin_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let mut stdin = child.stdin.take().expect("stdin");
        tokio::spawn(async move {
            while let Some(line) = stdin_rx.recv().await {
                if stdin.write_all(&line).await.is_err() || stdin.write_all(b"\n").await.is_err() {
                    break;
                }
                let _ = stdin.flush().await;
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut child_stderr = child.stderr.take().expect("stderr");
        let stderr_sink = Arc::clone(&stderr);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            while let Ok(n) = child_stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                stderr_sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let waiters: Waiters = Arc::default();
        let violations = Arc::new(Mutex::new(Vec::new()));
        let (notify_tx, notifications) = mpsc::unbounded_channel();
        let (unmatched_tx, unmatched) = mpsc::unbounded_channel();
        let (closed_tx, stdout_closed) = oneshot::channel();
        let reader = Reader {
            waiters: Arc::clone(&waiters),
            violations: Arc::clone(&violations),
            notifications: notify_tx,
            unmatched: unmatched_tx,
            handler: launch.handler,
            stdin: stdin_tx.downgrade(),
        };
        let stdout = child.stdout.take().expect("stdout");
        tokio::spawn(async move {
            let mut stdout = BufReader::new(stdout);
            let mut line = Vec::new();
            while stdout.read_until(b'\n', &mut line).await.is_ok_and(|n| n > 0) {
                let text = line.strip_suffix(b"\n").unwrap_or(&line);
                match std::str::from_utf8(text) {
                    Ok(text) => reader.take(text),
                    Err(_) => {
                        reader.violations.lock().unwrap().push(format!("not UTF-8: {}", String::from_utf8_lossy(text)))
                    }
                }
                line.clear();
            }
            let _ = closed_tx.send(());
        });
        Self {
            child,
            stdin: Some(stdin_tx),
            waiters,
            notifications,
            unmatched,
            violations,
            stderr,
            stdout_closed: Some(stdout_closed),
            next_id: std::sync::atomic::AtomicI64::new(1),
            config_dir,
            owns_config_dir,
        }
    }

    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// Writes one raw line to the sidecar's stdin.
    pub fn send_raw(&self, line: &str) {
        self.send_bytes(line.as_bytes());
    }

    /// Writes one line of any bytes (not necessarily UTF-8) to the sidecar's stdin.
    pub fn send_bytes(&self, line: &[u8]) {
        self.stdin.as_ref().expect("stdin open").send(line.to_vec()).expect("stdin writer");
    }

    /// Registers interest in the response to `id` (for requests sent with [`Self::send_raw`]).
    pub fn expect_response(&self, id: Value) -> oneshot::Receiver<Value> {
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().unwrap().insert(id.to_string(), tx);
        rx
    }

    /// Sends a message and returns a receiver for the response to `id`.
    pub fn send_request(&self, id: Value, method: &str, params: Value) -> oneshot::Receiver<Value> {
        let rx = self.expect_response(id.clone());
        self.send_raw(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }).to_string());
        rx
    }

    /// Sends a request with a fresh numeric id and waits (bounded) for its response message.
    pub async fn request(&self, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let rx = self.send_request(json!(id), method, params);
        self.wait_response(rx, method).await
    }

    pub async fn wait_response(&self, rx: oneshot::Receiver<Value>, what: &str) -> Value {
        match tokio::time::timeout(WAIT, rx).await {
            Ok(Ok(response)) => response,
            Ok(Err(_)) => panic!("{what}: stdout closed before the response\n{}", self.stderr_tail()),
            Err(_) => panic!("{what}: no response within {WAIT:?}\n{}", self.stderr_tail()),
        }
    }

    /// `tools/call` returning the result's first text content; panics on an error response.
    pub async fn call_tool(&self, name: &str, arguments: Value) -> String {
        let response = self.request("tools/call", json!({ "name": name, "arguments": arguments })).await;
        tool_text(&response).unwrap_or_else(|| panic!("tools/call {name} failed: {response}\n{}", self.stderr_tail()))
    }

    pub fn notify(&self, method: &str, params: Value) {
        self.send_raw(&json!({ "jsonrpc": "2.0", "method": method, "params": params }).to_string());
    }

    /// Sends `initialize` (declaring roots, sampling and elicitation) with id 0 and returns a
    /// receiver for its answer, whatever it is.
    pub fn send_initialize(&self) -> oneshot::Receiver<Value> {
        let params = json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": { "roots": { "listChanged": true }, "sampling": {}, "elicitation": {} },
            "clientInfo": { "name": "mcp-remote-tests", "version": "1.0.0" }
        });
        self.send_request(json!(0), "initialize", params)
    }

    /// The answer to `initialize`, success or error.
    pub async fn initialize_answer(&self) -> Value {
        let answer = self.send_initialize();
        self.wait_response(answer, "initialize").await
    }

    /// `initialize`, which must succeed, then `notifications/initialized`.
    pub async fn initialize(&self) -> Value {
        let response = self.initialize_answer().await;
        assert!(response.get("result").is_some(), "initialize failed: {response}\n{}", self.stderr_tail());
        self.notify("notifications/initialized", json!({}));
        response
    }

    /// The next server notification or request seen on stdout.
    pub async fn next_notification(&mut self) -> Value {
        match tokio::time::timeout(WAIT, self.notifications.recv()).await {
            Ok(Some(message)) => message,
            _ => panic!("no server notification within {WAIT:?}\n{}", self.stderr_tail()),
        }
    }

    /// Server notifications and requests that arrived and were not taken yet.
    pub fn drain_notifications(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        while let Ok(message) = self.notifications.try_recv() {
            out.push(message);
        }
        out
    }

    /// The next response whose id nobody was waiting for (e.g. the `null` id of a parse error).
    pub async fn next_unmatched(&mut self) -> Value {
        match tokio::time::timeout(WAIT, self.unmatched.recv()).await {
            Ok(Some(message)) => message,
            _ => panic!("no unmatched response within {WAIT:?}\n{}", self.stderr_tail()),
        }
    }

    /// Responses nobody waited for that arrived so far (duplicates would show up here).
    pub fn drain_unmatched(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        while let Ok(message) = self.unmatched.try_recv() {
            out.push(message);
        }
        out
    }

    /// Every stdout line that was not a JSON-RPC message.
    pub fn violations(&self) -> Vec<String> {
        self.violations.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn stderr_tail(&self) -> String {
        let stderr = self.stderr();
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        format!("--- mcp-remote stderr (tail) ---\n{tail}\n---")
    }

    /// Closes stdin (as Claude Desktop does on quit) and waits for the exit, bounded.
    pub async fn close(&mut self) -> ExitStatus {
        self.stdin = None;
        self.wait_exit().await
    }

    /// Waits for the process to exit and its stdout to be fully read.
    pub async fn wait_exit(&mut self) -> ExitStatus {
        let status = match tokio::time::timeout(WAIT, self.child.wait()).await {
            Ok(status) => status.expect("wait"),
            Err(_) => panic!("mcp-remote did not exit within {WAIT:?}\n{}", self.stderr_tail()),
        };
        if let Some(closed) = self.stdout_closed.take() {
            let _ = tokio::time::timeout(WAIT, closed).await;
        }
        self.assert_no_stored_secret_in_stderr();
        status
    }

    /// Every sidecar logs with `--debug`: none of the tokens and client secrets now stored in
    /// its config dir may appear in what it wrote to stderr.
    fn assert_no_stored_secret_in_stderr(&self) {
        let stderr = self.stderr();
        for secret in stored_secrets(&self.config_dir) {
            assert!(!stderr.contains(&secret), "a stored secret ({} bytes) appears in the --debug log", secret.len());
        }
    }

    /// Sends a signal to the process (Unix).
    #[cfg(unix)]
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
    }
}

/// The token and client-secret values in the `tokens.json` and `client.json` files under `dir`.
fn stored_secrets(dir: &Path) -> Vec<String> {
    let mut secrets = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if !matches!(path.file_name().and_then(|n| n.to_str()), Some("tokens.json" | "client.json")) {
                continue;
            }
            let Ok(value) = std::fs::read(&path).map(|b| serde_json::from_slice::<Value>(&b).unwrap_or_default())
            else {
                continue;
            };
            collect_secrets(&value, &mut secrets);
        }
    }
    secrets
}

fn collect_secrets(value: &Value, secrets: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("access_token" | "refresh_token" | "client_secret", Value::String(secret))
                        if secret.len() >= 8 =>
                    {
                        secrets.push(secret.clone())
                    }
                    _ => collect_secrets(value, secrets),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_secrets(item, secrets)),
        _ => {}
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.stderr_tail());
        }
        if self.owns_config_dir {
            let _ = std::fs::remove_dir_all(&self.config_dir);
        }
    }
}

/// The first text content of a successful `tools/call` response.
pub fn tool_text(response: &Value) -> Option<String> {
    let result = response.get("result")?;
    if result.get("isError") == Some(&Value::Bool(true)) {
        return None;
    }
    result.pointer("/content/0/text").and_then(Value::as_str).map(str::to_owned)
}

struct Reader {
    waiters: Waiters,
    violations: Arc<Mutex<Vec<String>>>,
    notifications: mpsc::UnboundedSender<Value>,
    unmatched: mpsc::UnboundedSender<Value>,
    handler: Handler,
    /// Weak, so that closing the sidecar's stdin is not held up by the reader.
    stdin: mpsc::WeakUnboundedSender<Vec<u8>>,
}

impl Reader {
    fn take(&self, line: &str) {
        let message: Value = match serde_json::from_str(line) {
            Ok(Value::Object(map)) if map.get("jsonrpc") == Some(&json!("2.0")) => Value::Object(map),
            _ => {
                self.violations.lock().unwrap().push(line.to_string());
                return;
            }
        };
        let method = message.get("method").and_then(Value::as_str);
        let id = message.get("id");
        match (method, id) {
            (Some(method), Some(id)) => {
                let params = message.get("params").cloned().unwrap_or(Value::Null);
                let reply = match (self.handler)(method, &params) {
                    Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
                    Err((code, text)) => {
                        json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": text } })
                    }
                };
                let _ = self.notifications.send(message.clone());
                if let Some(stdin) = self.stdin.upgrade() {
                    let _ = stdin.send(reply.to_string().into_bytes());
                }
            }
            (Some(_), None) => {
                let _ = self.notifications.send(message);
            }
            (None, Some(id)) => {
                let waiter = self.waiters.lock().unwrap().remove(&id.to_string());
                match waiter {
                    Some(waiter) => {
                        let _ = waiter.send(message);
                    }
                    None => {
                        let _ = self.unmatched.send(message);
                    }
                }
            }
            (None, None) => {
                let _ = self.unmatched.send(message);
            }
        }
    }
}
