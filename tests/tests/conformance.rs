//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, on Node 22): its
//! non-auth client scenarios, run through our driver, which plays Claude Desktop and spawns the
//! real mcp-remote binary. One scenario at a time: parallel runs time out on 2 cores.

use mcp_remote_tests::peers::{node22, peers_dir};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn run_scenario(scenario: &str) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let suite = peers_dir().join("node_modules/@modelcontextprotocol/conformance/dist/index.js");
    let out_dir = std::env::temp_dir().join(format!("mcp-remote-conformance-{}-{scenario}", std::process::id()));
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
