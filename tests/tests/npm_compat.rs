//! A Claude Desktop entry written for the npm `mcp-remote`, run with this binary in the place of
//! `npx` and every argument and variable unchanged, against a real server (rmcp, which records
//! the headers it was sent): the npx prefix is skipped, `Name:${VAR}` headers and a header file
//! arrive, `--ignore-tool` hides and refuses tools, and the npm-only flags are accepted.

use mcp_remote_tests::rmcp_server::{self, Mode};
use mcp_remote_tests::sidecar::{default_handler, Launch, Sidecar};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claude_desktop_entry_for_the_npm_proxy_works_with_only_its_command_swapped() {
    let server = rmcp_server::start(Mode::Stateful).await;
    let folder = mcp_remote_tests::sidecar::fresh_config_dir();
    let header_file = folder.join("headers.txt");
    std::fs::write(&header_file, "# from the team's wiki\nX-Region: eu-west\n").unwrap();
    // As in claude_desktop_config.json: "command": "npx", "args": [...], "env": {...}.
    let entry = json!({
        "command": "npx",
        "args": [
            "-y", "mcp-remote@latest", server.url, "--allow-http",
            "--header", "X-Team:${TEAM}",
            "--header-file", header_file.to_str().unwrap(),
            "--transport", "http-first",
            "--ignore-tool", "Slow", "--ignore-tool", "b*",
            "--auth-timeout", "60",
            "--enable-proxy", "--keep-alive", "--ping-interval", "30",
            "--connect-timeout", "10", "--headers-timeout", "300", "--body-timeout", "0",
            "--protocol", "auto", "--disable-cookies", "--debug"
        ],
        "env": { "TEAM": "blue" }
    });
    let launch = Launch {
        args: entry["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect(),
        env: entry["env"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect(),
        handler: default_handler(),
        config_dir: Some(folder.clone()),
    };
    let mut sidecar = Sidecar::spawn_with(launch);
    sidecar.initialize().await;
    let listed = sidecar.request("tools/list", json!({})).await;
    let names: Vec<&str> =
        listed["result"]["tools"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(names.contains(&"echo") && names.contains(&"notify"), "{names:?}");
    assert!(!names.contains(&"slow") && !names.contains(&"blob"), "case-insensitive globs hide tools: {names:?}");
    assert_eq!(sidecar.call_tool("echo", json!({ "message": "hi" })).await, "hi");
    let refused = sidecar.request("tools/call", json!({ "name": "blob", "arguments": { "bytes": 1 } })).await;
    let message = refused["error"]["message"].as_str().unwrap_or_else(|| panic!("{refused}"));
    assert!(message.contains("blob") && message.contains("--ignore-tool"), "{message}");
    assert!(sidecar.close().await.success());

    let seen = server.seen();
    let posts: Vec<_> = seen.iter().filter(|r| r.method == "POST").collect();
    assert!(!posts.is_empty());
    for post in &posts {
        assert_eq!(post.headers.get("x-team").map(|v| v.to_str().unwrap()), Some("blue"));
        assert_eq!(post.headers.get("x-region").map(|v| v.to_str().unwrap()), Some("eu-west"));
    }
    let called: Vec<Value> =
        posts.iter().filter_map(|r| r.headers.get("mcp-name")).map(|v| json!(v.to_str().unwrap())).collect();
    assert!(!called.contains(&json!("blob")), "a hidden tool never reaches the server: {called:?}");
    let _ = std::fs::remove_dir_all(folder);
}
