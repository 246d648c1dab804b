//! Sign-in refusals, against OUR OWN fault authorization server (see its module doc): a wrong
//! `iss`, a forged `state`, a token endpoint that redirects to another origin, and a `javascript:`
//! authorization URL are all refused, and no token is stored. The same server without a fault
//! signs in, so each refusal is the fault's doing.

use mcp_remote_tests::fault_auth::{Fault, FaultAuthServer};
use mcp_remote_tests::sidecar::{fresh_config_dir, Launch, Sidecar};
use serde_json::Value;
use std::sync::atomic::Ordering;

struct Outcome {
    answer: Value,
    browser_opened: usize,
    tokens_stored: bool,
    server: FaultAuthServer,
}

async fn sign_in(fault: Fault) -> Outcome {
    let server = FaultAuthServer::start(fault).await;
    let scratch = fresh_config_dir();
    let browser_log = scratch.join("browser.log");
    let config = scratch.join("config");
    let mut sidecar = Sidecar::spawn_with(
        Launch::new(&server.url).browser(&browser_log).config_dir(&config).arg("--auth-timeout").arg("3s"),
    );
    let answer = sidecar.initialize_answer().await;
    assert!(sidecar.close().await.success());
    let browser_opened = std::fs::read_to_string(&browser_log).unwrap_or_default().lines().count();
    let tokens_stored = walk_has(&config, "tokens.json");
    let _ = std::fs::remove_dir_all(scratch);
    Outcome { answer, browser_opened, tokens_stored, server }
}

fn walk_has(dir: &std::path::Path, name: &str) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let path = e.path();
            (path.is_dir() && walk_has(&path, name)) || path.file_name().is_some_and(|n| n == name)
        })
    })
}

fn error_of(outcome: &Outcome) -> String {
    assert_eq!(outcome.answer["error"]["code"], -32001, "{}", outcome.answer);
    outcome.answer["error"]["message"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_fault_the_sign_in_succeeds() {
    let outcome = sign_in(Fault::None).await;
    assert!(outcome.answer.get("result").is_some(), "{}", outcome.answer);
    assert_eq!(outcome.browser_opened, 1);
    assert!(outcome.tokens_stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_issuer_in_the_redirect_is_refused() {
    let outcome = sign_in(Fault::WrongIssuer).await;
    let message = error_of(&outcome);
    assert!(message.contains("issuer") && message.contains("evil.example"), "{message}");
    assert_eq!(outcome.server.hits.token.load(Ordering::SeqCst), 0, "the code was sent to the token endpoint");
    assert!(!outcome.tokens_stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_state_is_refused_until_the_sign_in_times_out() {
    let outcome = sign_in(Fault::ForgedState).await;
    let message = error_of(&outcome);
    assert!(message.contains("not completed within"), "{message}");
    assert_eq!(outcome.server.hits.token.load(Ordering::SeqCst), 0);
    assert!(!outcome.tokens_stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_redirect_to_another_origin_is_not_followed() {
    let outcome = sign_in(Fault::TokenRedirect).await;
    let message = error_of(&outcome);
    assert!(message.contains("token"), "{message}");
    assert_eq!(outcome.server.hits.token.load(Ordering::SeqCst), 1);
    assert_eq!(outcome.server.hits.elsewhere.load(Ordering::SeqCst), 0, "the token request followed the redirect");
    assert!(!outcome.tokens_stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_javascript_authorization_url_is_never_opened() {
    let outcome = sign_in(Fault::JavascriptAuthorize).await;
    let message = error_of(&outcome);
    assert!(message.contains("javascript:"), "{message}");
    assert_eq!(outcome.browser_opened, 0);
    assert!(!outcome.tokens_stored);
}
