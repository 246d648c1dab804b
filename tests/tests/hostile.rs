//! A hostile or compromised MCP server against the proxy, played by OUR OWN attacker servers
//! (`tests/src/hostile_auth.rs`, `tests/src/forward_proxy.rs`): credentials stay with the issuer that
//! issued or was given them (a pre-registered client's secret in the browser flow, with
//! `--client-credentials`, and after a sign-in at the genuine issuer; a refresh token after the
//! server names another authorization server, or claims the old issuer in 2025-03-26 metadata
//! with a foreign token endpoint); nothing is fetched on the server's word from another service
//! on the machine, with or without `--allow-http`; and a server that refuses every token gets
//! one browser, not one per request.

use mcp_remote_tests::forward_proxy::ForwardProxy;
use mcp_remote_tests::hostile_auth::{Hostile, Names};
use mcp_remote_tests::sidecar::{fresh_config_dir, Launch, Sidecar};
use mcp_remote_tests::test_ca::TestCa;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// A scratch folder with the config dir and the stand-in browser's log.
struct Desk {
    scratch: PathBuf,
}

impl Desk {
    fn new() -> Self {
        Self { scratch: fresh_config_dir() }
    }

    fn launch(&self, url: &str) -> Launch {
        Launch::new(url).browser(&self.scratch.join("browser.log")).config_dir(&self.scratch.join("config"))
    }

    fn browser_opened(&self) -> usize {
        std::fs::read_to_string(self.scratch.join("browser.log")).unwrap_or_default().lines().count()
    }
}

