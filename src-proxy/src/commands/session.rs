//! A small MCP client in this process, talking to the proxy over an in-memory pipe: what `login`
//! and `client` use, so they sign in, negotiate and recover exactly as the sidecar does.

use crate::cli::Config;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The protocol revision this client asks for (the one Claude Desktop speaks).
const PROTOCOL_VERSION: &str = "2025-11-25";
/// Room for one large message in the pipe before the proxy waits for us to read.
const PIPE_BYTES: usize = 1 << 20;

pub struct Session {
    to_proxy: DuplexStream,
    from_proxy: Lines<BufReader<DuplexStream>>,
    proxy: JoinHandle<Result<(), crate::RunError>>,
    shutdown: CancellationToken,
    next_id: u64,
}

impl Session {
    /// Starts the proxy for `config` in this process.
    pub fn start(config: Config) -> Self {
        let (to_proxy, proxy_input) = tokio::io::duplex(PIPE_BYTES);
        let (proxy_output, from_proxy) = tokio::io::duplex(PIPE_BYTES);
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let proxy = tokio::spawn(async move {
            crate::proxy::run(&config, proxy_input, crate::stdio::Output::writer(proxy_output), stop).await
        });
        Self { to_proxy, from_proxy: BufReader::new(from_proxy).lines(), proxy, shutdown, next_id: 1 }
    }

    /// `initialize` and `notifications/initialized`; the server's `initialize` result.
    pub async fn initialize(&mut self) -> Result<Value, String> {
        let params = json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": { "name": "mcp-remote-client", "version": env!("CARGO_PKG_VERSION") },
        });
        let result = self.request("initialize", params).await?;
        self.send(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" })).await?;
        Ok(result)
    }

    /// Sends a request and waits for its answer: the result, or the error in words.
    pub async fn request(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })).await?;
        loop {
            let line = match self.from_proxy.next_line().await {
                Ok(Some(line)) => line,
                Ok(None) => return Err(self.proxy_ended().await),
                Err(e) => return Err(format!("cannot read from the proxy: {e}")),
            };
            let Ok(message) = serde_json::from_str::<Value>(&line) else { continue };
            if message.get("id") != Some(&json!(id)) || message.get("method").is_some() {
                // A server request or notification: this client offers no capabilities, so
                // requests get method-not-found and notifications are ignored.
                if let (Some(their_id), Some(_)) = (message.get("id"), message.get("method")) {
                    let refusal = json!({ "jsonrpc": "2.0", "id": their_id, "error": { "code": -32601, "message": "Method not found" } });
                    self.send(&refusal).await?;
                }
                continue;
            }
            if let Some(error) = message.get("error") {
                let text = error.get("message").and_then(Value::as_str).unwrap_or("an error without a message");
                return Err(format!("{method}: {text}"));
            }
            return Ok(message.get("result").cloned().unwrap_or(Value::Null));
        }
    }

    async fn send(&mut self, message: &Value) -> Result<(), String> {
        let mut line = serde_json::to_vec(message).expect("a JSON value encodes");
        line.push(b'\n');
        match self.to_proxy.write_all(&line).await {
            Ok(()) => Ok(()),
            Err(_) => Err(self.proxy_ended().await),
        }
    }

    async fn proxy_ended(&mut self) -> String {
        match (&mut self.proxy).await {
            Ok(Err(error)) => error.to_string(),
            _ => "the proxy stopped".into(),
        }
    }

    /// Ends the session as a client closing stdin would (the server's session is deleted).
    pub async fn close(self) {
        let Self { to_proxy, proxy, shutdown, .. } = self;
        drop(to_proxy);
        if tokio::time::timeout(std::time::Duration::from_secs(10), proxy).await.is_err() {
            shutdown.cancel();
        }
    }
}
