//! The proxy's benchmark (not a test): one run on loopback against the in-process rmcp server,
//! measuring a direct HTTP client (reqwest, keep-alive, the same headers) and the `mcp-remote`
//! release binary driven over stdio as Claude Desktop drives it, interleaved (A B A B …) so
//! machine drift cancels; with `--compare-npm`, the npm `mcp-remote` as a third column.
//!
//! Usage: `bench [--smoke] [--compare-npm] [--baseline BINARY] [--json PATH]`. Prints one table and
//! writes JSON (default `target/bench/bench.json`). `--baseline` adds another `mcp-remote` binary
//! (say, a build of the previous commit) as a column, for before/after figures from one run. `--smoke` runs a few hundred calls and small payloads so CI
//! keeps the program alive; it checks no targets.

use mcp_remote::transport::sse::SseParser;
use mcp_remote_tests::rmcp_server::{self, Mode, Seen};
use mcp_remote_tests::test_ca::TestCa;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{oneshot, Notify};

const PROTOCOL: &str = "2025-11-25";

/// How the server is reached.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wire {
    Plain,
    /// HTTPS, ALPN offering HTTP/1.1 only.
    Tls,
    /// HTTPS, ALPN offering HTTP/2 (and HTTP/1.1), which each client may choose.
    Http2,
}

/// Which HTTP versions each client (told apart by its user agent) used, as the server saw them.
fn versions_by_client(seen: &[Seen]) -> String {
    let mut counts: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for request in seen {
        let agent = request.headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("direct");
        let agent = agent.split('/').next().unwrap_or(agent).to_string();
        *counts.entry((agent, format!("{:?}", request.version))).or_default() += 1;
    }
    let parts: Vec<String> = counts.iter().map(|((agent, version), n)| format!("{agent} {version} ×{n}")).collect();
    parts.join(", ")
}

struct Plan {
    sequential: usize,
    block: usize,
    in_flight_calls: usize,
    large: Vec<usize>,
    large_repeats: usize,
    burst: u32,
    cold_starts: usize,
}

impl Plan {
    fn full() -> Self {
        Self {
            sequential: 2000,
            block: 100,
            in_flight_calls: 4000,
            large: vec![1 << 20, 10 << 20],
            large_repeats: 20,
            burst: 10_000,
            cold_starts: 21,
        }
    }

    fn smoke() -> Self {
        Self {
            sequential: 200,
            block: 50,
            in_flight_calls: 256,
            large: vec![64 << 10],
            large_repeats: 2,
            burst: 200,
            cold_starts: 3,
        }
    }
}

fn initialize_params() -> Value {
    json!({ "protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": { "name": "bench", "version": "1" } })
}

fn echo_params(i: usize) -> Value {
    json!({ "name": "echo", "arguments": { "message": format!("m{i}") } })
}

/// The response's `id` and whether it is a notification, without building a tree.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    method: Option<serde::de::IgnoredAny>,
}

// ---------------------------------------------------------------- direct client

/// A Streamable HTTP client with no proxy: the floor the proxy is measured against.
struct Direct {
    http: reqwest::Client,
    url: String,
    session: Option<String>,
    next: AtomicU64,
    notifications: Arc<Counter>,
}

impl Direct {
    async fn connect(url: &str, trust: Option<&Trust>) -> Self {
        let mut builder = reqwest::Client::builder().tcp_nodelay(true);
        if let Some(trust) = trust {
            builder = builder.add_root_certificate(reqwest::Certificate::from_pem(trust.pem.as_bytes()).unwrap());
        }
        let mut direct = Self {
            http: builder.build().unwrap(),
            url: url.into(),
            session: None,
            next: AtomicU64::new(1),
            notifications: Arc::default(),
        };
        direct.initialize().await;
        direct
    }

