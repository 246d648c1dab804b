//! Sign-in with no browser on the machine (`--device-code`, RFC 8628) against a real
//! authorization server that offers it: oidc-provider in front of an MCP server of the TypeScript
//! SDK (`tests/peers/device_auth_server.mjs`). The person is `tests/peers/device_user.mjs`,
//! handed the verification link through `BROWSER`; the server asks clients to poll every second
//! and answers `slow_down` to a poll that comes sooner. Also the commands for people: `login`,
//! `status` and `logout`.

use mcp_remote_tests::peers::{count_events, peers_dir, PeerServer};
use mcp_remote_tests::sidecar::{binary_path, fresh_config_dir, Launch, Sidecar};
use serde_json::{json, Value};

fn events(log: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(log).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_code_sign_in_completes_and_the_tokens_serve_the_next_sidecar() {
    let folder = fresh_config_dir();
    let log = folder.join("auth.log");
    let server = PeerServer::device_auth(&log, &["--interval", "1"]).await;
    let browser = peers_dir().join("device_browser.sh");
    let launch = || {
        Launch::new(&server.url)
            .config_dir(&folder)
            .arg("--device-code")
            .env("BROWSER", browser.to_str().unwrap())
            .env("BROWSER_LOG", folder.join("browser.log").to_str().unwrap())
    };
    let mut first = Sidecar::spawn_with(launch());
    first.initialize().await;
    assert_eq!(first.call_tool("echo", json!({ "message": "from a device" })).await, "from a device");
    assert!(first.close().await.success());
    let told = first.stderr();
    assert!(told.contains("enter the code") && told.contains("/oidc/device"), "the person is told where to go: {told}");
    let issuer = server.url.replace("/mcp", "/oidc");
    assert!(
        told.contains(&format!("at the authorization server {issuer}, open")),
        "the person is told who asks for the code: {told}"
    );

    let seen = events(&log);
    let registration = seen.iter().find(|e| e["event"] == "registration").expect("a registration");
    assert!(registration["grant_types"].to_string().contains("device_code"), "{registration}");
    let device = seen.iter().find(|e| e["event"] == "device_authorization").expect("a device authorization");
    assert_eq!((device["status"].as_u64(), &device["resource"]), (Some(200), &json!(true)), "{device}");
    let polls: Vec<&Value> = seen.iter().filter(|e| e["event"] == "token").collect();
    let granted = polls.iter().filter(|e| e["status"] == 200).count();
    assert_eq!(granted, 1, "one token, and the device code never polled again after it: {polls:?}");
    assert!(polls.iter().all(|e| e["error"] != "slow_down"), "polls kept to the interval: {polls:?}");
    assert!(polls.iter().all(|e| e["resource"] == true), "{polls:?}");

    let mut second = Sidecar::spawn_with(launch());
    second.initialize().await;
    assert_eq!(second.call_tool("echo", json!({ "message": "again" })).await, "again");
    assert!(second.close().await.success());
    assert_eq!(count_events(&log, "device_authorization"), 1, "the stored tokens were used");
    let _ = std::fs::remove_dir_all(folder);
}

/// Runs the `mcp-remote` binary with `args`, the config dir `folder` and `BROWSER`; its output.
fn command(folder: &std::path::Path, args: &[&str]) -> std::process::Output {
    let output = std::process::Command::new(binary_path())
        .args(args)
        .env("MCP_REMOTE_CONFIG_DIR", folder)
        .env("BROWSER", peers_dir().join("device_browser.sh"))
        .output()
        .expect("run mcp-remote");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("eyJ"), "no token in the output");
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_status_and_logout_from_a_terminal() {
    let folder = fresh_config_dir();
    let log = folder.join("auth.log");
    let server = PeerServer::device_auth(&log, &["--interval", "1"]).await;
    let url = server.url.as_str();

    let login = command(&folder, &["login", url, "--allow-http", "--device-code"]);
    let said = String::from_utf8_lossy(&login.stdout);
    assert!(login.status.success(), "{said}{}", String::from_utf8_lossy(&login.stderr));
    assert!(said.starts_with(url) && said.contains("signed in · expires in"), "{said}");

    let status = command(&folder, &["status", "--json"]);
    let servers: Value = serde_json::from_slice(&status.stdout).expect("status --json is JSON");
    let entry = &servers[0];
    assert_eq!((entry["server_url"].as_str(), entry["state"].as_str()), (Some(url), Some("signed_in")), "{servers}");
    assert!(entry["issuer"].as_str().is_some_and(|i| i.ends_with("/oidc")), "{entry}");
    assert_eq!(entry["scope"], "mcp");
    let table = String::from_utf8_lossy(&command(&folder, &["status"]).stdout).into_owned();
    assert!(table.starts_with("SERVER") && table.contains(url) && table.contains("signed in"), "{table}");

    let client =
        command(&folder, &["client", url, "--allow-http", "--call", "echo", "--args", r#"{"message":"hi there"}"#]);
    let shown = String::from_utf8_lossy(&client.stdout);
    assert!(client.status.success() && shown.contains("Tools (") && shown.contains("hi there"), "{shown}");
    assert_eq!(count_events(&log, "device_authorization"), 1, "client used the stored sign-in");

    let logout = command(&folder, &["logout", url, "--allow-http"]);
    assert!(String::from_utf8_lossy(&logout.stdout).contains("signed out"));
    let after: Value = serde_json::from_slice(&command(&folder, &["status", "--json"]).stdout).unwrap();
    assert_eq!(after, json!([]), "nothing is left of the server");
    let _ = std::fs::remove_dir_all(folder);
}
