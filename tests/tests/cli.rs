//! Start-up validation of the real binary: bad input exits non-zero with one clear line.

use mcp_remote_tests::sidecar::binary_path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(binary_path()).args(args).env_remove("MCP_REMOTE_CONFIG_DIR").output().expect("run mcp-remote")
}

fn assert_one_line_failure(args: &[&str], needle: &str) {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?} wrote to stdout");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: not one line: {stderr}");
    assert!(stderr.contains(needle), "{args:?}: {stderr}");
}

#[test]
fn reserved_headers_are_rejected_at_start_up() {
    for header in
        ["Mcp-Session-Id: x", "Accept: */*", "content-type:text/plain", "Host: evil", "MCP-Protocol-Version: 1"]
    {
        assert_one_line_failure(&["https://example.com/mcp", "--header", header], "reserved");
    }
}

#[test]
fn plain_http_is_refused_without_allow_http() {
    assert_one_line_failure(&["http://127.0.0.1:9/mcp"], "--allow-http");
}

#[test]
fn usage_errors_are_one_line() {
    assert_one_line_failure(&[], "SERVER_URL");
    assert_one_line_failure(&["https://example.com/mcp", "--no-such-flag"], "--no-such-flag");
    assert_one_line_failure(&["https://example.com/mcp", "--auth-timeout", "later"], "--auth-timeout");
    assert_one_line_failure(&["https://example.com/mcp", "--header", "X: ${UNSET_FOR_TEST}"], "UNSET_FOR_TEST");
}

#[test]
fn help_and_version_print_to_stdout() {
    let help = run(&["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in ["--header", "--allow-http", "--auth-timeout", "--static-oauth-client-info", "--config-dir", "[PORT]"] {
        assert!(text.contains(flag), "--help lacks {flag}");
    }
    let version = run(&["--version"]);
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("mcp-remote 0."));
}