    /// `initialize` + `notifications/initialized`; returns when initialize is answered.
    async fn initialize(&mut self) {
        let response = self
            .post(&json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": initialize_params() }))
            .await;
        self.session = response.0;
        self.post(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" })).await;
    }

    fn request(&self, method: &str, params: Value) -> Value {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
    }

    async fn call(&self, method: &str, params: Value) -> usize {
        self.post(&self.request(method, params)).await.1
    }

    /// POSTs one message; returns the session id header and the size of the answer.
    async fn post(&self, message: &Value) -> (Option<String>, usize) {
        let mut request = self
            .http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(message.to_string());
        if let Some(session) = &self.session {
            request = request.header("mcp-session-id", session).header("mcp-protocol-version", PROTOCOL);
        }
        let mut response = request.send().await.expect("direct POST");
        let session = response.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let is_sse =
            response.headers().get("content-type").is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        if !is_sse {
            return (session, response.bytes().await.expect("direct body").len());
        }
        let mut parser = SseParser::new();
        while let Some(chunk) = response.chunk().await.expect("direct stream") {
            parser.feed(&chunk);
            while let Some(event) = parser.next_event().expect("sse") {
                if !event.data.is_empty() {
                    // Like the proxy: read the rest in the background, so the connection is reused.
                    tokio::spawn(async move { while let Ok(Some(_)) = response.chunk().await {} });
                    return (session, event.data.len());
                }
            }
        }
        (session, 0)
    }

    /// Opens the GET stream, as the proxy does after `initialize`, and counts the server's
    /// notifications on it; returns once the server has answered the GET.
    async fn listen(&self) {
        let seen = Arc::clone(&self.notifications);
        let request = self
            .http
            .get(&self.url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", self.session.clone().unwrap_or_default())
            .header("mcp-protocol-version", PROTOCOL);
        let mut response = request.send().await.expect("GET stream");
        tokio::spawn(async move {
            let mut parser = SseParser::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                parser.feed(&chunk);
                while let Ok(Some(event)) = parser.next_event() {
                    if !event.data.is_empty() {
                        seen.add();
                    }
                }
            }
        });
    }
}

// ---------------------------------------------------------------- stdio client

#[derive(Default)]
struct Counter {
    count: AtomicU64,
    changed: Notify,
}

impl Counter {
    fn add(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.changed.notify_waiters();
    }

    async fn reach(&self, target: u64) {
        loop {
            let notified = self.changed.notified();
            if self.count.load(Ordering::Relaxed) >= target {
                return;
            }
            notified.await;
        }
    }
}

/// A proxy process driven over stdio, as Claude Desktop drives it.
struct StdioProxy {
    child: Child,
    stdin: tokio::sync::Mutex<ChildStdin>,
    waiters: Arc<Mutex<HashMap<u64, oneshot::Sender<usize>>>>,
    notifications: Arc<Counter>,
    next: AtomicU64,
}

impl StdioProxy {
    fn spawn(program: &Path, args: &[String], config_dir: &Path, trust: Option<&Trust>) -> Self {
        let mut command = Command::new(program);
        if let Some(trust) = trust {
            // Both proxies take extra roots from the environment (ours also has --ca-file).
            command.env("SSL_CERT_FILE", &trust.file).env("NODE_EXTRA_CA_CERTS", &trust.file);
        }
        let mut child = command
            .args(args)
            .env("MCP_REMOTE_CONFIG_DIR", config_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
        let stdin: ChildStdin = child.stdin.take().unwrap();
        let waiters: Arc<Mutex<HashMap<u64, oneshot::Sender<usize>>>> = Arc::default();
        let notifications: Arc<Counter> = Arc::default();
        let (w, n) = (Arc::clone(&waiters), Arc::clone(&notifications));
        let stdout = child.stdout.take().unwrap();
        tokio::spawn(async move {
            let mut lines = BufReader::with_capacity(1 << 16, stdout);
            let mut line = Vec::with_capacity(1 << 16);
            loop {
                line.clear();
                match lines.read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let Ok(envelope) = serde_json::from_slice::<Envelope>(&line) else { continue };
                match (envelope.id, envelope.method) {
                    (Some(id), None) => {
                        if let Some(waiter) = w.lock().unwrap().remove(&id) {
                            let _ = waiter.send(line.len());
                        }
                    }
                    (None, Some(_)) => n.add(),
                    _ => {}
                }
            }
        });
        Self { child, stdin: tokio::sync::Mutex::new(stdin), waiters, notifications, next: AtomicU64::new(1) }
    }

    /// Writes one line; the caller's own task writes it, as a client with a pipe would.
    async fn send(&self, message: &Value) {
        let mut line = message.to_string().into_bytes();
        line.push(b'\n');
        let _ = self.stdin.lock().await.write_all(&line).await;
    }

    async fn call(&self, method: &str, params: Value) -> usize {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().unwrap().insert(id, tx);
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })).await;
        tokio::time::timeout(Duration::from_secs(120), rx).await.expect("proxy answer in time").expect("proxy answered")
    }

