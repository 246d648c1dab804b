//! `mcp-remote client` against our own attacker (`hostile_text`): a server whose name, tool,
//! description, result and error carry terminal escape sequences. What the person's terminal
//! gets shows them escaped and holds no control character but line feeds.

use mcp_remote_tests::hostile_text::HostileText;
use mcp_remote_tests::sidecar::{binary_path, fresh_config_dir};

async fn client(server: &HostileText, tool: &str) -> (bool, String, String) {
    let folder = fresh_config_dir();
    let output = tokio::process::Command::new(binary_path())
        .args(["client", &server.url, "--allow-http", "--call", tool])
        .env("MCP_REMOTE_CONFIG_DIR", &folder)
        .output()
        .await
        .expect("run mcp-remote client");
    let _ = std::fs::remove_dir_all(&folder);
    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).expect("UTF-8 output");
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

fn assert_inert(shown: &str) {
    let controls: Vec<char> = shown.chars().filter(|&c| c.is_control() && c != '\n').collect();
    assert!(controls.is_empty(), "control characters reach the terminal: {controls:?} in {shown:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_servers_escape_sequences_are_shown_not_obeyed() {
    let server = HostileText::start().await;
    let (ok, stdout, stderr) = client(&server, "echo").await;
    assert!(ok, "{stdout}\n{stderr}");
    assert_inert(&stdout);
    assert_inert(&stderr);
    assert!(stdout.contains("Connected to hostile\\x1b]0;evil\\x07 1\\x1b[2J"), "{stdout}");
    assert!(stdout.contains("  \\x1b]0;evil\\x07echo — clears\\x1b[2J the screen\\x9b2J"), "{stdout}");
    assert!(stdout.contains("first line\\x1b[2J\nsecond\\x0d\\x1b]0;evil\\x07"), "{stdout}");

    let (ok, stdout, stderr) = client(&server, "fail").await;
    assert!(!ok, "{stdout}\n{stderr}");
    assert_inert(&stdout);
    assert_inert(&stderr);
    assert!(stderr.contains("tools/call: no\\x1b[2J\\x1b]0;evil\\x07"), "{stderr}");
}
