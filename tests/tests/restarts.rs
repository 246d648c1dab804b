//! Blips are not failures: real servers killed and started again on the same port (their
//! sessions, clients and tokens forgotten), and processes frozen and thawed as a laptop's sleep
//! does, while sidecars serve calls. No call may be lost, and a forgotten sign-in is redone once
//! for every sidecar sharing it.

use futures_util::future::join_all;
use mcp_remote_tests::peers::{everything_long_call, free_port, OAuthScene, PeerServer};
use mcp_remote_tests::sidecar::{tool_text, Sidecar};
use serde_json::{json, Value};
use std::time::Duration;

/// How long each server stays away: the outage the retry window (10 s by default) must bridge.
const OUTAGE: Duration = Duration::from_secs(2);

/// One `echo` call from every sidecar at once; the answers in sidecar order.
async fn echo_round(sidecars: &[Sidecar], round: usize) -> Vec<Value> {
    let calls = sidecars.iter().enumerate().map(|(i, sidecar)| {
        sidecar.request("tools/call", json!({ "name": "echo", "arguments": { "message": format!("{round}.{i}") } }))
    });
    join_all(calls).await
}

/// The calls of `round` whose answer is not the echo: each one a call the client lost.
fn lost(answers: &[Value], round: usize, echo: impl Fn(&str) -> String) -> Vec<String> {
    answers
        .iter()
        .enumerate()
        .filter(|(i, answer)| tool_text(answer) != Some(echo(&format!("{round}.{i}"))))
        .map(|(_, answer)| answer.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_sidecars_lose_no_call_while_a_stateful_server_restarts() {
    let port = free_port();
    let mut server = PeerServer::everything(port).await;
    let sidecars: Vec<Sidecar> = (0..3).map(|_| Sidecar::spawn(&server.url)).collect();
    join_all(sidecars.iter().map(Sidecar::initialize)).await;
    let echo = |m: &str| format!("Echo: {m}");
    let mut lost_calls = Vec::new();
    for round in 0..3 {
        lost_calls.extend(lost(&echo_round(&sidecars, round).await, round, echo));
    }
    server.kill().await;
    // Every sidecar's call goes out while nothing listens on the port; the server comes back,
    // without the sessions, after the outage.
    let during = echo_round(&sidecars, 3);
    let restart = async {
        tokio::time::sleep(OUTAGE).await;
        PeerServer::everything(port).await
    };
    let (answers, _server) = tokio::join!(during, restart);
    lost_calls.extend(lost(&answers, 3, echo));
    for round in 4..7 {
        lost_calls.extend(lost(&echo_round(&sidecars, round).await, round, echo));
    }
    assert!(lost_calls.is_empty(), "lost calls: {lost_calls:?}");
    for mut sidecar in sidecars {
        assert!(sidecar.drain_unmatched().is_empty());
        assert!(sidecar.violations().is_empty(), "{:?}", sidecar.violations());
        assert!(sidecar.close().await.success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_sidecars_lose_no_call_while_the_authorization_server_restarts_and_sign_in_again_once() {
    let mut scene = OAuthScene::start().await;
    let port = scene.server.port;
    let sidecars: Vec<Sidecar> = (0..3).map(|_| Sidecar::spawn_with(scene.launch())).collect();
    join_all(sidecars.iter().map(Sidecar::initialize)).await;
    let echo = |m: &str| m.to_string();
    let mut lost_calls = lost(&echo_round(&sidecars, 0).await, 0, echo);
    assert_eq!(scene.browser_opened(), 1);
    // The server and its authorization server are one process: it comes back having forgotten
    // every session, client registration and token.
    scene.server.kill().await;
    let restarted_log = scene.scratch.join("events-2.jsonl");
    let during = echo_round(&sidecars, 1);
    let restart = async {
        tokio::time::sleep(OUTAGE).await;
        PeerServer::python_oauth_on(port, &restarted_log).await
    };
    let (answers, _server) = tokio::join!(during, restart);
    lost_calls.extend(lost(&answers, 1, echo));
    for round in 2..4 {
        lost_calls.extend(lost(&echo_round(&sidecars, round).await, round, echo));
    }
    assert!(lost_calls.is_empty(), "lost calls: {lost_calls:?}");
    assert_eq!(scene.browser_opened(), 2, "one sign-in again, shared by the three");
    assert_eq!(mcp_remote_tests::peers::count_events(&restarted_log, "register"), 1);
    for mut sidecar in sidecars {
        assert!(sidecar.violations().is_empty(), "{:?}", sidecar.violations());
        assert!(sidecar.close().await.success());
    }
}

/// A laptop's sleep freezes the proxy, or the server's host, in the middle of a call; on waking
/// the call completes, with every progress notification, and no browser tab opens.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_in_flight_survives_the_proxy_and_the_server_being_frozen_and_thawed() {
    const NAP: Duration = Duration::from_secs(3);
    let server = PeerServer::everything(free_port()).await;
    let mut sidecar = Sidecar::spawn(&server.url);
    sidecar.initialize().await;
    for (id, frozen) in [(1, "proxy"), (2, "server")] {
        let call = everything_long_call(&mut sidecar, id, 4).await;
        match frozen {
            "proxy" => sidecar.signal("STOP"),
            _ => server.signal("STOP"),
        }
        tokio::time::sleep(NAP).await;
        match frozen {
            "proxy" => sidecar.signal("CONT"),
            _ => server.signal("CONT"),
        }
        let answer = sidecar.wait_response(call, frozen).await;
        let text = tool_text(&answer).unwrap_or_else(|| panic!("{frozen} frozen: {answer}"));
        assert!(text.contains("completed"), "{frozen} frozen: {text}");
        let progress = sidecar.drain_notifications().iter().filter(|n| n["method"] == "notifications/progress").count();
        assert_eq!(progress, 3, "{frozen} frozen: progress notifications after the first");
    }
    assert_eq!(sidecar.call_tool("echo", json!({ "message": "awake" })).await, "Echo: awake");
    assert!(sidecar.drain_unmatched().is_empty());
    assert!(sidecar.close().await.success());
}

/// Claude Desktop often starts before the network (or the server) is up: an `initialize` sent
/// while nothing listens is answered once the server comes, within the retry window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_initialize_sent_before_the_server_is_up_is_answered_when_it_comes() {
    let port = free_port();
    let mut sidecar = Sidecar::spawn(&format!("http://127.0.0.1:{port}/mcp"));
    let answer = sidecar.send_initialize();
    tokio::time::sleep(OUTAGE).await;
    let _server = PeerServer::everything(port).await;
    let answer = sidecar.wait_response(answer, "initialize").await;
    assert!(answer["result"]["serverInfo"].is_object(), "{answer}");
    sidecar.notify("notifications/initialized", json!({}));
    assert_eq!(sidecar.call_tool("echo", json!({ "message": "up" })).await, "Echo: up");
    assert!(sidecar.close().await.success());
}