    async fn initialize(&self) {
        self.call("initialize", initialize_params()).await;
        self.send(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" })).await;
    }

    /// Peak resident memory (VmHWM) of the process, in bytes (Linux).
    fn peak_rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
    }

    /// CPU time (user and system) the process has used so far (Linux `schedstat`, in ns).
    fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/schedstat", self.child.id()?)).ok()?;
        stat.split_whitespace().next()?.parse::<u64>().ok().map(Duration::from_nanos)
    }
}

// ---------------------------------------------------------------- subjects

enum Subject {
    Direct(Direct),
    Proxy(Box<StdioProxy>),
}

impl Subject {
    async fn call(&self, method: &str, params: Value) -> usize {
        match self {
            Self::Direct(d) => d.call(method, params).await,
            Self::Proxy(p) => p.call(method, params).await,
        }
    }

    /// The proxy process's CPU time so far; the direct client shares the benchmark's process.
    fn cpu_time(&self) -> Option<Duration> {
        match self {
            Self::Direct(_) => None,
            Self::Proxy(p) => p.cpu_time(),
        }
    }
}

/// Each proxy's CPU time per call between two readings, in µs (0 for the direct client).
fn cpu_per_call(before: &[Option<Duration>], subjects: &[Subject], calls: usize) -> Vec<f64> {
    subjects
        .iter()
        .zip(before)
        .map(|(subject, before)| match (subject.cpu_time(), before) {
            (Some(after), Some(before)) => micros(after.saturating_sub(*before)) / calls as f64,
            _ => 0.0,
        })
        .collect()
}

struct Column {
    name: &'static str,
    spawn: Option<(PathBuf, Vec<String>)>,
}

/// The test CA of the HTTPS modes, in PEM and as a file.
struct Trust {
    pem: String,
    file: PathBuf,
}

