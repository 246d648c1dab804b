//! What a hostile server can make the proxy hold, and what it can put on stdout, with OUR OWN
//! hostile server (see its module doc; no real server floods or lies on demand): while the client
//! reads nothing, floods of small, 300 KiB and 200 MiB notifications stop at the server (TCP
//! backpressure) with the proxy's memory and spool within budget, and every message arrives, in
//! order, once the client reads again; a 1 MB answer that is not JSON and a 1 MiB SSE comment line
//! each get a JSON-RPC error, and nothing but JSON reaches stdout.

use mcp_remote_tests::hostile_server::{notification, HostileServer, Report};
use mcp_remote_tests::process::{deleted_file_bytes, peak_rss};
use mcp_remote_tests::sidecar::{binary_path, fresh_config_dir, Sidecar};
use serde_json::{json, Value};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio_util::sync::CancellationToken;

/// The proxy's peak resident memory must stay under this, whatever the server sends.
const RSS_LIMIT: u64 = 64_000_000;
/// The proxy's spool on disk must stay under this.
const SPOOL_LIMIT: u64 = 512_000_000;
/// Upper bound for a flood's wait or its delivery; a hang fails instead of blocking CI.
const FLOOD_WAIT: Duration = Duration::from_secs(180);
/// Lines up to this size are kept whole and parsed; longer ones are checked by their ends and length.
const WHOLE: usize = 1 << 20;
/// How much of each end of a long line is kept.
const END: usize = 256;

/// One stdout line: whole when short, else its first and last [`END`] bytes, and its length.
struct Line {
    len: usize,
    head: Vec<u8>,
    tail: Vec<u8>,
    whole: Option<Vec<u8>>,
}

/// Reads one line in constant memory (a 200 MiB line is not held).
async fn read_line(reader: &mut (impl AsyncBufRead + Unpin)) -> Line {
    let mut line = Line { len: 0, head: Vec::new(), tail: Vec::new(), whole: Some(Vec::new()) };
    loop {
        let buf = reader.fill_buf().await.expect("stdout readable");
        assert!(!buf.is_empty(), "stdout ended inside or before a line");
        let (part, ended) = match memchr::memchr(b'\n', buf) {
            Some(at) => (&buf[..at], true),
            None => (buf, false),
        };
        let head_room = END.saturating_sub(line.head.len()).min(part.len());
        line.head.extend_from_slice(&part[..head_room]);
        if part.len() >= END {
            line.tail.clear();
            line.tail.extend_from_slice(&part[part.len() - END..]);
        } else {
            line.tail.extend_from_slice(part);
            let excess = line.tail.len().saturating_sub(END);
            line.tail.drain(..excess);
        }
        line.whole = line.whole.take().filter(|whole| whole.len() + part.len() <= WHOLE).map(|mut whole| {
            whole.extend_from_slice(part);
            whole
        });
        line.len += part.len();
        let used = part.len() + usize::from(ended);
        reader.consume(used);
        if ended {
            return line;
        }
    }
}

/// The proxy as a client that can stop reading: raw pipes, no reader task.
struct Proxy {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<tokio::process::ChildStdout>,
    stderr: Arc<Mutex<String>>,
}

impl Proxy {
    async fn start(url: &str) -> Self {
        let config_dir = fresh_config_dir();
        let mut child = Command::new(binary_path())
            .args([url, "--allow-http"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &config_dir)
            .env("MCP_REMOTE_CONFIG_DIR", &config_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn mcp-remote");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut child_stderr = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&stderr);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            while let Ok(n @ 1..) = child_stderr.read(&mut buf).await {
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::with_capacity(1 << 20, child.stdout.take().expect("stdout"));
        let mut proxy = Self { child, stdin, stdout, stderr };
        proxy
            .send(json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "budgets", "version": "0" }
            }}))
            .await;
        let answer = proxy.read_json().await;
        assert!(answer["result"]["protocolVersion"].is_string(), "initialize: {answer}\n{}", proxy.stderr_tail());
        proxy.send(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" })).await;
        proxy
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    async fn send(&mut self, message: Value) {
        let line = format!("{message}\n");
        self.stdin.write_all(line.as_bytes()).await.expect("stdin");
        self.stdin.flush().await.expect("stdin");
    }

    async fn read_json(&mut self) -> Value {
        let line = tokio::time::timeout(FLOOD_WAIT, read_line(&mut self.stdout)).await.expect("a line in time");
        serde_json::from_slice(line.whole.as_deref().expect("a short line")).expect("stdout line is JSON")
    }

    fn stderr_tail(&self) -> String {
        let text = self.stderr.lock().unwrap();
        text[text.len().saturating_sub(4000)..].to_string()
    }
}

/// Samples the spool of `pid` until `stop`; returns the largest seen. (Measurement, not
/// synchronisation: the test waits on the server's reports.)
fn sample_spool(pid: u32, stop: CancellationToken) -> tokio::task::JoinHandle<u64> {
    let largest = Arc::new(AtomicU64::new(0));
    tokio::spawn(async move {
        while !stop.is_cancelled() {
            largest.fetch_max(deleted_file_bytes(pid), Ordering::Relaxed);
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
                () = stop.cancelled() => {}
            }
        }
        largest.load(Ordering::Relaxed)
    })
}

