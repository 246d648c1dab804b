//! The tray app end to end, in a real window under Xvfb with `trayer` as the tray host and
//! `dunst` as the notification daemon on a private D-Bus session bus, driven through
//! `tauri-driver` + WebKitWebDriver, in a throwaway HOME, against a real authorization server
//! (the Python SDK's): the empty state; add a server (the system browser the default sign-in, a
//! header with a secret, the list written 0600), and a second of the same name refused; a
//! sign-in with the system browser (`tests/peers/browser.sh`) that is left unfinished, cancelled
//! and started again, its page lost again and opened again from the card; a sidecar using the tray's sign-in; install into each MCP host's file (one
//! with someone else's entry of that name, replaced only after a confirmation), then each host's
//! entry (the header's secret in its env, never its args) run by a stdio client that lists tools; reset behind a confirmation; the in-app window
//! sign-in; a waiting sidecar announced by a notification and the icon, and completed from the
//! window; an unreachable server's error on its card and its sign-in's log; the tray menu staying
//! open across clock ticks and a sidecar's token refresh; an expired sign-in's notification;
//! remove with the hosts' entries; About.
//! Screenshots of each state are written to `target/e2e-artifacts/` (CI keeps them; they are not
//! committed).
#![cfg(target_os = "linux")]

use mcp_remote::store::{ServerKey, Store};
use mcp_remote_tests::peers::{free_port, peers_dir, run_host_entry, OAuthScene};
use mcp_remote_tests::sidecar::Sidecar;
use mcp_remote_tests::webdriver::Session;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const UI_WAIT: Duration = Duration::from_secs(40);
/// The value of a header the person adds: a secret that must stay off every command line.
const HEADER_SECRET: &str = "tray-header-secret-0451";

fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> → target/<profile>
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

fn tool(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"));
    let in_cargo = home.join("bin").join(name);
    if in_cargo.exists() {
        in_cargo
    } else {
        PathBuf::from(name)
    }
}

/// An Xvfb display, ready when Xvfb itself says so (`-displayfd`).
struct Display {
    child: Child,
    name: String,
}

