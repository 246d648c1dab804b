//! Faults no real server produces on demand, from OUR OWN fault server (see its module doc): a
//! cut response stream (resumed, with a replayed event), a cut stream with nothing to resume from,
//! a garbage body, bodies that are not UTF-8, HTTP 500, 502 pages, 503 and 429 with and without
//! `Retry-After`, a 202 to a request, headers after 30 s, a server that never answers, and an
//! unreachable server. Every request still gets exactly one answer, and the proxy keeps serving.

use mcp_remote_tests::fault_server::{FaultServer, LARGE_ANSWER_BYTES, SLOW_HEADERS};
use mcp_remote_tests::sidecar::{Launch, Sidecar};
use serde_json::{json, Value};
use std::time::Duration;

async fn call(sidecar: &Sidecar, tool: &str) -> Value {
    sidecar.request("tools/call", json!({ "name": tool, "arguments": {} })).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_stream_is_resumed_and_nothing_is_delivered_twice() {
    let server = FaultServer::start().await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    let response = call(&sidecar, "drop_then_resume").await;
    assert_eq!(response["result"]["content"][0]["text"], "resumed", "{response}");
    assert_eq!(server.resumed_from(), vec!["e1".to_string()]);
    let note = sidecar.next_notification().await;
    assert_eq!(note["params"]["data"], "before the cut");
    // Whatever else arrives, the replayed notification and the duplicate answer must not.
    assert_eq!(call(&sidecar, "still-alive").await["result"]["content"][0]["text"], "still-alive");
    assert!(sidecar.drain_unmatched().is_empty(), "a duplicate response reached the client");
    assert!(sidecar.close().await.success());
    let extra = sidecar.drain_notifications();
    assert!(extra.is_empty(), "replayed messages reached the client: {extra:?}");
    assert_eq!(server.deletes(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_answer_cut_midway_arrives_once_and_whole_after_resumption() {
    let server = FaultServer::start().await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    let response = call(&sidecar, "drop_large_then_resume").await;
    let text = response["result"]["content"][0]["text"].as_str().unwrap_or_else(|| panic!("no text: {response:.200}"));
    assert_eq!(text.len(), LARGE_ANSWER_BYTES);
    assert!(text.bytes().all(|b| b == b'y'));
    assert_eq!(server.resumed_from(), vec!["e1".to_string()]);
    assert_eq!(sidecar.next_notification().await["params"]["data"], "before the cut");
    assert_eq!(call(&sidecar, "still-alive").await["result"]["content"][0]["text"], "still-alive");
    assert!(sidecar.drain_unmatched().is_empty(), "a duplicate or partial message reached the client");
    assert!(sidecar.violations().is_empty(), "{:?}", sidecar.violations());
    assert!(sidecar.close().await.success());
    assert!(sidecar.drain_notifications().is_empty(), "replayed messages reached the client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_is_answered_with_a_useful_error() {
    let server = FaultServer::start().await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    for (tool, needle) in [
        ("drop_no_id", "closed the response stream"),
        ("garbage", "invalid response"),
        ("http500", "HTTP 500 Internal Server Error: database on fire"),
        ("accepted", "without answering"),
    ] {
        let response = call(&sidecar, tool).await;
        let message = response["error"]["message"].as_str().unwrap_or_else(|| panic!("{tool}: {response}"));
        assert!(message.contains(needle), "{tool}: {message}");
        assert_eq!(response["error"]["code"], -32000, "{tool}");
    }
    assert_eq!(call(&sidecar, "still-alive").await["result"]["content"][0]["text"], "still-alive");
    assert!(sidecar.violations().is_empty());
    assert!(sidecar.close().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_answers_each_request_with_an_error() {
    let port = mcp_remote_tests::peers::free_port();
    let launch = Launch::new(&format!("http://127.0.0.1:{port}/mcp")).arg("--retry-for").arg("1s");
    let mut sidecar = Sidecar::spawn_with(launch);
    for _ in 0..2 {
        let response = sidecar.initialize_answer().await;
        let message = response["error"]["message"].as_str().expect("an error");
        assert!(message.contains("cannot reach the server"), "{message}");
    }
    assert!(sidecar.close().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_gets_one_answer_per_request() {
    let server = FaultServer::start().await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    let first = sidecar.expect_response(json!("b1"));
    let second = sidecar.expect_response(json!("b2"));
    sidecar.send_raw(
        r#"[{"jsonrpc":"2.0","id":"b1","method":"tools/list"},{"jsonrpc":"2.0","method":"notifications/x"},{"jsonrpc":"2.0","id":"b2","method":"ping"}]"#,
    );
    assert_eq!(sidecar.wait_response(first, "b1").await["result"]["method"], "tools/list");
    assert_eq!(sidecar.wait_response(second, "b2").await["result"]["method"], "ping");
    assert!(sidecar.drain_unmatched().is_empty());
    assert!(sidecar.close().await.success());
}

/// An expired session is renewed with the client's handshake, and the new session's GET stream is
/// waited for only so long: a server whose stream never answers (not even with headers) does not
/// hold the failed request, nor the renewal every other request would wait behind, forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_is_not_held_up_by_a_get_stream_that_never_answers() {
    let server = FaultServer::start().await;
    let sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    assert_eq!(call(&sidecar, "expire_session").await["result"]["content"][0]["text"], "expired");
    let after = tokio::time::timeout(std::time::Duration::from_secs(10), call(&sidecar, "after"))
        .await
        .expect("the renewal waited for the GET stream without a bound");
    assert_eq!(after["result"]["content"][0]["text"], "after", "{after}");
}

/// 503 and 429 say the server did not take the request on: the proxy sends it again, after the
/// `Retry-After` the server gave, and the client sees only the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_answers_are_waited_out_as_the_server_asks() {
    let server = FaultServer::start().await;
    let sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    for tool in ["http503_once", "http503_retry_after_once", "http429_once"] {
        let answer = call(&sidecar, tool).await;
        assert_eq!(answer["result"]["content"][0]["text"], tool, "{answer}");
        let asked = server.times_asked(tool);
        assert_eq!(asked.len(), 2, "{tool}: asked {} times", asked.len());
        if tool != "http503_once" {
            let waited = asked[1] - asked[0];
            assert!(waited >= Duration::from_millis(990), "{tool}: sent again after {waited:?}, not Retry-After: 1");
        }
    }
    assert!(sidecar.violations().is_empty());
}

/// A server that stays unavailable is answered for when the retry window closes, with its status
/// and words; the proxy serves the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stays_busy_is_answered_for_when_the_window_closes() {
    let server = FaultServer::start().await;
    let mut sidecar = Sidecar::spawn_with(Launch::new(&server.url).arg("--retry-for").arg("3s"));
    sidecar.initialize().await;
    let answer = call(&sidecar, "http503_always").await;
    assert_eq!(answer["error"]["data"]["httpStatus"], 503, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert_eq!(message, "mcp-remote: the server answered HTTP 503 Service Unavailable: down for maintenance");
    let asked = server.times_asked("http503_always").len();
    assert!((2..=4).contains(&asked), "asked {asked} times in a 3 s window with Retry-After: 1");
    assert_eq!(call(&sidecar, "still-alive").await["result"]["content"][0]["text"], "still-alive");
    assert!(sidecar.close().await.success());
}

/// A gateway's HTML error page: a tool call, which the server may have acted on, is not sent
/// again; a read is. No HTML reaches the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_error_page_is_sent_again_only_for_a_read() {
    let server = FaultServer::start().await;
    let sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    let answer = call(&sidecar, "http502_html").await;
    assert_eq!(answer["error"]["message"], "mcp-remote: the server answered HTTP 502 Bad Gateway", "{answer}");
    assert_eq!(server.times_asked("http502_html").len(), 1, "a tool call was sent twice");
    let read = sidecar.request("resources/read", json!({ "uri": "fault://http502_html_once" })).await;
    assert_eq!(read["result"]["contents"][0]["text"], "read", "{read}");
    assert_eq!(server.times_asked("http502_html_once").len(), 2);
    assert!(sidecar.violations().is_empty());
}

/// Bodies that are not UTF-8 (cut inside a character, or with a stray byte) are answered with an
/// error, and no byte of them reaches stdout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_that_are_not_utf8_are_errors_and_never_reach_stdout() {
    let server = FaultServer::start().await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    for tool in ["truncated_utf8", "invalid_utf8"] {
        let answer = call(&sidecar, tool).await;
        let message = answer["error"]["message"].as_str().unwrap_or_else(|| panic!("{tool}: {answer}"));
        assert!(message.contains("invalid response"), "{tool}: {message}");
    }
    assert_eq!(call(&sidecar, "still-alive").await["result"]["content"][0]["text"], "still-alive");
    assert!(sidecar.close().await.success());
    assert!(sidecar.violations().is_empty(), "{:?}", sidecar.violations());
}

/// Response headers that take longer than 30 s are waited for: no timeout cuts a slow server off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_after_thirty_seconds_are_waited_for() {
    let server = FaultServer::start().await;
    let sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    let rx = sidecar.send_request(json!("slow"), "tools/call", json!({ "name": "slow_headers", "arguments": {} }));
    let answer = tokio::time::timeout(SLOW_HEADERS + Duration::from_secs(30), rx).await.expect("an answer").unwrap();
    assert_eq!(answer["result"]["content"][0]["text"], "slow_headers", "{answer}");
}

/// A server that never answers, not even with headers: when the client leaves, the request is
/// answered with an error before the proxy exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_answered_for_when_the_client_leaves() {
    let server = FaultServer::start().await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    let rx = sidecar.send_request(json!("never"), "tools/call", json!({ "name": "never", "arguments": {} }));
    tokio::time::timeout(Duration::from_secs(30), server.asked("never")).await.expect("the call reached the server");
    assert!(sidecar.close().await.success());
    let answer = sidecar.wait_response(rx, "the call the server never answered").await;
    assert_eq!(answer["error"]["message"], "mcp-remote: mcp-remote is shutting down", "{answer}");
}
