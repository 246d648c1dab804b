//! The stateless 2026-07-28 revision against real servers of it, with no flag: the TypeScript SDK
//! v2 (`createMcpHandler`, dual era and modern only), the Python SDK 2.3 (dual era) and rmcp 3.11.
//! A 2025-era stdio client (the Python SDK's, as Claude Desktop is) runs initialize → tools/list
//! → tools/call → a tool that needs the client's input, which the server asks for with an
//! `input_required` result and the proxy turns into the client's own elicitation or sampling
//! request. Tool parameters the server mirrors into `Mcp-Param-*` headers are sent, and what a
//! server speaks is remembered for the next start.

use mcp_remote_tests::peers::{python_sdk_client_with, PeerServer};
use mcp_remote_tests::rmcp_server::{self, Mode};
use mcp_remote_tests::sidecar::{fresh_config_dir, Launch, Sidecar};
use serde_json::json;

/// The stdio client's exchange with a modern server, then a tool that asks for input.
async fn exchange_with_input(url: &str, tool: serde_json::Value) -> serde_json::Value {
    let summary = python_sdk_client_with(url, Some(tool), &[]).await;
    assert_eq!(summary["echo"], "hello through mcp-remote", "{summary}");
    summary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_v2_dual_era_server() {
    let server = PeerServer::modern_ts("dual").await;
    let summary =
        exchange_with_input(&server.url, json!({ "name": "confirm", "arguments": { "question": "Go?" } })).await;
    assert_eq!(summary["server"], "modern-ts-test-server-dual");
    assert_eq!(summary["asked"], json!(["elicitation/create"]));
    assert_eq!(summary["askingResult"], r#"confirmed: {"confirm":true}"#);
    let summary = exchange_with_input(&server.url, json!({ "name": "ask_llm", "arguments": { "prompt": "hi" } })).await;
    assert_eq!(summary["asked"], json!(["sampling/createMessage"]));
    assert_eq!(summary["askingResult"], "llm said: sampled by the stdio client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_v2_modern_only_server_that_refuses_the_2025_handshake() {
    let server = PeerServer::modern_ts("reject").await;
    let summary =
        exchange_with_input(&server.url, json!({ "name": "confirm", "arguments": { "question": "Go?" } })).await;
    assert_eq!(summary["server"], "modern-ts-test-server-reject");
    assert_eq!(summary["asked"], json!(["elicitation/create"]));
    // The 2025 client was told a 2025 version; the server never saw the 2025 handshake.
    assert_eq!(summary["protocolVersion"], "2025-11-25");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_dual_era_server() {
    let server = PeerServer::python(&[]).await;
    let summary =
        exchange_with_input(&server.url, json!({ "name": "confirm", "arguments": { "question": "Go?" } })).await;
    assert_eq!(summary["server"], "python-sdk-test-server");
    assert_eq!(summary["asked"], json!(["elicitation/create"]));
    assert_eq!(summary["askingResult"], "confirmed: True");
    let summary = exchange_with_input(&server.url, json!({ "name": "ask_llm", "arguments": { "prompt": "hi" } })).await;
    assert_eq!(summary["asked"], json!(["sampling/createMessage"]));
    assert!(summary["askingResult"].as_str().unwrap().contains("sampled by the stdio client"), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmcp_is_spoken_to_in_2026_07_28() {
    let server = rmcp_server::start(Mode::Stateless).await;
    let summary = python_sdk_client_with(&server.url, None, &[]).await;
    assert_eq!(summary["echo"], "hello through mcp-remote");
    let seen = server.seen();
    assert!(seen.iter().all(|r| r.headers.get("mcp-protocol-version").is_some_and(|v| v == "2026-07-28")));
    let methods: Vec<_> = seen.iter().filter_map(|r| r.headers.get("mcp-method")?.to_str().ok()).collect();
    assert_eq!(methods, ["server/discover", "tools/list", "tools/call"], "no handshake, no session");
    let call = seen.iter().find(|r| r.headers.get("mcp-method").is_some_and(|m| m == "tools/call")).unwrap();
    assert_eq!(call.headers["mcp-name"], "echo");
    assert!(seen.iter().all(|r| r.headers.get("mcp-session-id").is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirrored_parameters_travel_as_headers() {
    // Both servers refuse a call whose Mcp-Param-Region header is missing or differs (-32020).
    for server in [PeerServer::modern_ts("reject").await, PeerServer::python(&[]).await] {
        let sidecar = Sidecar::spawn(&server.url);
        sidecar.initialize().await;
        let tools = sidecar.request("tools/list", json!({})).await;
        assert!(tools.to_string().contains("region_echo"), "{tools}");
        for region in ["us-west1", "Zürich", " padded "] {
            let text = sidecar.call_tool("region_echo", json!({ "region": region, "message": "hi" })).await;
            assert!(text.starts_with(region.trim_start()) || text.contains(region), "{region:?}: {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_server_speaks_is_remembered_and_skips_the_probe_next_time() {
    let server = rmcp_server::start(Mode::Stateful).await;
    let config = fresh_config_dir();
    for run in 0..2 {
        let mut sidecar = Sidecar::spawn_with(Launch::new(&server.url).config_dir(&config));
        sidecar.initialize().await;
        assert_eq!(sidecar.call_tool("echo", json!({ "message": "hi" })).await, "hi");
        assert!(sidecar.close().await.success());
        let probes = server
            .seen()
            .iter()
            .filter(|r| r.headers.get("mcp-method").is_some_and(|m| m == "server/discover"))
            .count();
        assert_eq!(probes, 1, "run {run}: the 2025-only server is asked server/discover once, then remembered");
    }
    let known = std::fs::read_dir(&config)
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("transport.json")).ok())
        .next()
        .expect("transport.json in the server's folder");
    assert!(known.contains("\"streamable-http\""), "{known}");
}

/// A 2026-07-28 stdio client, which asks `server/discover` first and sends its own `_meta`.
fn modern_request(method: &str, params: serde_json::Value) -> serde_json::Value {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": { "name": "modern-stdio-client", "version": "1" },
    });
    json!({ "method": method, "params": params })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modern_stdio_client_is_passed_through_or_sent_back_to_initialize() {
    let modern = PeerServer::modern_ts("reject").await;
    let sidecar = Sidecar::spawn(&modern.url);
    let discover = modern_request("server/discover", json!({}));
    let answer = sidecar.request(discover["method"].as_str().unwrap(), discover["params"].clone()).await;
    assert!(answer["result"]["supportedVersions"].to_string().contains("2026-07-28"), "{answer}");
    let list = modern_request("tools/list", json!({}));
    let tools = sidecar.request("tools/list", list["params"].clone()).await;
    assert!(tools.to_string().contains("region_echo"), "{tools}");

    // In front of a 2025-era server the client hears what such a server says, and falls back.
    let older = PeerServer::everything(mcp_remote_tests::peers::free_port()).await;
    let sidecar = Sidecar::spawn(&older.url);
    let answer = sidecar.request("server/discover", discover["params"].clone()).await;
    assert_eq!(answer["error"]["code"], -32601, "{answer}");
    sidecar.initialize().await;
    assert_eq!(sidecar.call_tool("echo", json!({ "message": "hi" })).await, "Echo: hi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_changes_reach_a_2025_client_through_subscriptions_listen() {
    let server = PeerServer::modern_ts("reject").await;
    let mut sidecar = Sidecar::spawn(&server.url);
    let init = sidecar.initialize().await;
    assert_eq!(init["result"]["capabilities"]["tools"]["listChanged"], true, "{init}");
    // initialize returns once the listen is acknowledged, so this change cannot be missed.
    assert_eq!(sidecar.call_tool("notify_tools_changed", json!({})).await, "published");
    let notification = sidecar.next_notification().await;
    assert_eq!(notification["method"], "notifications/tools/list_changed", "{notification}");
    assert!(sidecar.drain_notifications().iter().all(|n| n["method"] != "notifications/subscriptions/acknowledged"));
    assert!(sidecar.close().await.success());
}

/// Faults no real server gives on demand, from our fault server speaking 2026-07-28.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_stream_is_reissued_and_a_header_mismatch_refetches_the_tools() {
    let server = mcp_remote_tests::fault_server::FaultServer::start_modern().await;
    let sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;

    // This revision has no resumption: the request is sent again under a new id, and the client
    // gets the answer under its own.
    let answer = sidecar.send_request(json!(41), "tools/call", json!({ "name": "drop_once", "arguments": {} }));
    let answer = sidecar.wait_response(answer, "the re-issued call").await;
    assert_eq!(answer["id"], 41);
    assert_eq!(answer["result"]["content"][0]["text"], "drop_once", "{answer}");
    let calls: Vec<_> = server.requests().into_iter().filter(|(m, _)| m == "tools/call").collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].1, 41);
    assert_ne!(calls[1].1, 41, "a re-issued request has a new id");

    // -32020: the tool list is fetched again, then the call retried once.
    assert_eq!(sidecar.call_tool("mismatch_once", json!({})).await, "mismatch_once");
    let after: Vec<String> = server.requests().into_iter().skip(3).map(|(m, _)| m).collect();
    assert_eq!(after, ["tools/call", "tools/list", "tools/call"]);
    assert!(sidecar.violations().is_empty());
}

/// In 2026-07-28 cancelling is closing the request's stream: the client's
/// `notifications/cancelled` closes it, and nothing answers the cancelled request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_closes_the_response_stream() {
    let server = mcp_remote_tests::fault_server::FaultServer::start_modern().await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    let mut cancelled = sidecar.send_request(json!(77), "tools/call", json!({ "name": "hang", "arguments": {} }));
    assert_eq!(sidecar.next_notification().await["params"]["data"], "hanging", "the call is in flight");
    sidecar.notify("notifications/cancelled", json!({ "requestId": 77, "reason": "user" }));
    tokio::time::timeout(std::time::Duration::from_secs(10), server.hung_up()).await.expect("the stream was closed");
    // The proxy still serves, and nothing was written for the cancelled request.
    assert_eq!(sidecar.call_tool("echo", json!({})).await, "echo");
    assert!(cancelled.try_recv().is_err(), "a cancelled request is not answered");
    assert!(sidecar.drain_unmatched().is_empty());
    assert!(sidecar.close().await.success());
}

/// 2026-07-28 has no batches: each request of one gets an error that says so, and nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_to_a_modern_server_is_refused_request_by_request() {
    let server = PeerServer::modern_ts("reject").await;
    let sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    let (first, second) = (sidecar.expect_response(json!(61)), sidecar.expect_response(json!(62)));
    sidecar.send_raw(
        r#"[{"jsonrpc":"2.0","id":61,"method":"tools/list"},{"jsonrpc":"2.0","id":62,"method":"tools/list"}]"#,
    );
    for answer in [first, second] {
        let answer = sidecar.wait_response(answer, "a request of the batch").await;
        let message = answer["error"]["message"].as_str().unwrap_or_else(|| panic!("{answer}"));
        assert!(message.contains("batch") && message.contains("2026-07-28"), "{message}");
    }
    assert_eq!(sidecar.call_tool("echo", json!({ "message": "still here" })).await, "still here");
}