/// Asks for a flood of `count` notifications of `pad` bytes of padding, reads nothing until the
/// server reports that its writes stalled, then reads every message and checks it is the next
/// one, whole. Checks the proxy's peak memory and spool against the limits.
async fn flood_while_the_client_is_away(count: u64, pad: usize) {
    let server = HostileServer::start().await;
    let mut proxy = Proxy::start(&server.url).await;
    let pid = proxy.pid();
    let stop = CancellationToken::new();
    let spool = sample_spool(pid, stop.clone());
    let arguments = json!({ "count": count, "pad": pad });
    proxy.send(json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": { "name": "flood", "arguments": arguments } })).await;

    let report = tokio::time::timeout(FLOOD_WAIT, server.next_report()).await.expect("a report from the server");
    let (rss_away, spool_away) = (peak_rss(pid), deleted_file_bytes(pid));
    eprintln!("client away: {report:?}, peak RSS {rss_away} B, spool {spool_away} B");
    assert!(
        matches!(report, Report::Stalled { .. }),
        "the server sent everything while the client read nothing ({report:?}): the proxy held it all"
    );

    let reading = async {
        for n in 0..count {
            let line = read_line(&mut proxy.stdout).await;
            let (head, tail) = notification(n);
            assert_eq!(line.len, head.len() + pad + tail.len(), "notification {n}'s length");
            assert!(line.head.starts_with(&head.as_bytes()[..head.len().min(END)]), "notification {n} expected");
            assert!(line.tail.ends_with(tail.as_bytes()), "notification {n} ends whole");
            if let Some(whole) = &line.whole {
                let message: Value = serde_json::from_slice(whole).expect("stdout line is JSON");
                let data = message["params"]["data"].as_str().expect("data");
                assert!(data.starts_with(&format!("{n}:")) && data.len() == format!("{n}:").len() + pad);
            }
        }
        proxy.read_json().await
    };
    let answer = tokio::time::timeout(FLOOD_WAIT, reading).await.expect("every message in time");
    assert_eq!(answer["id"], 2, "the answer comes after the notifications");
    assert_eq!(answer["result"]["content"][0]["text"], "flooded");
    assert!(matches!(server.next_report().await, Report::Finished { .. }));
    stop.cancel();
    let (rss, spool) = (peak_rss(pid), spool.await.unwrap());
    eprintln!("{count} x {pad} B: peak RSS {rss} B, largest spool {spool} B");
    assert!(rss < RSS_LIMIT, "peak RSS {rss} B\n{}", proxy.stderr_tail());
    assert!(spool < SPOOL_LIMIT, "spool {spool} B\n{}", proxy.stderr_tail());
    drop(proxy.stdin);
    let status = tokio::time::timeout(FLOOD_WAIT, proxy.child.wait()).await.expect("exit in time").unwrap();
    assert!(status.success(), "exit {status}\n{}", proxy.stderr.lock().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_300_000_notifications_waits_at_the_server_and_all_arrive() {
    flood_while_the_client_is_away(300_000, 128).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_1000_notifications_of_300_kib_waits_at_the_server_and_all_arrive() {
    flood_while_the_client_is_away(1000, 300 << 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_notifications_of_200_mib_wait_at_the_server_within_the_spool_budget_and_all_arrive() {
    flood_while_the_client_is_away(10, 200 << 20).await;
}

/// A 1 MB answer (spooled) with a raw control character in a string, or a bad literal, as a
/// JSON body and as an SSE event: the client gets a JSON-RPC error for its id, and stdout never
/// carries a line that is not JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_answer_that_is_not_json_gets_an_error_and_never_reaches_stdout() {
    let server = HostileServer::start().await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    for format in ["json", "sse"] {
        for fault in ["control", "literal"] {
            let arguments = json!({ "as": format, "fault": fault });
            let response =
                sidecar.request("tools/call", json!({ "name": "invalid_large", "arguments": arguments })).await;
            assert!(response.get("result").is_none(), "{format} {fault}: {response}");
            assert!(response["error"]["code"].is_i64(), "{format} {fault}: {response}");
        }
    }
    assert_eq!(sidecar.call_tool("still_serving", json!({})).await, "still_serving");
    assert_eq!(sidecar.violations(), Vec::<String>::new());
    assert!(sidecar.close().await.success());
}

/// An event stream whose first line is a 1 MiB comment breaks (the proxy holds no more than
/// 64 KiB of it): the request gets the stream's error, not the answer after the comment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_mib_comment_line_breaks_its_stream() {
    let server = HostileServer::start().await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    let response = sidecar.request("tools/call", json!({ "name": "long_comment", "arguments": {} })).await;
    assert!(response.get("result").is_none(), "{response}");
    assert!(response["error"]["code"].is_i64(), "{response}");
    assert_eq!(sidecar.call_tool("still_serving", json!({})).await, "still_serving");
    assert_eq!(sidecar.violations(), Vec::<String>::new());
    assert!(sidecar.close().await.success());
}
