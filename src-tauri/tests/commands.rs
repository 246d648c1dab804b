//! The window's commands on Tauri's mock runtime (no display): add, edit, remove, state, reset
//! one and all, the Claude Desktop snippet and install, against temporary files.

use mcp_remote::store::{unix_now, ServerKey, Store, Tokens, FORMAT_VERSION};
use mcp_remote_tray::commands::{claude, servers as server_commands, signin};
use mcp_remote_tray::servers::{ServerEntry, SignInMethod};
use mcp_remote_tray::state::AppState;
use std::path::PathBuf;
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime};
use tauri::{App, Manager};

struct Fixture {
    app: App<MockRuntime>,
    root: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Self {
        let root = std::env::temp_dir().join(format!("mcp-remote-tray-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let state = AppState::new(
            root.join("config"),
            root.join("servers.json"),
            Some(root.join("Claude").join("claude_desktop_config.json")),
            PathBuf::from("/opt/mcp-remote/mcp-remote"),
        );
        let app = mcp_remote_tray::build_app(mock_builder(), state, false)
            .build(mock_context(noop_assets()))
            .expect("mock app");
        Self { app, root }
    }

    fn handle(&self) -> tauri::AppHandle<MockRuntime> {
        self.app.handle().clone()
    }

    fn config_dir(&self) -> PathBuf {
        self.app.state::<AppState>().config_dir.clone()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn entry(name: &str, url: &str) -> ServerEntry {
    ServerEntry {
        id: String::new(),
        name: name.into(),
        url: url.into(),
        headers: vec!["X-Team: ${TEAM}".into()],
        resource: None,
        static_client_info: None,
        sign_in_method: SignInMethod::Browser,
        allow_http: false,
    }
}

fn store_tokens(config_dir: &std::path::Path, url: &str) {
    Store::new(config_dir)
        .server(&ServerKey::new(url, None))
        .save_tokens(&Tokens {
            version: FORMAT_VERSION,
            access_token: "a".into(),
            token_type: "Bearer".into(),
            refresh_token: Some("r".into()),
            expires_at: Some(unix_now() + 3600),
            scope: Some("mcp".into()),
            issuer: Some("https://auth.example.com".into()),
            resource: None,
            extra: Default::default(),
        })
        .unwrap();
}

#[test]
fn add_edit_and_remove() {
    let f = Fixture::new("crud");
    let added = server_commands::save_server(f.handle(), entry("One", "https://one.example.com/mcp")).unwrap();
    assert!(!added.entry.id.is_empty());
    assert_eq!(added.summary, "needs sign-in");
    assert_eq!(added.key, ServerKey::new("https://one.example.com/mcp", None).as_str());
    let refused = server_commands::save_server(f.handle(), entry("Plain", "http://127.0.0.1:1/mcp")).unwrap_err();
    assert!(refused.contains("--allow-http"), "{refused}");

    let mut edited = added.entry.clone();
    edited.name = "Renamed".into();
    server_commands::save_server(f.handle(), edited).unwrap();
    let listed = server_commands::list_servers(f.handle()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].entry.name, "Renamed");

    server_commands::remove_server(f.handle(), added.entry.id.clone()).unwrap();
    assert!(server_commands::list_servers(f.handle()).unwrap().is_empty());
}

#[test]
fn state_and_reset() {
    let f = Fixture::new("reset");
    let one = server_commands::save_server(f.handle(), entry("One", "https://one.example.com/mcp")).unwrap();
    let two = server_commands::save_server(f.handle(), entry("Two", "https://two.example.com/mcp")).unwrap();
    store_tokens(&f.config_dir(), "https://one.example.com/mcp");
    store_tokens(&f.config_dir(), "https://two.example.com/mcp");
    let listed = server_commands::list_servers(f.handle()).unwrap();
    assert!(listed.iter().all(|v| v.summary.starts_with("signed in · expires in")), "{listed:?}");

    let after = signin::reset_tokens(f.handle(), one.entry.id.clone()).unwrap();
    assert_eq!(after.summary, "needs sign-in");
    assert!(!f.config_dir().join(&one.key).exists(), "the server's folder is still there");
    assert!(f.config_dir().join(&two.key).exists(), "another server's folder was removed");

    let all = signin::reset_all_tokens(f.handle()).unwrap();
    assert!(all.iter().all(|v| v.summary == "needs sign-in"));
    assert!(!f.config_dir().join(&two.key).exists());
}

#[test]
fn claude_desktop_snippet_and_install() {
    let f = Fixture::new("claude");
    let one = server_commands::save_server(f.handle(), entry("One", "https://one.example.com/mcp")).unwrap();
    let snippet: serde_json::Value =
        serde_json::from_str(&claude::claude_config_snippet(f.handle(), one.entry.id.clone()).unwrap()).unwrap();
    assert_eq!(snippet["One"]["command"], "/opt/mcp-remote/mcp-remote");
    let args: Vec<&str> = snippet["One"]["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(args[..3], ["https://one.example.com/mcp", "--header", "X-Team: ${TEAM}"]);
    let config_dir = f.config_dir().display().to_string();
    assert_eq!(args[3..], ["--config-dir", config_dir.as_str()], "a non-default config dir is passed on");

    let claude_file = f.root.join("Claude").join("claude_desktop_config.json");
    std::fs::create_dir_all(claude_file.parent().unwrap()).unwrap();
    std::fs::write(&claude_file, r#"{"mcpServers":{"other":{"command":"x"}},"theme":"dark"}"#).unwrap();
    let report = claude::install_into_claude(f.handle(), one.entry.id.clone()).unwrap();
    assert!(report.backup.is_some() && !report.replaced);
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&claude_file).unwrap()).unwrap();
    assert_eq!(written["theme"], "dark");
    assert_eq!(written["mcpServers"]["other"]["command"], "x");
    assert_eq!(written["mcpServers"]["One"], snippet["One"]);

    std::fs::write(&claude_file, "not json").unwrap();
    let refused = claude::install_into_claude(f.handle(), one.entry.id).unwrap_err();
    assert!(refused.contains("left untouched"), "{refused}");
    assert_eq!(std::fs::read_to_string(&claude_file).unwrap(), "not json");
}