impl Drop for Desk {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

fn error_message(answer: &Value) -> String {
    assert!(answer.get("error").is_some(), "expected an error: {answer}");
    answer["error"]["message"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_secret_is_not_sent_to_another_authorization_server_in_the_browser_flow() {
    let hostile = Hostile::start(Names::Rogue).await;
    let desk = Desk::new();
    let info = Hostile::static_client_info(Some(&hostile.home));
    let mut sidecar = Sidecar::spawn_with(
        desk.launch(&hostile.url).arg("--static-oauth-client-info").arg(info).arg("--auth-timeout").arg("5s"),
    );
    let message = error_message(&sidecar.initialize_answer().await);
    assert!(message.contains("belongs to the authorization server") && message.contains(&hostile.rogue), "{message}");
    assert_eq!(hostile.hits.rogue_secret.load(Ordering::SeqCst), 0, "the secret reached the rogue server");
    assert_eq!(desk.browser_opened(), 0, "a sign-in at the rogue server was opened");
    assert!(sidecar.close().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_secret_is_not_sent_to_another_authorization_server_with_client_credentials() {
    let hostile = Hostile::start(Names::Rogue).await;
    let desk = Desk::new();
    let info = Hostile::static_client_info(Some(&hostile.home));
    let mut sidecar = Sidecar::spawn_with(
        desk.launch(&hostile.url).arg("--client-credentials").arg("--static-oauth-client-info").arg(info),
    );
    let message = error_message(&sidecar.initialize_answer().await);
    assert!(message.contains("belongs to the authorization server"), "{message}");
    assert_eq!(hostile.hits.rogue_secret.load(Ordering::SeqCst), 0, "the secret reached the rogue server");

    // The same client at the server it belongs to signs in, so the refusal is the binding's doing.
    hostile.name(Names::Home);
    let answer = sidecar.request("tools/list", json!({})).await;
    assert!(answer.get("result").is_some(), "{answer}");
    assert_eq!(hostile.hits.home_token.load(Ordering::SeqCst), 1);
    assert!(sidecar.close().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_client_used_at_its_issuer_is_bound_there_when_the_server_turns() {
    let hostile = Hostile::start(Names::Home).await;
    let desk = Desk::new();
    // No "issuer": the first successful use binds it.
    let info = Hostile::static_client_info(None);
    let mut sidecar = Sidecar::spawn_with(desk.launch(&hostile.url).arg("--static-oauth-client-info").arg(info));
    sidecar.initialize().await;
    assert_eq!(sidecar.call_tool("anything", json!({})).await, "authorized");
    assert_eq!(desk.browser_opened(), 1);

    hostile.name(Names::Rogue);
    hostile.revoke_tokens();
    let message = error_message(&sidecar.request("tools/list", json!({})).await);
    assert!(message.contains("belongs to the authorization server") && message.contains(&hostile.home), "{message}");
    assert_eq!(hostile.hits.rogue_secret.load(Ordering::SeqCst), 0, "the secret reached the rogue server");
    assert_eq!(hostile.hits.rogue_refresh.load(Ordering::SeqCst), 0, "the refresh token reached the rogue server");
    assert_eq!(desk.browser_opened(), 1, "a sign-in at the rogue server was opened");
    assert!(sidecar.close().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_authorization_server_is_a_visible_sign_in_and_never_gets_the_refresh_token() {
    let hostile = Hostile::start(Names::Home).await;
    let desk = Desk::new();
    let mut sidecar = Sidecar::spawn_with(desk.launch(&hostile.url));
    sidecar.initialize().await;
    assert_eq!(sidecar.call_tool("anything", json!({})).await, "authorized");

    hostile.name(Names::Rogue);
    hostile.revoke_tokens();
    // A person signs in again, in the browser, at the new server: it is told so, and nothing
    // stored for home is spent there.
    assert_eq!(sidecar.call_tool("anything", json!({})).await, "authorized");
    assert_eq!(desk.browser_opened(), 2);
    assert_eq!(hostile.hits.rogue_refresh.load(Ordering::SeqCst), 0, "the refresh token reached the rogue server");
    let told = sidecar.stderr();
    assert!(told.contains(&format!("now sends sign-in to {}, not {}", hostile.rogue, hostile.home)), "{told}");
    assert!(sidecar.close().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_of_the_mcp_server_that_claims_the_old_issuer_is_refused() {
    let hostile = Hostile::start(Names::Home).await;
    let desk = Desk::new();
    let mut sidecar = Sidecar::spawn_with(desk.launch(&hostile.url));
    sidecar.initialize().await;

    hostile.name(Names::LegacyClaimingHome);
    hostile.revoke_tokens();
    let message = error_message(&sidecar.request("tools/list", json!({})).await);
    assert!(message.contains("names issuer") && message.contains(&hostile.home), "{message}");
    assert_eq!(hostile.hits.rogue.load(Ordering::SeqCst), 0, "a request reached the rogue server");
    assert_eq!(desk.browser_opened(), 1);
    assert!(sidecar.close().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_allow_http_a_server_cannot_send_the_proxy_to_a_plain_http_service() {
    let ca = TestCa::new();
    let desk = Desk::new();
    let ca_file = desk.scratch.join("ca.pem");
    std::fs::write(&ca_file, &ca.ca_pem).unwrap();
    let hostile = Hostile::start_with(Names::Home, Some(ca.server_config(false))).await;
    hostile.name(Names::MetadataAt(format!("{}/internal/admin?action=wipe", hostile.victim)));
    let mut launch = desk.launch(&hostile.url).arg("--ca-file").arg(ca_file.to_str().unwrap());
    launch.args.retain(|a| a != "--allow-http");
    let mut sidecar = Sidecar::spawn_with(launch);
    let message = error_message(&sidecar.initialize_answer().await);
    assert!(message.contains("not https"), "{message}");
    assert!(!message.contains("wipe"), "the query is shown: {message}");
    assert_eq!(hostile.hits.victim.load(Ordering::SeqCst), 0, "the victim service was fetched");
    assert!(sidecar.close().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_server_cannot_send_the_proxy_to_a_service_on_the_machine() {
    let hostile = Hostile::start(Names::Home).await;
    let origin = hostile.url.trim_end_matches("/mcp").to_string();
    let proxy = ForwardProxy::start(&origin).await;
    let public_url = "http://mcp.hostile.test/mcp";
    let victim_port = hostile.victim.rsplit(':').next().unwrap().to_string();
    for named in [
        Names::MetadataAt(format!("{}/.well-known/oauth-protected-resource", hostile.victim)),
        Names::AuthorizationServer(format!("http://localhost:{victim_port}")),
        Names::AuthorizationServer(format!("http://[::ffff:127.0.0.1]:{victim_port}")),
    ] {
        hostile.name(named.clone());
        let desk = Desk::new();
        let mut sidecar = Sidecar::spawn_with(desk.launch(public_url).env("HTTP_PROXY", &proxy.url));
        let message = error_message(&sidecar.initialize_answer().await);
        assert!(message.contains("loopback"), "{named:?}: {message}");
        assert_eq!(hostile.hits.victim.load(Ordering::SeqCst), 0, "{named:?}: the victim service was fetched");
        assert!(sidecar.close().await.success());
    }
    assert!(proxy.forwarded.load(Ordering::SeqCst) >= 3, "the MCP server was reached through the proxy");

    // The same server naming an authorization server by a public name is let through (the
    // forward proxy takes every name to the MCP server, which has no such metadata): the refusals
    // above are the policy's doing.
    hostile.name(Names::AuthorizationServer("http://home.hostile.test".into()));
    let desk = Desk::new();
    let before = proxy.forwarded.load(Ordering::SeqCst);
    let mut sidecar = Sidecar::spawn_with(desk.launch(public_url).env("HTTP_PROXY", &proxy.url));
    let message = error_message(&sidecar.initialize_answer().await);
    assert!(
        message.contains("no authorization server metadata found for issuer http://home.hostile.test"),
        "{message}"
    );
    assert!(proxy.forwarded.load(Ordering::SeqCst) >= before + 4, "initialize, resource and server metadata");
    assert!(sidecar.close().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_refuses_every_token_gets_one_browser_however_many_requests() {
    let hostile = Hostile::start(Names::RefuseEverything).await;
    let desk = Desk::new();
    let mut sidecar = Sidecar::spawn_with(desk.launch(&hostile.url));
    let first = error_message(&sidecar.initialize_answer().await);
    assert!(first.contains("401") || first.contains("refused"), "{first}");
    for method in ["ping", "tools/list", "resources/list", "prompts/list"] {
        let message = error_message(&sidecar.request(method, json!({})).await);
        assert!(message.contains("not signing in again"), "{method}: {message}");
    }
    assert_eq!(desk.browser_opened(), 1, "one browser, however many requests the server refuses");
    assert!(sidecar.close().await.success());
}
