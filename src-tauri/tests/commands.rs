//! The window's commands on Tauri's mock runtime (no display): add, edit, remove, unique names,
//! state, reset one and all, each MCP host's snippet and install, against a throwaway home; the
//! server list kept private, and secrets kept off every command line and out of errors.

use mcp_remote::store::{unix_now, ServerKey, Store, Tokens, FORMAT_VERSION};
use mcp_remote_tray::commands::{hosts, servers as server_commands, signin};
use mcp_remote_tray::hosts::{HostKind, HostRoots};
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
            root.join("data").join("servers.json"),
            HostRoots {
                home: root.join("home"),
                config: root.join("home/.config"),
                local_data: root.join("home/.local/share"),
            },
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
        extra: Default::default(),
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
            signed_in_at: None,
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
    assert!(refused.message.contains("Allow plain http"), "{refused:?}");
    assert!(refused.detail.unwrap().contains("--allow-http"));

    let mut edited = added.entry.clone();
    edited.name = "Renamed".into();
    server_commands::save_server(f.handle(), edited).unwrap();
    let listed = server_commands::list_servers(f.handle()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].entry.name, "Renamed");

    server_commands::remove_server(f.handle(), added.entry.id.clone(), false).unwrap();
    assert!(server_commands::list_servers(f.handle()).unwrap().is_empty());
}

#[test]
fn names_are_unique_whatever_their_case() {
    let f = Fixture::new("names");
    server_commands::save_server(f.handle(), entry("Work", "https://one.example.com/mcp")).unwrap();
    let refused = server_commands::save_server(f.handle(), entry(" work ", "https://two.example.com/mcp")).unwrap_err();
    assert!(refused.message.contains("There is a server named “Work” already"), "{refused:?}");
    assert_eq!(server_commands::list_servers(f.handle()).unwrap().len(), 1);
    let second = server_commands::save_server(f.handle(), entry("Work 2", "https://two.example.com/mcp")).unwrap();
    let mut renamed = second.entry.clone();
    renamed.name = "WORK".into();
    assert!(server_commands::save_server(f.handle(), renamed).is_err(), "an edit took another server's name");
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
    assert!(listed.iter().all(|v| v.state_words() == "signed in"));

    let after = signin::reset_tokens(f.handle(), one.entry.id.clone()).unwrap();
    assert_eq!(after.summary, "needs sign-in");
    assert!(!f.config_dir().join(&one.key).exists(), "the server's folder is still there");
    assert!(f.config_dir().join(&two.key).exists(), "another server's folder was removed");

    let all = signin::reset_all_tokens(f.handle()).unwrap();
    assert!(all.iter().all(|v| v.summary == "needs sign-in"));
    assert!(!f.config_dir().join(&two.key).exists());
}

#[test]
fn every_host_gets_its_own_snippet_and_entry() {
    let f = Fixture::new("hosts");
    let one = server_commands::save_server(f.handle(), entry("One", "https://one.example.com/mcp")).unwrap();
    let id = one.entry.id.clone();
    let config_dir = f.config_dir().display().to_string();
    for host in HostKind::ALL {
        let snippet: serde_json::Value =
            serde_json::from_str(&hosts::host_snippet(f.handle(), id.clone(), host).unwrap()).unwrap();
        let entry = &snippet[host.servers_key()]["One"];
        assert_eq!(entry["command"], "/opt/mcp-remote/mcp-remote", "{host:?}: {snippet}");
        let args: Vec<&str> = entry["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        assert_eq!(args[..3], ["https://one.example.com/mcp", "--header", "X-Team: ${TEAM}"]);
        assert_eq!(args[3..], ["--config-dir", config_dir.as_str()], "a non-default config dir is passed on");

        let report = hosts::install_into_host(f.handle(), id.clone(), host, false).unwrap();
        let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report.path).unwrap()).unwrap();
        assert_eq!(written[host.servers_key()]["One"], *entry, "{host:?}");
    }
    let listed = server_commands::list_servers(f.handle()).unwrap();
    assert_eq!(listed[0].installed_in, HostKind::ALL.to_vec());
    let found = hosts::list_hosts(f.handle());
    assert!(found.iter().all(|h| h.present), "a host with its file is not found: {found:?}");
    let home = f.root.join("home");
    assert_eq!(found[0].path, home.join(".config/Claude/claude_desktop_config.json"));
    assert_eq!(found[1].path, home.join(".claude.json"));
}