impl Display {
    async fn start() -> Self {
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("Xvfb (scripts/setup-system installs it)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let number = tokio::time::timeout(UI_WAIT, lines.next_line()).await.expect("Xvfb start").unwrap().unwrap();
        Self { child, name: format!(":{}", number.trim()) }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn port_open(port: u16) {
    tokio::time::timeout(UI_WAIT, async {
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("tauri-driver did not start listening");
}

/// The state text of the first server in the window.
const STATE: &str = "const s = document.querySelector('.server .state-text'); return s && s.textContent;";

async fn wait_state(session: &Session, prefix: &str) -> String {
    let script = format!(
        "const s = document.querySelector('.server .state-text'); \
         return s && s.textContent.startsWith({prefix:?}) ? s.textContent : null;"
    );
    let value = session.wait_for(&format!("state {prefix:?}"), &script, UI_WAIT).await;
    match value {
        Ok(text) => text.as_str().unwrap_or_default().to_string(),
        Err(e) => {
            let now = session.execute(STATE, json!([])).await;
            let message = session.execute("return document.getElementById('message').textContent", json!([])).await;
            let problem =
                session.execute("return document.querySelector('.server-problem').textContent", json!([])).await;
            panic!("{e}; state now {now:?}, message {message:?}, problem {problem:?}");
        }
    }
}

/// Waits until `script` (an expression) is truthy, and returns its value as text.
async fn wait_text(session: &Session, what: &str, expression: &str) -> String {
    let script = format!("return {expression};");
    match session.wait_for(what, &script, UI_WAIT).await {
        Ok(value) => value.as_str().map_or_else(|| value.to_string(), str::to_owned),
        Err(e) => {
            let message = session.execute("return document.getElementById('message').textContent", json!([])).await;
            panic!("{e}; message {message:?}");
        }
    }
}

/// Waits until the stand-in browser has been opened `times` times: its log is written by the
/// browser itself, after the app has shown that the page is open.
async fn browser_opened(scene: &OAuthScene, times: usize) {
    let opened = tokio::time::timeout(UI_WAIT, async {
        while scene.browser_opened() < times {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    assert!(opened.await.is_ok(), "the browser was opened {} times, not {times}", scene.browser_opened());
    assert_eq!(scene.browser_opened(), times);
}

/// Clicks an item of the first server's "⋯" menu.
async fn server_menu(session: &Session, action: &str) {
    session.click(".server [data-action=more]").await.unwrap();
    session.click(&format!(".server .menu [data-action={action}]")).await.unwrap();
}

/// Confirms the open confirmation dialog, after checking its title.
async fn confirm(session: &Session, title_starts: &str) {
    let title = wait_text(
        session,
        "the confirmation",
        "document.getElementById('confirm').open && document.getElementById('confirm-title').textContent",
    )
    .await;
    assert!(title.starts_with(title_starts), "{title}");
    session.click("#confirm-ok").await.unwrap();
}

async fn shot(session: &Session, artifacts: &Path, name: &str) {
    session.painted().await.unwrap();
    std::fs::write(artifacts.join(name), session.screenshot().await.unwrap()).unwrap();
}

/// A private D-Bus session bus with `dunst` serving notifications on it and `dbus-monitor`
/// recording every `Notify` call.
struct NotificationBus {
    _daemon: Child,
    _dunst: Child,
    _monitor: Child,
    address: String,
    seen: std::sync::Arc<std::sync::Mutex<String>>,
}

impl NotificationBus {
    async fn start(display: &str) -> Self {
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("dbus-daemon");
        let mut lines = BufReader::new(daemon.stdout.take().unwrap()).lines();
        let address = tokio::time::timeout(UI_WAIT, lines.next_line()).await.expect("bus address").unwrap().unwrap();
        let mut monitor = Command::new("dbus-monitor")
            .args(["--address", &address, "interface='org.freedesktop.Notifications',member='Notify'"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("dbus-monitor");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut monitor_lines = BufReader::new(monitor.stdout.take().unwrap()).lines();
        let (ready, ready_rx) = tokio::sync::oneshot::channel::<()>();
        let writer = seen.clone();
        tokio::spawn(async move {
            let mut ready = Some(ready);
            while let Ok(Some(line)) = monitor_lines.next_line().await {
                // dbus-monitor's first output is its own NameAcquired signal: it is listening.
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
                writer.lock().unwrap().push_str(&line);
                writer.lock().unwrap().push('\n');
            }
        });
        tokio::time::timeout(UI_WAIT, ready_rx).await.expect("dbus-monitor did not start").unwrap();
        let dunst = Command::new("dunst")
            .env("DISPLAY", display)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("dunst (scripts/setup-system installs it)");
        Self { _daemon: daemon, _dunst: dunst, _monitor: monitor, address, seen }
    }

    async fn wait_for(&self, text: &str) {
        let found = tokio::time::timeout(UI_WAIT, async {
            while !self.seen.lock().unwrap().contains(text) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(found.is_ok(), "no notification with {text:?}; the bus saw:\n{}", self.seen.lock().unwrap());
    }
}

/// Pixels of the tray area (trayer, top right) that are the attention dot's red.
fn red_pixels_in_tray(display: &str, artifacts: &Path, name: &str) -> usize {
    let shot = artifacts.join(name);
    let captured = std::process::Command::new("import")
        .args(["-window", "root"])
        .arg(&shot)
        .env("DISPLAY", display)
        .status()
        .unwrap();
    assert!(captured.success());
    let pixels =
        std::process::Command::new("convert").arg(&shot).args(["-crop", "80x32+1200+0", "txt:-"]).output().unwrap();
    String::from_utf8_lossy(&pixels.stdout)
        .lines()
        .filter_map(|line| {
            let rgb = line.split_once('(')?.1.split(')').next()?;
            let channels: Vec<f64> =
                rgb.split(',').filter_map(|c| c.trim().trim_end_matches('%').parse().ok()).collect();
            // txt: gives 8- or 16-bit values; scale to 0..1 by the larger range when needed.
            let max = if channels.iter().any(|&c| c > 255.0) { 65535.0 } else { 255.0 };
            Some((channels.first()? / max, channels.get(1)? / max, channels.get(2)? / max))
        })
        .filter(|&(r, g, b)| r > 0.7 && g < 0.35 && b < 0.35)
        .count()
}

/// Whether the tray's menu is open: a window of the app's, wider than an icon, beside the tray
/// (the settings window sits at the left edge).
fn menu_shown(display: &str) -> bool {
    let tree = std::process::Command::new("xwininfo").args(["-root", "-tree"]).env("DISPLAY", display).output();
    String::from_utf8_lossy(&tree.unwrap().stdout).lines().any(|line| {
        let Some(geometry) =
            line.contains("\"mcp-remote-tray\": (").then(|| line.split_whitespace().rev().nth(1)).flatten()
        else {
            return false;
        };
        let numbers: Vec<i64> = geometry.split(['x', '+']).filter_map(|n| n.parse().ok()).collect();
        matches!(numbers[..], [width, _, x, _] if width >= 100 && x >= 600)
    })
}

/// Opens the tray menu with a click on the icon in trayer (top right).
async fn open_tray_menu(display: &str, artifacts: &Path) {
    assert!(!menu_shown(display), "a menu is open before the click");
    for _ in 0..5 {
        let clicked = std::process::Command::new("xdotool")
            .args(["mousemove", "1264", "16", "click", "1"])
            .env("DISPLAY", display)
            .status()
            .unwrap();
        assert!(clicked.success());
        let shown = tokio::time::timeout(Duration::from_secs(5), async {
            while !menu_shown(display) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        if shown.await.is_ok() {
            return;
        }
    }
    let _ = std::process::Command::new("import")
        .args(["-window", "root"])
        .arg(artifacts.join("tray-menu-failed.png"))
        .env("DISPLAY", display)
        .status();
    let tree = std::process::Command::new("xwininfo").args(["-root", "-tree"]).env("DISPLAY", display).output();
    panic!("the tray menu did not open; windows:\n{}", String::from_utf8_lossy(&tree.unwrap().stdout));
}

/// Each host's file in the throwaway home, and the key of its servers.
fn host_files(home: &Path) -> Vec<(&'static str, PathBuf, &'static str)> {
    vec![
        ("claude_desktop", home.join(".config/Claude/claude_desktop_config.json"), "mcpServers"),
        ("claude_code", home.join(".claude.json"), "mcpServers"),
        ("cursor", home.join(".cursor/mcp.json"), "mcpServers"),
        ("vs_code", home.join(".config/Code/User/mcp.json"), "servers"),
        ("windsurf", home.join(".codeium/windsurf/mcp_config.json"), "mcpServers"),
        ("zed", home.join(".config/zed/settings.json"), "context_servers"),
    ]
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_adds_signs_in_installs_everywhere_and_is_told_when_needed() {
    let artifacts = target_dir().parent().unwrap().join("e2e-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let scene = OAuthScene::start().await;
    let (scratch, browser_log, config, server) = (&scene.scratch, &scene.browser_log, &scene.config, &scene.server);
    let home = scratch.join("home");
    std::fs::create_dir_all(&home).unwrap();

    let display = Display::start().await;
    let _trayer = Command::new("trayer")
        .args(["--edge", "top", "--align", "right", "--widthtype", "request", "--height", "32"])
        .env("DISPLAY", &display.name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("trayer");
    let bus = NotificationBus::start(&display.name).await;
    let driver_port = free_port();
    let _driver = Command::new(tool("tauri-driver"))
        .args(["--port", &driver_port.to_string(), "--native-port", &free_port().to_string()])
        .env("DISPLAY", &display.name)
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("MCP_REMOTE_CONFIG_DIR", config)
        .env("MCP_REMOTE_TRAY_STORE", scratch.join("servers.json"))
        .env("MCP_REMOTE_TRAY_OPEN_SETTINGS", "1")
        .env("MCP_REMOTE_TRAY_TICK_SECONDS", "1")
        .env("BROWSER", peers_dir().join("browser.sh"))
        .env("BROWSER_LOG", browser_log)
        // The first two sign-in pages are left unfinished, as by a person who walks away from them.
        .env("BROWSER_IGNORE_FIRST", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("tauri-driver (cargo install tauri-driver; scripts/setup-peers does it)");
    port_open(driver_port).await;
    // MCP_REMOTE_TRAY_APP runs an installed build instead (e.g. /usr/bin/mcp-remote-tray from the .deb).
    let app =
        std::env::var_os("MCP_REMOTE_TRAY_APP").map_or_else(|| target_dir().join("mcp-remote-tray"), PathBuf::from);
    // tauri-driver accepts before WebKitWebDriver behind it is up; a refused first session is retried.
    // It gives no other readiness signal, so this polls, for five seconds at most.
    let mut session = Session::start(driver_port, &app).await;
    for _ in 0..25 {
        if session.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        session = Session::start(driver_port, &app).await;
    }
    let session = session.expect("WebDriver session");

    // The empty state.
    wait_text(&session, "the empty state", "!document.getElementById('empty').hidden").await;
    shot(&session, &artifacts, "01-empty.png").await;

    // Add the server; the form's Save stays in view, the advanced fields are folded. Sign-in
    // goes to the system browser unless the person picks the app's window.
    session.click("#empty-add").await.unwrap();
    wait_text(&session, "the add form", "document.getElementById('editor').open").await;
    let method = session.execute("return document.querySelector('select[name=sign_in_method]').value", json!([])).await;
    assert_eq!(method.unwrap(), "browser", "the system browser is not the default sign-in");
    session.type_into("input[name=name]", "Python OAuth").await.unwrap();
    session.type_into("input[name=url]", &server.url).await.unwrap();
    session.click("#advanced summary").await.unwrap();
    // A header with a secret in it: it must reach the server, and never a command line.
    session.type_into("textarea[name=headers]", &format!("X-Tray-Secret: {HEADER_SECRET}")).await.unwrap();
    session.click("input[name=allow_http]").await.unwrap();
    shot(&session, &artifacts, "02-add-form.png").await;
    session.click("#save-button").await.unwrap();
    assert_eq!(wait_state(&session, "needs sign-in").await, "needs sign-in");
    {
        use std::os::unix::fs::PermissionsExt;
        let list = std::fs::metadata(scratch.join("servers.json")).unwrap();
        assert_eq!(list.permissions().mode() & 0o777, 0o600, "the server list is readable by others");
    }

    // A second server of the same name (in another case) is refused, in words, in the form.
    session.click("#add-button").await.unwrap();
    session.type_into("input[name=name]", "python oauth").await.unwrap();
    session.type_into("input[name=url]", &server.url).await.unwrap();
    session.click("#save-button").await.unwrap();
    let refused = wait_text(
        &session,
        "the duplicate name refused",
        "!document.getElementById('editor-problem').hidden && document.getElementById('editor-problem').textContent",
    )
    .await;
    assert!(refused.contains("There is a server named “Python OAuth” already"), "{refused}");
    shot(&session, &artifacts, "03-duplicate-name.png").await;
    session.click("#cancel-button").await.unwrap();
    assert_eq!(session.execute("return document.querySelectorAll('.server').length", json!([])).await.unwrap(), 1);

    // Sign in; the page is left unfinished: the card shows the progress, the link, and Cancel.
    session.click(".server .primary-action[data-action=sign-in]").await.unwrap();
    let progress = wait_text(
        &session,
        "the sign-in in progress",
        "!document.querySelector('.server .signin-progress').hidden && document.querySelector('.server .progress-text').textContent.startsWith('Waiting for you') && document.querySelector('.server .progress-text').textContent",
    )
    .await;
    assert!(
        progress.contains("in your browser") && (progress.contains("(5:00") || progress.contains("(4:5")),
        "not a 5-minute wait: {progress}"
    );
    assert_eq!(wait_state(&session, "signing in").await, "signing in…");
    browser_opened(&scene, 1).await;
    session.click(".server [data-action=copy-link]").await.unwrap();
    wait_text(
        &session,
        "the link copied",
        "document.getElementById('message').textContent.includes('Sign-in link copied')",
    )
    .await;
    shot(&session, &artifacts, "04-signing-in.png").await;
    session.click(".server [data-action=cancel]").await.unwrap();
    assert_eq!(wait_state(&session, "needs sign-in").await, "needs sign-in");
    wait_text(&session, "the cancel said", "document.getElementById('message').textContent.includes('cancelled')")
        .await;
    // Started again, its page is lost too; "Open again" opens it once more, and it completes.
    session.click(".server .primary-action[data-action=sign-in]").await.unwrap();
    wait_text(&session, "the page opened again", "!document.querySelector('.server [data-action=reopen]').hidden")
        .await;
    browser_opened(&scene, 2).await;
    session.click(".server [data-action=reopen]").await.unwrap();
    let signed_in = wait_state(&session, "signed in").await;
    assert!(signed_in.starts_with("signed in · expires in"), "{signed_in}");
    assert_eq!(scene.browser_opened(), 3);
    shot(&session, &artifacts, "05-signed-in.png").await;

    // A sidecar with the same config dir uses the stored tokens: no browser.
    let mut sidecar = Sidecar::spawn_with(scene.launch());
    sidecar.initialize().await;
    assert_eq!(
        sidecar.call_tool("echo", json!({ "message": "from the tray's sign-in" })).await,
        "from the tray's sign-in"
    );
    assert!(sidecar.close().await.success());
    assert_eq!(scene.browser_opened(), 3, "the sidecar opened a browser");

    // Install into every host. Cursor already has an entry of that name that is not ours: it is
    // replaced only after the person confirms.
    let files = host_files(&home);
    let cursor_file = &files[2].1;
    std::fs::create_dir_all(cursor_file.parent().unwrap()).unwrap();
    let theirs = json!({ "mcpServers": { "Python OAuth": { "command": "npx", "args": ["-y", "mcp-remote", "https://elsewhere"] } } });
    std::fs::write(cursor_file, theirs.to_string()).unwrap();
    session.click(".server .primary-action[data-action=install]").await.unwrap();
    wait_text(&session, "the install picker", "document.getElementById('install').open").await;
    shot(&session, &artifacts, "06-install-picker.png").await;
    for (kind, _, _) in &files {
        if let Err(e) = session.click(&format!("#host-list [data-host={kind}] [data-host-action=install]")).await {
            shot(&session, &artifacts, "06-install-failed.png").await;
            panic!("{kind}: {e}");
        }
        if *kind == "cursor" {
            confirm(&session, "Replace “Python OAuth” in Cursor?").await;
        }
        let host_name = wait_text(
            &session,
            "the host's name",
            &format!("document.querySelector('#host-list [data-host={kind}] .host-name').textContent"),
        )
        .await;
        let result = wait_text(
            &session,
            "the install",
            &format!(
                "document.getElementById('install-result').textContent.includes('in {host_name}.') && document.getElementById('install-result').textContent"
            ),
        )
        .await;
        assert!(result.contains("Python OAuth"), "{result}");
    }
    shot(&session, &artifacts, "06-installed.png").await;
    // "Copy config" gives the snippet with the host's own wrapper key.
    session.click("#host-list [data-host=vs_code] [data-host-action=copy]").await.unwrap();
    let snippet = wait_text(
        &session,
        "the snippet",
        "!document.getElementById('install-snippet').hidden && document.getElementById('install-snippet').textContent",
    )
    .await;
    let snippet: serde_json::Value = serde_json::from_str(&snippet).unwrap();
    assert_eq!(snippet["servers"]["Python OAuth"]["type"], "stdio", "{snippet}");
    session.click("#install-close").await.unwrap();
    let installed = wait_text(&session, "the installed marker", "document.querySelector('.server .server-installed').textContent.includes('Zed') && document.querySelector('.server .server-installed').textContent").await;
    assert_eq!(installed, "Installed in Claude Desktop, Claude Code, Cursor, VS Code, Windsurf, Zed");
    // Each host's entry, run as that host would run it, lists the server's tools with no browser;
    // the header's value is in the entry's env, and its arguments only name it.
    for (kind, path, key) in &files {
        let entry = &read_json(path)[*key]["Python OAuth"];
        assert_eq!(
            PathBuf::from(entry["command"].as_str().unwrap()),
            app.parent().unwrap().join("mcp-remote"),
            "{kind}"
        );
        assert!(!entry["args"].to_string().contains(HEADER_SECRET), "{kind}: a secret in args: {entry}");
        assert!(entry["args"].to_string().contains("X-Tray-Secret: ${MCP_REMOTE_HEADER_X_TRAY_SECRET}"), "{entry}");
        assert_eq!(entry["env"]["MCP_REMOTE_HEADER_X_TRAY_SECRET"], HEADER_SECRET, "{kind}");
        let tools = run_host_entry(entry).await;
        assert!(tools.iter().any(|t| t == "echo"), "{kind}: {tools:?}");
    }
    assert_eq!(scene.browser_opened(), 3, "a host's entry opened a browser");
    let cursor_backup = cursor_file.with_file_name("mcp.json.mcp-remote-backup");
    assert_eq!(read_json(&cursor_backup), theirs, "the replaced file was not kept");

    // Reset asks first; confirmed, the folder is gone and the state says so.
    let folder = Store::new(config).server(&ServerKey::new(&server.url, None)).path().to_path_buf();
    assert!(folder.exists());
    server_menu(&session, "reset").await;
    confirm(&session, "Reset the tokens of Python OAuth?").await;
    assert_eq!(wait_state(&session, "needs sign-in").await, "needs sign-in");
    assert!(!folder.exists(), "reset left {} behind", folder.display());

    // Sign in with the in-app window: it opens, follows the approval, and closes itself.
    server_menu(&session, "edit").await;
    session
        .execute("document.querySelector('select[name=sign_in_method]').value = 'webview'", json!([]))
        .await
        .unwrap();
    session.click("#save-button").await.unwrap();
    session.click(".server .primary-action[data-action=sign-in]").await.unwrap();
    assert!(wait_state(&session, "signed in").await.starts_with("signed in"));
    assert_eq!(scene.browser_opened(), 3, "the in-app sign-in used the system browser");
    let closed = tokio::time::timeout(UI_WAIT, async {
        while session.windows().await.unwrap().len() > 1 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    assert!(closed.await.is_ok(), "the sign-in window did not close");
    assert_eq!(red_pixels_in_tray(&display.name, &artifacts, "tray-calm.png"), 0, "the icon asks for attention");

    // A sidecar that needs the person while the tray runs: a notification, the icon, the card;
    // one click completes the sign-in on the sidecar's own listener.
    server_menu(&session, "reset").await;
    confirm(&session, "Reset the tokens").await;
    assert_eq!(wait_state(&session, "needs sign-in").await, "needs sign-in");
    let waiting = Sidecar::spawn_with(scene.launch().arg("--auth-timeout").arg("60s"));
    let init = waiting.send_initialize();
    assert_eq!(
        wait_state(&session, "needs sign-in · a client is waiting").await,
        "needs sign-in · a client is waiting"
    );
    bus.wait_for("Sign in to Python OAuth").await;
    shot(&session, &artifacts, "07-client-waiting.png").await;
    let attention = tokio::time::timeout(UI_WAIT, async {
        loop {
            if red_pixels_in_tray(&display.name, &artifacts, "tray-attention.png") > 20 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    assert!(attention.await.is_ok(), "the tray icon does not ask for attention");
    session.click(".server .primary-action[data-action=sign-in]").await.unwrap();
    let answer = waiting.wait_response(init, "the waiting sidecar's initialize").await;
    assert!(answer.get("result").is_some(), "{answer}");
    assert!(wait_state(&session, "signed in").await.starts_with("signed in"));
    assert_eq!(scene.browser_opened(), 3, "a browser opened for the waiting sidecar");

    // An MCP server that is not there: the card says so in words, with the details folded.
    session.click("#add-button").await.unwrap();
    let nowhere = format!("http://127.0.0.1:{}/mcp", free_port());
    session.type_into("input[name=name]", "Nowhere").await.unwrap();
    session.type_into("input[name=url]", &nowhere).await.unwrap();
    session.click("#advanced summary").await.unwrap();
    session.click("input[name=allow_http]").await.unwrap();
    session.click("#save-button").await.unwrap();
    let nowhere_card = ".server[data-state=needs_sign_in]";
    wait_text(&session, "the second card", &format!("document.querySelector('{nowhere_card}')")).await;
    session.click(&format!("{nowhere_card} .primary-action[data-action=sign-in]")).await.unwrap();
    let problem = wait_text(
        &session,
        "the error on the card",
        &format!("!document.querySelector('{nowhere_card} .server-problem').hidden && document.querySelector('{nowhere_card} .problem-text').textContent"),
    )
    .await;
    assert!(problem.starts_with("Cannot reach the MCP server at 127.0.0.1."), "{problem}");
    shot(&session, &artifacts, "08-error.png").await;
    // Its last sign-in, step by step.
    session.click(&format!("{nowhere_card} [data-action=more]")).await.unwrap();
    session.click(&format!("{nowhere_card} .menu [data-action=log]")).await.unwrap();
    let steps = wait_text(
        &session,
        "the sign-in log",
        "document.getElementById('log').open && document.getElementById('log-steps').textContent",
    )
    .await;
    assert!(
        steps.contains("Sign-in started (system browser)") && steps.contains("Failed: cannot reach the MCP server"),
        "{steps}"
    );
    shot(&session, &artifacts, "08-error-log.png").await;
    session.click("#log-close").await.unwrap();

    // The tray menu stays open across clock ticks and a sidecar's token refresh (a menu replaced
    // while open closes under the pointer). The window's refresh count shows both were handled.
    let dir = Store::new(config).server(&ServerKey::new(&server.url, None));
    let mut tokens = dir.tokens().unwrap().unwrap();
    tokens.expires_at = Some(mcp_remote::store::unix_now() - 1);
    dir.save_tokens(&tokens).unwrap();
    open_tray_menu(&display.name, &artifacts).await;
    let before = session.execute("return Number(document.body.dataset.refreshes)", json!([])).await.unwrap();
    let before = before.as_u64().unwrap();
    let mut refreshing = Sidecar::spawn_with(scene.launch());
    refreshing.initialize().await;
    assert_eq!(refreshing.call_tool("echo", json!({ "message": "refreshed" })).await, "refreshed");
    assert!(refreshing.close().await.success());
    assert_ne!(dir.tokens().unwrap().unwrap().access_token, tokens.access_token, "the sidecar did not refresh");
    let after = before + 3;
    wait_text(&session, "ticks and the refresh seen", &format!("Number(document.body.dataset.refreshes) >= {after}"))
        .await;
    assert!(menu_shown(&display.name), "the tray menu closed while open");
    let captured = std::process::Command::new("import")
        .args(["-window", "root"])
        .arg(artifacts.join("09-tray-menu.png"))
        .env("DISPLAY", &display.name)
        .status()
        .unwrap();
    assert!(captured.success());
    let _ = std::process::Command::new("xdotool").args(["key", "Escape"]).env("DISPLAY", &display.name).status();

    // A sign-in that runs out with no way to refresh it is announced.
    let mut expired = dir.tokens().unwrap().unwrap();
    expired.refresh_token = None;
    expired.expires_at = Some(mcp_remote::store::unix_now() - 1);
    dir.save_tokens(&expired).unwrap();
    bus.wait_for("Your sign-in to Python OAuth expired").await;
    assert_eq!(
        wait_state(&session, "needs sign-in · the sign-in expired").await,
        "needs sign-in · the sign-in expired"
    );

    // Remove asks first, and offers to take the hosts' entries too.
    let python_card = ".server[data-id]:first-child";
    session.click(&format!("{python_card} [data-action=more]")).await.unwrap();
    session.click(&format!("{python_card} .menu [data-action=remove]")).await.unwrap();
    let option = wait_text(
        &session,
        "the remove option",
        "!document.getElementById('confirm-option').hidden && document.getElementById('confirm-option').textContent",
    )
    .await;
    assert!(
        option.contains("Also remove it from Claude Desktop, Claude Code, Cursor, VS Code, Windsurf, Zed"),
        "{option}"
    );
    confirm(&session, "Remove Python OAuth?").await;
    wait_text(&session, "the removal", "document.getElementById('message').textContent.includes('removed, and from')")
        .await;
    for (kind, path, key) in &files {
        assert!(read_json(path)[*key].get("Python OAuth").is_none(), "{kind} still has the entry");
    }

    // About names the version and the sidecar.
    session.click("#app-menu-button").await.unwrap();
    session.click("#app-menu [data-app-action=about]").await.unwrap();
    let version = wait_text(
        &session,
        "About",
        "document.getElementById('about').open && document.getElementById('about-version').textContent",
    )
    .await;
    assert!(version.split('.').all(|n| n.parse::<u32>().is_ok()) && version.split('.').count() == 3, "{version}");
    shot(&session, &artifacts, "10-about.png").await;

    session.end().await;
    // The unfinished first page never reached the authorization server.
    assert_eq!(scene.events("authorize"), 3);
}
