//! The official MCP conformance suite (`@modelcontextprotocol/conformance` 0.2.0-alpha.12, on
//! Node 22): the client requirement sets of 2025-11-25 (18 scenarios) and 2026-07-28 (32), each
//! scenario at its set's `--spec-version`, and the two 2025-03-26 auth scenarios at theirs, run
//! through our driver, which plays Claude Desktop (a 2025-era client) and spawns the real
//! mcp-remote binary. One scenario at a time: parallel runs time out on 2 cores.

use mcp_remote_tests::peers::{node22, peers_dir};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn run_scenario(spec_version: &str, scenario: &str) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let suite = peers_dir().join("node_modules/@modelcontextprotocol/conformance/dist/index.js");
    let out_dir = std::env::temp_dir().join(format!(
        "mcp-remote-conformance-{}-{spec_version}-{}",
        std::process::id(),
        scenario.replace('/', "-")
    ));
    let _ = std::fs::remove_dir_all(&out_dir);
    let driver = env!("CARGO_BIN_EXE_conformance-driver");
    let output = Command::new(node22())
        .arg(suite)
        .arg("client")
        // Extension scenarios belong to no revision: the suite skips them when one is named.
        .args(if spec_version == EXTENSION { vec![] } else { vec!["--spec-version", spec_version] })
        .args(["--scenario", scenario, "--timeout", "30000", "-o"])
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
    // SKIPPED is a check of something this scenario's client never had to do (http-standard-headers
    // lists `initialize`, which the proxy rightly never sends a 2026-07-28 server).
    assert!(statuses.iter().all(|s| matches!(*s, "SUCCESS" | "INFO" | "SKIPPED")), "{scenario}: {statuses:?}\n{text}");
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

/// One test per scenario of a set, each run at that set's `--spec-version`; `shared_auth` adds
/// the fourteen authorization scenarios both requirement sets have.
macro_rules! scenarios {
    ($version:literal, shared_auth: $($test:ident => $scenario:literal),* $(,)?) => {
        scenarios! { $version:
            auth_metadata_default => "auth/metadata-default",
            auth_metadata_var1 => "auth/metadata-var1",
            auth_metadata_var2 => "auth/metadata-var2",
            auth_metadata_var3 => "auth/metadata-var3",
            auth_basic_cimd => "auth/basic-cimd",
            auth_scope_from_www_authenticate => "auth/scope-from-www-authenticate",
            auth_scope_from_scopes_supported => "auth/scope-from-scopes-supported",
            auth_scope_omitted_when_undefined => "auth/scope-omitted-when-undefined",
            auth_scope_step_up => "auth/scope-step-up",
            auth_scope_retry_limit => "auth/scope-retry-limit",
            auth_token_endpoint_auth_basic => "auth/token-endpoint-auth-basic",
            auth_token_endpoint_auth_post => "auth/token-endpoint-auth-post",
            auth_token_endpoint_auth_none => "auth/token-endpoint-auth-none",
            auth_pre_registration => "auth/pre-registration",
            $($test => $scenario),*
        }
    };
    ($version:literal: $($test:ident => $scenario:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                run_scenario($version, $scenario);
            }
        )*
    };
}

mod set_2025_11_25 {
    use super::run_scenario;
    scenarios! { "2025-11-25", shared_auth:
        initialize => "initialize",
        tools_call => "tools_call",
        elicitation_defaults => "elicitation-sep1034-client-defaults",
        sse_retry => "sse-retry",
    }
}

mod set_2026_07_28 {
    use super::run_scenario;
    scenarios! { "2026-07-28", shared_auth:
        tools_call => "tools_call",
        request_metadata => "request-metadata",
        auth_resource_mismatch => "auth/resource-mismatch",
        auth_offline_access_scope => "auth/offline-access-scope",
        auth_offline_access_not_supported => "auth/offline-access-not-supported",
        auth_authorization_server_migration => "auth/authorization-server-migration",
        auth_iss_supported => "auth/iss-supported",
        auth_iss_not_advertised => "auth/iss-not-advertised",
        auth_iss_supported_missing => "auth/iss-supported-missing",
        auth_iss_wrong_issuer => "auth/iss-wrong-issuer",
        auth_iss_unexpected => "auth/iss-unexpected",
        auth_iss_normalized => "auth/iss-normalized",
        auth_metadata_issuer_mismatch => "auth/metadata-issuer-mismatch",
        client_request_state => "sep-2322-client-request-state",
        http_standard_headers => "http-standard-headers",
        http_custom_headers => "http-custom-headers",
        http_invalid_tool_headers => "http-invalid-tool-headers",
        json_schema_ref_no_deref => "json-schema-ref-no-deref",
    }
}

/// The "version" of the suite's extension scenarios, run with no `--spec-version`.
const EXTENSION: &str = "extension";

/// Extensions: machine clients with the client credentials grant (secret, and private_key_jwt).
mod extensions {
    use super::run_scenario;
    scenarios! { "extension":
        auth_client_credentials_basic => "auth/client-credentials-basic",
        auth_client_credentials_jwt => "auth/client-credentials-jwt",
    }
}

/// In neither requirement set: the 2025-03-26 authorization fallbacks, still met in the wild.
mod set_2025_03_26 {
    use super::run_scenario;
    scenarios! { "2025-03-26":
        auth_oauth_metadata_backcompat => "auth/2025-03-26-oauth-metadata-backcompat",
        auth_oauth_endpoint_fallback => "auth/2025-03-26-oauth-endpoint-fallback",
    }
}