#[test]
fn an_entry_someone_else_wrote_is_kept_and_remove_takes_only_ours() {
    let f = Fixture::new("taken");
    let one = server_commands::save_server(f.handle(), entry("One", "https://one.example.com/mcp")).unwrap();
    let id = one.entry.id.clone();
    let claude_file = f.root.join("home/.config/Claude/claude_desktop_config.json");
    std::fs::create_dir_all(claude_file.parent().unwrap()).unwrap();
    let theirs =
        r#"{"mcpServers":{"One":{"command":"npx","args":["-y","mcp-remote","https://elsewhere"]}},"theme":"dark"}"#;
    std::fs::write(&claude_file, theirs).unwrap();
    let refused = hosts::install_into_host(f.handle(), id.clone(), HostKind::ClaudeDesktop, false).unwrap_err();
    assert!(refused.message.contains("did not write"), "{refused:?}");
    assert_eq!(std::fs::read_to_string(&claude_file).unwrap(), theirs);
    assert!(server_commands::list_servers(f.handle()).unwrap()[0].installed_in.is_empty());

    let replaced = hosts::install_into_host(f.handle(), id.clone(), HostKind::ClaudeDesktop, true).unwrap();
    assert!(replaced.replaced);
    assert_eq!(std::fs::read_to_string(replaced.backup.unwrap()).unwrap(), theirs);
    hosts::install_into_host(f.handle(), id.clone(), HostKind::Cursor, false).unwrap();

    let removed = server_commands::remove_server(f.handle(), id, true).unwrap();
    assert_eq!(removed, ["Claude Desktop", "Cursor"]);
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&claude_file).unwrap()).unwrap();
    assert_eq!(written, serde_json::json!({ "mcpServers": {}, "theme": "dark" }));

    std::fs::write(&claude_file, "not json").unwrap();
    let two = server_commands::save_server(f.handle(), entry("Two", "https://two.example.com/mcp")).unwrap();
    let refused = hosts::install_into_host(f.handle(), two.entry.id, HostKind::ClaudeDesktop, false).unwrap_err();
    assert!(refused.message.contains("left untouched"), "{refused:?}");
    assert_eq!(std::fs::read_to_string(&claude_file).unwrap(), "not json");
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A list `tauri-plugin-store` wrote (0644 in a 0755 folder) is read, made private, and keeps
/// what this version does not know; each save replaces the file whole, 0600 in a 0700 folder.
#[cfg(unix)]
#[test]
fn the_server_list_is_private_and_an_old_one_is_made_private() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new("private");
    let list = f.root.join("data/servers.json");
    let folder = list.parent().unwrap();
    std::fs::create_dir_all(folder).unwrap();
    let old = serde_json::json!({
        "servers": [{
            "id": "s1", "name": "Old", "url": "https://old.example.com/mcp",
            "headers": ["Authorization: Bearer sk-old"], "sign_in_method": "webview",
            "pinned": true
        }],
        "window": { "width": 900 }
    });
    std::fs::write(&list, serde_json::to_vec_pretty(&old).unwrap()).unwrap();
    std::fs::set_permissions(&list, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o755)).unwrap();

    let listed = server_commands::list_servers(f.handle()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].entry.headers, ["Authorization: Bearer sk-old"]);
    assert_eq!(listed[0].entry.sign_in_method, SignInMethod::Webview, "a person's choice is kept");
    assert_eq!((mode(&list), mode(folder)), (0o600, 0o700), "the old list was left readable by others");

    let mut edited = listed[0].entry.clone();
    edited.name = "Renamed".into();
    edited.extra.clear(); // as the window sends it
    server_commands::save_server(f.handle(), edited).unwrap();
    server_commands::save_server(f.handle(), entry("New", "https://new.example.com/mcp")).unwrap();
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&list).unwrap()).unwrap();
    assert_eq!(written["window"]["width"], 900, "a key of the file was lost");
    assert_eq!(written["servers"][0]["pinned"], true, "a field of the entry was lost");
    assert_eq!(written["servers"][0]["name"], "Renamed");
    assert_eq!(written["servers"][1]["sign_in_method"], "browser");
    assert_eq!((mode(&list), mode(folder)), (0o600, 0o700));
    let names: Vec<String> =
        std::fs::read_dir(folder).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["servers.json"], "a temporary file was left");
}

