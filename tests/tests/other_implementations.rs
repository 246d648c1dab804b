//! mcp-remote between SDK clients and servers of other implementations: the Python SDK's stdio
//! client plays Claude Desktop against the rmcp server, the Python SDK's server and
//! `@modelcontextprotocol/server-everything` (TypeScript SDK); and server-everything's own quirks
//! (400 for a lost session, a server killed mid-call, responses whose `id` comes after a large
//! `result`).

use mcp_remote_tests::peers::{everything_call_in_flight, free_port, python_sdk_client, PeerServer};
use mcp_remote_tests::rmcp_server::{self, Mode};
use mcp_remote_tests::sidecar::Sidecar;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_client_through_the_proxy_to_rmcp() {
    for mode in [Mode::Stateful, Mode::Stateless, Mode::StatelessJson] {
        let server = rmcp_server::start(mode).await;
        let summary = python_sdk_client(&server.url).await;
        assert_eq!(summary["server"], "rmcp-test-server", "{mode:?}");
        assert_eq!(summary["echo"], "hello through mcp-remote", "{mode:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_client_through_the_proxy_to_the_python_sdk_server() {
    for flags in [&[][..], &["--stateless", "--json"][..]] {
        let server = PeerServer::python(flags).await;
        let summary = python_sdk_client(&server.url).await;
        assert_eq!(summary["server"], "python-sdk-test-server", "{flags:?}");
        assert_eq!(summary["echo"], "hello through mcp-remote", "{flags:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_client_through_the_proxy_to_server_everything() {
    let server = PeerServer::everything(free_port()).await;
    let summary = python_sdk_client(&server.url).await;
    assert_eq!(summary["echo"], "Echo: hello through mcp-remote");
    assert!(summary["tools"].as_u64().unwrap() > 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_mid_call_yields_an_error_then_service_resumes() {
    let port = free_port();
    let mut server = PeerServer::everything(port).await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    let call = everything_call_in_flight(&mut sidecar, 500).await;
    server.kill().await;
    let answer = sidecar.wait_response(call, "the call cut off by the kill").await;
    assert_eq!(answer["id"], 500);
    let message = answer["error"]["message"].as_str().unwrap_or_else(|| panic!("{answer}"));
    assert!(message.starts_with("mcp-remote:"), "{message}");

    // The server comes back (a new process: the old session is gone, and it says so with 400).
    let _server = PeerServer::everything(port).await;
    assert_eq!(sidecar.call_tool("echo", json!({ "message": "back" })).await, "Echo: back");
    assert!(sidecar.drain_unmatched().is_empty());
    assert!(sidecar.violations().is_empty());
    assert!(sidecar.close().await.success());
}

/// The TypeScript SDK writes a response's `result` before its `id`, so a large answer can only be
/// routed once all of it has arrived: it is spooled, and its id is found at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_answer_with_its_id_last_is_routed_and_delivered_whole() {
    let server = PeerServer::everything(free_port()).await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    let message = "z".repeat(3 << 20);
    let answer = sidecar.request("tools/call", json!({ "name": "echo", "arguments": { "message": message } })).await;
    let text = answer["result"]["content"][0]["text"].as_str().unwrap_or_else(|| panic!("{answer:.300}"));
    assert_eq!(text.len(), message.len() + "Echo: ".len());
    assert!(text.ends_with(&message[message.len() - 100..]));
    assert_eq!(sidecar.call_tool("echo", json!({ "message": "small" })).await, "Echo: small");
    assert!(sidecar.drain_unmatched().is_empty());
    assert!(sidecar.violations().is_empty(), "{:?}", sidecar.violations());
    assert!(sidecar.close().await.success());
}
