//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, on Node 22): its
//! client scenarios, transport and auth, run through our driver, which plays Claude Desktop and
//! spawns the real mcp-remote binary. One scenario at a time: parallel runs time out on 2 cores.

use mcp_remote_tests::peers::{node22, peers_dir};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn run_scenario(scenario: &str) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let suite = peers_dir().join("node_modules/@modelcontextprotocol/conformance/dist/index.js");
    let out_dir = std::env::temp_dir().join(format!(
        "mcp-remote-conformance-{}-{}",
        std::process::id(),
        scenario.replace('/', "-")
    ));
    let _ = std::fs::remove_dir_all(&out_dir);
    let driver = env!("CARGO_BIN_EXE_conformance-driver");
    let output = Command::new(node22())
        .arg(suite)
        .args(["client", "--scenario", scenario, "--timeout", "30000", "-o"])
        .arg(&out_dir)
        .arg("--command")
        .arg(format!("exec {driver}"))
        .output()
        .expect("run the conformance suite");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && text.contains("OVERALL: PASSED"), "{scenario}:\n{text}");
    // "0/0 passed" also says PASSED: require real checks, all of them successes.
    let checks =
        find_checks(&out_dir).unwrap_or_else(|| panic!("{scenario}: no checks.json in {}\n{text}", out_dir.display()));
    let checks: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(checks).unwrap()).unwrap();
    let statuses: Vec<&str> = checks.iter().filter_map(|c| c["status"].as_str()).collect();
    assert!(statuses.contains(&"SUCCESS"), "{scenario}: no successful check: {statuses:?}");
    assert!(statuses.iter().all(|s| matches!(*s, "SUCCESS" | "INFO")), "{scenario}: {statuses:?}\n{text}");
    let _ = std::fs::remove_dir_all(&out_dir);
}

fn find_checks(dir: &PathBuf) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_checks(&path) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == "checks.json") {
            return Some(path);
        }
    }
    None
}

#[test]
fn conformance_initialize() {
    run_scenario("initialize");
}

#[test]
fn conformance_tools_call() {
    run_scenario("tools_call");
}

#[test]
fn conformance_elicitation_defaults() {
    run_scenario("elicitation-sep1034-client-defaults");
}

#[test]
fn conformance_sse_retry() {
    run_scenario("sse-retry");
}

#[test]
fn conformance_auth_metadata_default() {
    run_scenario("auth/metadata-default");
}

#[test]
fn conformance_auth_metadata_var1() {
    run_scenario("auth/metadata-var1");
}

#[test]
fn conformance_auth_metadata_var2() {
    run_scenario("auth/metadata-var2");
}

#[test]
fn conformance_auth_metadata_var3() {
    run_scenario("auth/metadata-var3");
}

#[test]
fn conformance_auth_basic_cimd() {
    run_scenario("auth/basic-cimd");
}

#[test]
fn conformance_auth_pre_registration() {
    run_scenario("auth/pre-registration");
}

#[test]
fn conformance_auth_scope_from_www_authenticate() {
    run_scenario("auth/scope-from-www-authenticate");
}

#[test]
fn conformance_auth_scope_from_scopes_supported() {
    run_scenario("auth/scope-from-scopes-supported");
}

#[test]
fn conformance_auth_scope_omitted_when_undefined() {
    run_scenario("auth/scope-omitted-when-undefined");
}

#[test]
fn conformance_auth_scope_step_up() {
    run_scenario("auth/scope-step-up");
}

#[test]
fn conformance_auth_scope_retry_limit() {
    run_scenario("auth/scope-retry-limit");
}

#[test]
fn conformance_auth_token_endpoint_auth_basic() {
    run_scenario("auth/token-endpoint-auth-basic");
}

#[test]
fn conformance_auth_token_endpoint_auth_post() {
    run_scenario("auth/token-endpoint-auth-post");
}

#[test]
fn conformance_auth_token_endpoint_auth_none() {
    run_scenario("auth/token-endpoint-auth-none");
}

#[test]
fn conformance_auth_2025_03_26_oauth_metadata_backcompat() {
    run_scenario("auth/2025-03-26-oauth-metadata-backcompat");
}

#[test]
fn conformance_auth_2025_03_26_oauth_endpoint_fallback() {
    run_scenario("auth/2025-03-26-oauth-endpoint-fallback");
}