async fn connect(column: &Column, url: &str, config_dir: &Path, trust: Option<&Trust>) -> Subject {
    match &column.spawn {
        None => {
            let direct = Direct::connect(url, trust).await;
            if direct.session.is_some() {
                direct.listen().await;
            }
            Subject::Direct(direct)
        }
        Some((program, args)) => {
            let mut args = args.clone();
            args.insert(0, url.to_string());
            let proxy = StdioProxy::spawn(program, &args, config_dir, trust);
            proxy.initialize().await;
            Subject::Proxy(Box::new(proxy))
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The floor under any stdio proxy on this machine: a request-sized line's round trip through
/// `cat`, a process that only copies stdin to stdout. A proxied call pays this hop on top of the
/// direct call.
struct PipeEcho {
    _cat: Child,
    stdin: ChildStdin,
    stdout: BufReader<tokio::process::ChildStdout>,
    line: String,
    echoed: String,
}

impl PipeEcho {
    fn spawn() -> Option<Self> {
        let mut cat =
            Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).kill_on_drop(true).spawn().ok()?;
        let stdin = cat.stdin.take()?;
        let stdout = BufReader::new(cat.stdout.take()?);
        let mut line =
            json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": echo_params(1) }).to_string();
        line.push('\n');
        Some(Self { _cat: cat, stdin, stdout, line, echoed: String::new() })
    }

    async fn round_trip(&mut self) -> Duration {
        let start = Instant::now();
        self.stdin.write_all(self.line.as_bytes()).await.expect("write to cat");
        self.echoed.clear();
        self.stdout.read_line(&mut self.echoed).await.expect("read from cat");
        start.elapsed()
    }
}

/// Sequential round trips, in interleaved blocks; the last list is the pipe hop through `cat`,
/// measured in blocks of its own between the subjects' (empty without `cat`).
async fn sequential(subjects: &[Subject], plan: &Plan) -> Vec<Vec<Duration>> {
    let mut samples = vec![Vec::with_capacity(plan.sequential); subjects.len() + 1];
    let mut echo = PipeEcho::spawn();
    let mut i = 0;
    while samples[0].len() < plan.sequential {
        for (s, subject) in subjects.iter().enumerate() {
            for _ in 0..plan.block {
                let start = Instant::now();
                subject.call("tools/call", echo_params(i)).await;
                samples[s].push(start.elapsed());
                i += 1;
            }
        }
        if let Some(echo) = &mut echo {
            for _ in 0..plan.block {
                samples[subjects.len()].push(echo.round_trip().await);
            }
        }
    }
    for s in &mut samples {
        s.sort();
    }
    samples
}

/// Calls per second with `depth` requests in flight.
async fn throughput(subject: &Subject, depth: usize, calls: usize) -> f64 {
    let next = AtomicU64::new(0);
    let start = Instant::now();
    let workers = (0..depth).map(|_| async {
        while (next.fetch_add(1, Ordering::Relaxed) as usize) < calls {
            subject.call("tools/call", echo_params(7)).await;
        }
    });
    futures_util::future::join_all(workers).await;
    calls as f64 / start.elapsed().as_secs_f64()
}

/// MB/s for results of `bytes` bytes.
async fn large(subject: &Subject, bytes: usize, repeats: usize) -> f64 {
    let start = Instant::now();
    let mut total = 0usize;
    for _ in 0..repeats {
        total += subject.call("tools/call", json!({ "name": "blob", "arguments": { "bytes": bytes } })).await;
    }
    total as f64 / 1e6 / start.elapsed().as_secs_f64()
}

// ---------------------------------------------------------------- report

#[derive(Default)]
struct Report {
    columns: Vec<&'static str>,
    rows: Vec<(String, Vec<f64>, &'static str)>,
    verdicts: Vec<(String, bool, String)>,
    /// p50 of a line's round trip through `cat` (what a stdio hop alone costs), per mode.
    pipe_round_trips: Vec<(&'static str, Option<Duration>)>,
    /// The mcp-remote column's peak RSS after each phase, to show what drives it.
    peak_by_phase: Vec<(String, u64)>,
    /// The HTTP versions the server saw from each client, per HTTPS mode.
    http_versions: Vec<(&'static str, String)>,
}

impl Report {
    fn row(&mut self, name: impl Into<String>, values: Vec<f64>, unit: &'static str) {
        self.rows.push((name.into(), values, unit));
    }

    fn target(&mut self, name: &str, met: bool, detail: String) {
        self.verdicts.push((name.into(), met, detail));
    }

    /// Records the peak RSS so far of the mcp-remote column (the second subject).
    fn note_peak(&mut self, phase: impl Into<String>, subjects: &[Subject]) {
        if let Some(Subject::Proxy(proxy)) = subjects.get(1) {
            self.peak_by_phase.push((phase.into(), proxy.peak_rss().unwrap_or(0)));
        }
    }

    fn print(&self) {
        print!("{:<58}", "metric");
        for c in &self.columns {
            print!("{c:>16}");
        }
        println!("{:>12}", "ratio");
        for (name, values, unit) in &self.rows {
            print!("{:<58}", format!("{name} ({unit})"));
            for v in values {
                print!("{v:>16.1}");
            }
            match values.as_slice() {
                [direct, proxy, ..] if *direct > 0.0 => println!("{:>12.3}", proxy / direct),
                _ => println!(),
            }
        }
        println!();
        let phases: Vec<String> =
            self.peak_by_phase.iter().map(|(phase, bytes)| format!("{phase} {:.1}", *bytes as f64 / 1e6)).collect();
        println!("mcp-remote peak RSS after each phase (MB): {}", phases.join(" · "));
        let hops: Vec<String> = self
            .pipe_round_trips
            .iter()
            .filter_map(|(mode, p50)| p50.map(|p50| format!("{mode} {:.0}", micros(p50))))
            .collect();
        println!("a bare pipe round trip through cat, p50 (µs), between the sequential blocks: {}", hops.join(" · "));
        for (mode, versions) in &self.http_versions {
            println!("{mode}: HTTP versions the server saw, by client: {versions}");
        }
        for (name, met, detail) in &self.verdicts {
            println!("{} {name}: {detail}", if *met { "MET    " } else { "MISSED " });
        }
    }

    fn json(&self) -> Value {
        json!({
            "columns": self.columns,
            "rows": self.rows.iter().map(|(n, v, u)| json!({ "metric": n, "unit": u, "values": v })).collect::<Vec<_>>(),
            "targets": self.verdicts.iter().map(|(n, m, d)| json!({ "target": n, "met": m, "detail": d })).collect::<Vec<_>>(),
            "pipe_round_trip_p50_us": self.pipe_round_trips.iter().map(|(mode, p50)| json!({ "mode": mode, "p50": p50.map(micros) })).collect::<Vec<_>>(),
            "peak_rss_by_phase": self.peak_by_phase.iter().map(|(p, b)| json!({ "phase": p, "bytes": b })).collect::<Vec<_>>(),
            "http_versions": self.http_versions.iter().map(|(mode, v)| json!({ "mode": mode, "seen": v })).collect::<Vec<_>>(),
        })
    }
}

fn npm_proxy() -> Option<PathBuf> {
    let path = mcp_remote_tests::peers::peers_dir().join("node_modules/mcp-remote/dist/proxy.js");
    path.exists().then_some(path)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let compare_npm = args.iter().any(|a| a == "--compare-npm");
    let value_of = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).map(PathBuf::from);
    let json_path = value_of("--json").unwrap_or_else(|| PathBuf::from("target/bench/bench.json"));
    let baseline = value_of("--baseline");
    let plan = if smoke { Plan::smoke() } else { Plan::full() };
    let binary = mcp_remote_tests::sidecar::binary_path();
    let config_dir = std::env::temp_dir().join(format!("mcp-remote-bench-{}", std::process::id()));
    std::fs::create_dir_all(&config_dir).unwrap();

    let mut columns = vec![
        Column { name: "direct", spawn: None },
        Column { name: "mcp-remote", spawn: Some((binary.clone(), vec!["--allow-http".into(), "--silent".into()])) },
    ];
    if let Some(baseline) = baseline {
        columns
            .push(Column { name: "baseline", spawn: Some((baseline, vec!["--allow-http".into(), "--silent".into()])) });
    }
    if compare_npm {
        match npm_proxy() {
            Some(script) => {
                let node = mcp_remote_tests::peers::node22();
                columns.push(Column {
                    name: "npm mcp-remote",
                    spawn: Some((node, vec![script.display().to_string(), "--allow-http".into()])),
                });
            }
            None => {
                eprintln!("bench: --compare-npm needs npm mcp-remote in tests/peers (npm install mcp-remote there)")
            }
        }
    }
    let npm = columns.iter().position(|c| c.name.starts_with("npm"));
    let mut report = Report { columns: columns.iter().map(|c| c.name).collect(), ..Report::default() };
    eprintln!("bench: {} against {}", if smoke { "smoke run" } else { "full run" }, binary.display());

    let ca = TestCa::new();
    let trust = Trust { pem: ca.ca_pem.clone(), file: config_dir.join("test-ca.pem") };
    std::fs::write(&trust.file, &trust.pem).unwrap();
    let mut peak_rss: Vec<u64> = vec![0; columns.len()];
    for (mode, wire, label) in [
        (Mode::Stateful, Wire::Plain, "SSE"),
        (Mode::StatelessJson, Wire::Plain, "JSON"),
        (Mode::Stateful, Wire::Tls, "SSE over TLS"),
        (Mode::Stateful, Wire::Http2, "SSE over HTTP/2"),
    ] {
        let (server, trust) = match wire {
            Wire::Plain => (rmcp_server::start(mode).await, None),
            Wire::Tls | Wire::Http2 => {
                (rmcp_server::start_tls(mode, ca.server_config(wire == Wire::Http2)).await, Some(&trust))
            }
        };
        let mut subjects = Vec::new();
        for column in &columns {
            subjects.push(connect_ordered(column, &server.url, &config_dir, trust).await);
        }
        for s in &subjects {
            s.call("tools/call", echo_params(0)).await; // warm-up
        }
        report.note_peak(format!("{label} start"), &subjects);
        let cpu_before: Vec<_> = subjects.iter().map(Subject::cpu_time).collect();
        let mut samples = sequential(&subjects, &plan).await;
        let pipe_hop = samples.pop().filter(|s| !s.is_empty()).map(|s| percentile(&s, 0.5));
        report.pipe_round_trips.push((label, pipe_hop));
        let cpu_sequential = cpu_per_call(&cpu_before, &subjects, plan.sequential);
        report.note_peak(format!("{label} sequential"), &subjects);
        report.row(
            format!("{label}: sequential p50"),
            samples.iter().map(|s| micros(percentile(s, 0.5))).collect(),
            "µs",
        );
        report.row(
            format!("{label}: sequential p99"),
            samples.iter().map(|s| micros(percentile(s, 0.99))).collect(),
            "µs",
        );
        if label == "SSE" {
            let (d50, p50) = (percentile(&samples[0], 0.5), percentile(&samples[1], 0.5));
            let allowed = (d50.mul_f64(0.05)).max(Duration::from_micros(30));
            report.target(
                "p50 added latency ≤ 5% over direct (or ≤ 30 µs)",
                p50.saturating_sub(d50) <= allowed,
                format!(
                    "added {:.0} µs, allowed {:.0} µs; a bare pipe round trip through `cat` takes {} here",
                    micros(p50.saturating_sub(d50)),
                    micros(allowed),
                    pipe_hop.map_or("(cat not found)".into(), |f| format!("{:.0} µs", micros(f)))
                ),
            );
            let (d99, p99) = (percentile(&samples[0], 0.99), percentile(&samples[1], 0.99));
            report.target(
                "p99 ≤ 1.2× direct",
                p99 <= d99.mul_f64(1.2),
                format!("{:.2}×", p99.as_secs_f64() / d99.as_secs_f64()),
            );
        }
        report.row(format!("{label}: proxy CPU per call, sequential"), cpu_sequential, "µs");
        for depth in [16usize, 64] {
            let cpu_before: Vec<_> = subjects.iter().map(Subject::cpu_time).collect();
            let mut rates = vec![0.0; subjects.len()];
            // Two interleaved halves per subject.
            for _ in 0..2 {
                for (i, s) in subjects.iter().enumerate() {
                    rates[i] += throughput(s, depth, plan.in_flight_calls / 2).await / 2.0;
                }
            }
            if label == "SSE" && depth == 16 {
                report.target(
                    "16 in flight ≥ 90% of direct throughput",
                    rates[1] >= 0.9 * rates[0],
                    format!("{:.0}%", 100.0 * rates[1] / rates[0]),
                );
            }
            if let (Some(npm), "SSE", 16) = (npm, label, depth) {
                report.target(
                    "≥ 10× the npm proxy's throughput",
                    rates[1] >= 10.0 * rates[npm],
                    format!("{:.1}×", rates[1] / rates[npm]),
                );
            }
            report.row(format!("{label}: throughput, {depth} in flight"), rates, "calls/s");
            if depth == 16 {
                let cpu = cpu_per_call(&cpu_before, &subjects, plan.in_flight_calls);
                report.row(format!("{label}: proxy CPU per call, 16 in flight"), cpu, "µs");
            }
            report.note_peak(format!("{label} {depth} in flight"), &subjects);
        }
        for &bytes in &plan.large {
            let cpu_before: Vec<_> = subjects.iter().map(Subject::cpu_time).collect();
            let mut rates = Vec::new();
            for s in &subjects {
                rates.push(large(s, bytes, plan.large_repeats).await);
            }
            let megabytes = (bytes * plan.large_repeats) as f64 / 1e6;
            let cpu_per_mb = cpu_per_call(&cpu_before, &subjects, 1).into_iter().map(|us| us / megabytes).collect();
            report.row(format!("{label}: {} KB results", bytes >> 10), rates, "MB/s");
            report.row(format!("{label}: proxy CPU per MB, {} KB results", bytes >> 10), cpu_per_mb, "µs");
            report.note_peak(format!("{label} {} KB results", bytes >> 10), &subjects);
        }
        if mode == Mode::Stateful {
            let mut rates = Vec::new();
            for s in &subjects {
                let seen = match s {
                    Subject::Direct(d) => Arc::clone(&d.notifications),
                    Subject::Proxy(p) => Arc::clone(&p.notifications),
                };
                let before = seen.count.load(Ordering::Relaxed);
                let start = Instant::now();
                s.call("tools/call", json!({ "name": "notify", "arguments": { "count": plan.burst } })).await;
                tokio::time::timeout(Duration::from_secs(120), seen.reach(before + u64::from(plan.burst)))
                    .await
                    .expect("all notifications arrive");
                rates.push(f64::from(plan.burst) / start.elapsed().as_secs_f64());
            }
            report.row(format!("{label}: burst of {} notifications", plan.burst), rates, "msgs/s");
            report.note_peak(format!("{label} burst"), &subjects);
        }
        for (i, s) in subjects.iter().enumerate() {
            if let Subject::Proxy(p) = s {
                peak_rss[i] = peak_rss[i].max(p.peak_rss().unwrap_or(0));
            }
        }
        if wire != Wire::Plain {
            report.http_versions.push((label, versions_by_client(&server.seen())));
        }
    }

    // Cold start: process spawn (or client creation) → initialize answered.
    let server = rmcp_server::start(Mode::Stateful).await;
    let mut cold = Vec::new();
    for column in &columns {
        let mut times = Vec::with_capacity(plan.cold_starts);
        for _ in 0..plan.cold_starts {
            let start = Instant::now();
            let subject = connect_ordered(column, &server.url, &config_dir, None).await;
            times.push(start.elapsed());
            drop(subject);
        }
        times.sort();
        cold.push(percentile(&times, 0.5));
    }
    report.row("cold start to initialize answered, median", cold.iter().map(|d| micros(*d) / 1000.0).collect(), "ms");
    let added = cold[1].saturating_sub(cold[0]);
    report.target(
        "cold start ≤ 20 ms plus the server's own time",
        added <= Duration::from_millis(20),
        format!("{:.1} ms over the direct client's first initialize", micros(added) / 1000.0),
    );

    report.row("peak RSS of the proxy (VmHWM)", peak_rss.iter().map(|b| *b as f64 / 1e6).collect(), "MB");
    report.target("peak RSS ≤ 10 MB", peak_rss[1] <= 10_000_000, format!("{:.1} MB", peak_rss[1] as f64 / 1e6));
    if let Some(npm) = npm.filter(|&npm| peak_rss[npm] > 0) {
        report.target(
            "≤ 1/10 of the npm proxy's RSS",
            peak_rss[1] * 10 <= peak_rss[npm],
            format!("{:.1}×", peak_rss[npm] as f64 / peak_rss[1] as f64),
        );
    }
    let size = std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0);
    report.target(
        "release binary ≤ 8 MB stripped",
        size <= 8_000_000,
        format!("{:.2} MB ({})", size as f64 / 1e6, binary.display()),
    );

    report.print();
    let mut out = report.json();
    out["smoke"] = json!(smoke);
    out["binary_bytes"] = json!(size);
    if let Some(dir) = json_path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&json_path, serde_json::to_string_pretty(&out).unwrap()).unwrap();
    println!("\nJSON: {}", json_path.display());
    let _ = std::fs::remove_dir_all(config_dir);
}

/// The npm proxy takes its server URL right after its script; ours first.
async fn connect_ordered(column: &Column, url: &str, config_dir: &Path, trust: Option<&Trust>) -> Subject {
    match &column.spawn {
        Some((program, args)) if column.name.starts_with("npm") => {
            let mut args = args.clone();
            args.insert(1, url.to_string());
            let proxy = StdioProxy::spawn(program, &args, config_dir, trust);
            proxy.initialize().await;
            Subject::Proxy(Box::new(proxy))
        }
        _ => connect(column, url, config_dir, trust).await,
    }
}
