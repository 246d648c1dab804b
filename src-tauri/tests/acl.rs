//! The app manifest and its capability, through Tauri's own IPC check on the mock runtime with
//! the app's real context (`generate_context!`: `capabilities/`, and the `allow-*` permissions
//! `build.rs` declares). The settings window, at the app's own page, may call every command of
//! the app; a sign-in window (even at a local page), and the settings window at a loopback or
//! remote page, may call none, and nothing happens when they try.

use mcp_remote_tray::commands::NAMES;
use mcp_remote_tray::hosts::HostRoots;
use mcp_remote_tray::state::AppState;
use serde_json::{json, Value};
use std::path::PathBuf;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{WebviewUrl, WebviewWindow, WebviewWindowBuilder};

/// The app's own pages, as the mock runtime serves them.
const LOCAL: &str = "tauri://localhost/index.html";

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn call(window: &WebviewWindow<MockRuntime>, page: &str, cmd: &str, args: Value) -> Result<Value, String> {
    let request = InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: page.parse().unwrap(),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(window, request)
        .map(|body| body.deserialize::<Value>().unwrap())
        .map_err(|error| error.to_string())
}

/// Whether Tauri refused the call before the command ran (its ACL's words).
fn refused(result: &Result<Value, String>) -> bool {
    matches!(result, Err(error) if error.contains("not allowed"))
}

/// Arguments that let each command run to its own answer.
fn args_of(cmd: &str, id: &str) -> Value {
    match cmd {
        "save_server" => json!({ "entry": {
            "name": format!("Added by {id}"), "url": "https://mcp.example.com/mcp", "sign_in_method": "browser"
        } }),
        "remove_server" => json!({ "id": id, "fromHosts": false }),
        "host_snippet" | "copy_host_snippet" => json!({ "id": id, "host": "cursor" }),
        "install_into_host" => json!({ "id": id, "host": "cursor", "replaceOthers": false }),
        "list_servers" | "about" | "list_hosts" | "reset_all_tokens" => json!({}),
        // A server that is not there: a real sign-in would go out to the network.
        "sign_in" => json!({ "id": "no-such-server" }),
        _ => json!({ "id": id }),
    }
}

#[test]
fn only_the_settings_window_at_the_apps_own_page_may_call_the_apps_commands() {
    let root = std::env::temp_dir().join(format!("mcp-remote-tray-acl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let scratch = Scratch(root.clone());
    let state = AppState::new(
        root.join("config"),
        root.join("data/servers.json"),
        HostRoots { home: root.join("home"), config: root.join("home/.config"), local_data: root.join("home/.local") },
        PathBuf::from("/opt/mcp-remote/mcp-remote"),
    );
    let app = mcp_remote_tray::build_app(mock_builder(), state, false)
        .build(tauri::generate_context!())
        .expect("mock app with the real context");
    let window = |label: &str| {
        WebviewWindowBuilder::new(&app, label, WebviewUrl::App("index.html".into())).build().expect("a window")
    };
    let settings = window("settings");
    let sign_in = window("signin-1");

    // Others first, while there is a server to act on: each call is refused and changes nothing.
    let added = call(&settings, LOCAL, "save_server", args_of("save_server", "settings")).expect("settings may save");
    let id = added["id"].as_str().unwrap().to_string();
    let others = [
        (&sign_in, LOCAL, "a sign-in window at a local page"),
        (&sign_in, "https://auth.example.com/authorize", "a sign-in window at the sign-in page"),
        (&settings, "http://127.0.0.1:8080/", "the settings window at a loopback page"),
    ];
    for (window, page, who) in others {
        for cmd in NAMES {
            let result = call(window, page, cmd, args_of(cmd, &id));
            assert!(refused(&result), "{who} called {cmd}: {result:?}");
        }
    }
    let listed = call(&settings, LOCAL, "list_servers", json!({})).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "a refused call changed the list: {listed}");
    assert!(!root.join("home/.cursor").exists(), "a refused install wrote a host's file");

    // The settings window may call every command (each runs to its own answer), removing last.
    let (last, first): (Vec<&str>, Vec<&str>) = NAMES.iter().partition(|cmd| **cmd == "remove_server");
    for cmd in first.into_iter().chain(last) {
        let result = call(&settings, LOCAL, cmd, args_of(cmd, &id));
        assert!(!refused(&result), "the settings window may not call {cmd}: {result:?}");
    }
    assert!(root.join("home/.cursor/mcp.json").exists(), "the settings window's install did not run");
    drop(scratch);
}
