//! Faults on the client's side of the proxy, against rmcp's Streamable HTTP server (a real
//! implementation, in process): bytes on stdin that are not UTF-8, a 10 MB line, a response for
//! an id nobody asked about, stdin closed with a request in flight, and stdout closed by the
//! client. Each request gets exactly one answer, and the proxy serves on or exits quietly.

use mcp_remote_tests::fault_server::FaultServer;
use mcp_remote_tests::rmcp_server::{self, Mode};
use mcp_remote_tests::sidecar::{binary_path, Sidecar};
use serde_json::json;
use std::process::Stdio;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_are_not_utf8_get_a_parse_error_and_the_proxy_serves_on() {
    let server = rmcp_server::start(Mode::Stateful).await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    sidecar.send_bytes(b"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"message\":\"\xff\xfe\"}}}");
    let error = sidecar.next_unmatched().await;
    assert_eq!(error["error"]["code"], -32700, "{error}");
    assert_eq!(sidecar.call_tool("echo", json!({ "message": "after" })).await, "after");
    assert!(sidecar.violations().is_empty(), "{:?}", sidecar.violations());
    assert!(sidecar.close().await.success());
}

/// A 10 MB line reaches the server whole. The real SDKs all refuse bodies over 4 MiB: rmcp's 413
/// (or the connection it closes while the body is still being sent) comes back as the call's error. Our fault server takes any size and says how many bytes came.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_megabyte_line_is_carried_whole() {
    let message = "m".repeat(10 << 20);
    let server = rmcp_server::start(Mode::Stateful).await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    let answer = sidecar.request("tools/call", json!({ "name": "echo", "arguments": { "message": message } })).await;
    // rmcp answers 413 and may close the connection before all of the body is written: a broken
    // pipe on Unix, a reset on Windows.
    let message_text = answer["error"]["message"].as_str().unwrap_or_else(|| panic!("{:.300}", answer.to_string()));
    assert!(
        ["413", "Broken pipe", "Connection reset"].iter().any(|cause| message_text.contains(cause)),
        "{message_text}"
    );
    assert_eq!(sidecar.call_tool("echo", json!({ "message": "after" })).await, "after");
    assert!(sidecar.close().await.success());

    let server = FaultServer::start().await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    let line = json!({ "jsonrpc": "2.0", "id": "big", "method": "tools/call",
        "params": { "name": "size", "arguments": { "message": message } } })
    .to_string();
    let rx = sidecar.expect_response(json!("big"));
    sidecar.send_raw(&line);
    let answer = sidecar.wait_response(rx, "the 10 MB call").await;
    assert_eq!(answer["result"]["content"][0]["text"], line.len().to_string(), "{:.300}", answer.to_string());
    assert_eq!(sidecar.call_tool("still-alive", json!({})).await, "still-alive");
    assert!(sidecar.violations().is_empty());
    assert!(sidecar.close().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_for_an_id_nobody_asked_about_changes_nothing() {
    let server = rmcp_server::start(Mode::Stateful).await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    sidecar.send_raw(r#"{"jsonrpc":"2.0","id":"nobody-asked","result":{}}"#);
    assert_eq!(sidecar.call_tool("echo", json!({ "message": "after" })).await, "after");
    assert!(sidecar.drain_unmatched().is_empty(), "the proxy answered a response");
    assert!(sidecar.violations().is_empty());
    assert!(sidecar.close().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_closed_with_requests_in_flight_answers_each_then_exits() {
    let server = rmcp_server::start(Mode::Stateful).await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    let slow = ["a", "b"].map(|id| {
        sidecar.send_request(json!(id), "tools/call", json!({ "name": "slow", "arguments": { "ms": 60000 } }))
    });
    // Both calls are on the server once a later, quick one is answered.
    assert_eq!(sidecar.call_tool("echo", json!({ "message": "x" })).await, "x");
    assert!(sidecar.close().await.success());
    for (rx, id) in slow.into_iter().zip(["a", "b"]) {
        let answer = sidecar.wait_response(rx, id).await;
        assert_eq!(answer["error"]["code"], -32000, "{answer}");
    }
    assert!(sidecar.violations().is_empty());
}

/// The client closes its end of stdout (it quit, or crashed): the proxy exits with status 0 and
/// says nothing alarming on stderr.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdout_closed_by_the_client_is_a_quiet_exit() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = rmcp_server::start(Mode::Stateful).await;
    let config = mcp_remote_tests::sidecar::fresh_config_dir();
    let mut child = tokio::process::Command::new(binary_path())
        .args([server.url.as_str(), "--allow-http"])
        .env("MCP_REMOTE_CONFIG_DIR", &config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn mcp-remote");
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    let initialize = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "t", "version": "0" } } });
    stdin.write_all(format!("{initialize}\n").as_bytes()).await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("an exit").unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).await.unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(!stderr.contains("WARN") && !stderr.contains("ERROR") && !stderr.contains("panicked"), "{stderr}");
    let _ = std::fs::remove_dir_all(config);
}