/// A new list's folder is made 0700 and the list 0600, whatever the umask.
#[cfg(unix)]
#[test]
fn a_new_server_list_is_private() {
    let f = Fixture::new("new-private");
    server_commands::save_server(f.handle(), entry("One", "https://one.example.com/mcp")).unwrap();
    let list = f.root.join("data/servers.json");
    assert_eq!((mode(&list), mode(list.parent().unwrap())), (0o600, 0o700));
}

/// Header values and a client's secret reach every host's entry (installed or copied) through
/// its `env`, named by `${VAR}` in the arguments; an error about a header never repeats it.
#[test]
fn secrets_reach_hosts_through_env_and_never_the_command_line() {
    let f = Fixture::new("secrets");
    let mut secretive = entry("Secret", "https://secret.example.com/mcp");
    secretive.headers = vec!["Authorization: Bearer sk-tray-1".into(), "X-Team: ${TEAM}".into()];
    secretive.static_client_info = Some(r#"{"client_id":"app","client_secret":"cs-tray-2"}"#.into());
    let id = server_commands::save_server(f.handle(), secretive).unwrap().entry.id;
    for host in HostKind::ALL {
        let snippet: serde_json::Value =
            serde_json::from_str(&hosts::host_snippet(f.handle(), id.clone(), host).unwrap()).unwrap();
        let report = hosts::install_into_host(f.handle(), id.clone(), host, false).unwrap();
        let installed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report.path).unwrap()).unwrap();
        for entry in [&snippet[host.servers_key()]["Secret"], &installed[host.servers_key()]["Secret"]] {
            let args = entry["args"].to_string();
            assert!(!args.contains("sk-tray-1") && !args.contains("cs-tray-2"), "{host:?}: a secret in args: {args}");
            assert!(args.contains("Authorization: ${MCP_REMOTE_HEADER_AUTHORIZATION}"), "{host:?}: {args}");
            assert!(args.contains("X-Team: ${TEAM}"), "{host:?}: the person's own reference changed: {args}");
            assert!(args.contains(r#"\"client_secret\":\"${MCP_REMOTE_CLIENT_SECRET}\""#), "{host:?}: {args}");
            assert_eq!(entry["env"]["MCP_REMOTE_HEADER_AUTHORIZATION"], "Bearer sk-tray-1", "{host:?}");
            assert_eq!(entry["env"]["MCP_REMOTE_CLIENT_SECRET"], "cs-tray-2", "{host:?}");
        }
    }

    for header in ["Bearer sk-tray-3", "Authorization Bearer sk-tray-3: x", "Authorization: sk-tray-3\u{1}"] {
        let mut malformed = entry("Malformed", "https://m.example.com/mcp");
        malformed.headers = vec![header.into()];
        let refused = server_commands::save_server(f.handle(), malformed).unwrap_err();
        let shown = format!("{} {}", refused.message, refused.detail.unwrap_or_default());
        assert!(shown.contains("--header"), "{shown}");
        assert!(!shown.contains("sk-tray-3"), "the error repeats the header's value: {shown}");
    }
}
