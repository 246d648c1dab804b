//! The legacy HTTP+SSE transport (2024-11-05) against real servers that still speak only it:
//! `@modelcontextprotocol/server-everything sse` (TypeScript SDK) and the Python SDK's `sse`.
//! With no flag the proxy tries Streamable HTTP, sees the spec's sign (404/405 to the POST) and
//! falls back; the `--transport` modes do as documented; a stream that dies with a call in flight
//! answers that call with an error, and the next call works on a new stream.

use mcp_remote_tests::peers::{everything_call_in_flight, free_port, python_sdk_client_with, PeerServer};
use mcp_remote_tests::sidecar::{Launch, Sidecar};
use mcp_remote_tests::slow_accept_sse::SlowAcceptSse;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_client_reaches_server_everything_over_sse_with_no_flag() {
    let server = PeerServer::everything_sse(free_port()).await;
    let sampling = json!({ "name": "trigger-sampling-request", "arguments": { "prompt": "hi", "maxTokens": 10 } });
    let summary = python_sdk_client_with(&server.url, Some(sampling), &[]).await;
    assert_eq!(summary["echo"], "Echo: hello through mcp-remote");
    assert_eq!(summary["asked"], json!(["sampling/createMessage"]));
    assert!(summary["askingResult"].as_str().unwrap().contains("sampled by the stdio client"), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_client_reaches_the_python_sdk_over_sse_with_no_flag() {
    let server = PeerServer::python(&["--sse"]).await;
    let confirm = json!({ "name": "confirm", "arguments": { "question": "Go?" } });
    let summary = python_sdk_client_with(&server.url, Some(confirm), &[]).await;
    assert_eq!(summary["server"], "python-sdk-test-server");
    assert_eq!(summary["echo"], "hello through mcp-remote");
    assert_eq!(summary["asked"], json!(["elicitation/create"]));
    assert_eq!(summary["askingResult"], "confirmed: True");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_modes_behave_as_documented() {
    let sse = PeerServer::python(&["--sse"]).await;
    let summary = python_sdk_client_with(&sse.url, None, &["--transport", "sse-only"]).await;
    assert_eq!(summary["echo"], "hello through mcp-remote");
    let summary = python_sdk_client_with(&sse.url, None, &["--transport", "sse-first"]).await;
    assert_eq!(summary["echo"], "hello through mcp-remote");

    // http-only never tries the event stream: the POST's 405 is the answer.
    let sidecar = Sidecar::spawn_with(Launch::new(&sse.url).arg("--transport").arg("http-only"));
    let answer = sidecar.initialize_answer().await;
    assert_eq!(answer["error"]["data"]["httpStatus"], 405, "{answer}");

    // sse-only against a Streamable HTTP server: its refusal of the bare GET (400, with a JSON-RPC
    // error the client gets as it is) is the answer.
    let streamable = PeerServer::python(&[]).await;
    let sidecar = Sidecar::spawn_with(Launch::new(&streamable.url).arg("--transport").arg("sse-only"));
    let answer = sidecar.initialize_answer().await;
    assert!(answer["error"]["message"].is_string() && answer.get("result").is_none(), "{answer}");
    // sse-first against it falls back to Streamable HTTP.
    let summary = python_sdk_client_with(&streamable.url, None, &["--transport", "sse-first"]).await;
    assert_eq!(summary["echo"], "hello through mcp-remote");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_lost_mid_call_answers_the_call_and_a_new_stream_serves_the_next() {
    let port = free_port();
    let mut server = PeerServer::everything_sse(port).await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    let call = everything_call_in_flight(&mut sidecar, 900).await;
    server.kill().await;
    let answer = sidecar.wait_response(call, "the call whose stream died").await;
    assert_eq!(answer["id"], 900);
    let message = answer["error"]["message"].as_str().unwrap_or_else(|| panic!("{answer}"));
    assert!(message.contains("closed before it answered"), "{message}");

    let _server = PeerServer::everything_sse(port).await;
    assert_eq!(sidecar.call_tool("echo", json!({ "message": "back" })).await, "Echo: back");
    assert!(sidecar.violations().is_empty(), "{:?}", sidecar.violations());
    assert!(sidecar.close().await.success());
}

/// A call answered on the event stream before its POST's 202 is back (our own server holds the
/// 202; real ones do so only by chance): the client's next messages still go to the stream's
/// endpoint. Before, HTTP+SSE was chosen only when the initialize POST returned, and what the
/// client sent in between went to Streamable HTTP and was refused (405); the Python SDK's server
/// showed it under Wine one run in two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_before_the_initialize_post_returns_go_to_the_stream_endpoint() {
    let server = SlowAcceptSse::start().await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    assert_eq!(sidecar.call_tool("echo", json!({ "message": "here" })).await, "here");
    let requests = server.requests();
    let opened = requests.iter().position(|r| r == "GET /sse").expect("no event stream was opened");
    assert!(!requests[opened..].contains(&"POST /sse".to_string()), "{requests:?}");
    assert!(requests.contains(&"POST /messages tools/call".to_string()), "{requests:?}");
    assert!(sidecar.close().await.success());
}

/// OAuth works the same on HTTP+SSE: the GET of the event stream is what the server refuses
/// first, and a token that expires mid-session is refreshed when a POST is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_and_refresh_over_sse() {
    let scene = mcp_remote_tests::peers::OAuthScene::start_sse().await;
    let mut sidecar = Sidecar::spawn_with(scene.launch());
    sidecar.initialize().await;
    assert_eq!(sidecar.call_tool("echo", json!({ "message": "signed in" })).await, "signed in");
    assert_eq!(scene.browser_opened(), 1);
    assert_eq!(sidecar.call_tool("expire_token", json!({})).await, "expired");
    assert_eq!(sidecar.call_tool("echo", json!({ "message": "refreshed" })).await, "refreshed");
    assert_eq!(scene.events("refresh"), 1);
    assert!(sidecar.close().await.success());

    let mut next = Sidecar::spawn_with(scene.launch());
    next.initialize().await;
    assert_eq!(next.call_tool("echo", json!({ "message": "no browser" })).await, "no browser");
    assert_eq!(scene.browser_opened(), 1);
    assert_eq!(scene.events("authorize"), 1);
    assert!(next.close().await.success());
}
