//! The tray app end to end, in a real window under Xvfb with `trayer` as the tray host, driven
//! through `tauri-driver` + WebKitWebDriver: add a server protected by a real authorization server
//! (the Python SDK's), sign in with the system browser (`tests/peers/browser.sh`) and with the
//! in-app window, see "signed in", let a sidecar with the same config dir call a tool with no
//! browser, reset, and complete from the window the sign-in a waiting sidecar handed over.
//! Screenshots of the window and of the open tray menu are written to
//! `target/e2e-artifacts/` (CI keeps them; they are not committed).
#![cfg(target_os = "linux")]

use mcp_remote::store::{ServerKey, Store};
use mcp_remote_tests::peers::{free_port, peers_dir, OAuthScene};
use mcp_remote_tests::sidecar::Sidecar;
use mcp_remote_tests::webdriver::Session;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const UI_WAIT: Duration = Duration::from_secs(40);

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
const STATE: &str = "const s = document.querySelector('.server .server-state'); return s && s.textContent;";

async fn wait_state(session: &Session, prefix: &str) -> String {
    let script = format!(
        "const s = document.querySelector('.server .server-state'); \
         return s && s.textContent.startsWith({prefix:?}) ? s.textContent : null;"
    );
    let value = session.wait_for(&format!("state {prefix:?}"), &script, UI_WAIT).await;
    match value {
        Ok(text) => text.as_str().unwrap_or_default().to_string(),
        Err(e) => {
            let now = session.execute(STATE, json!([])).await;
            let message = session.execute("return document.getElementById('message').textContent", json!([])).await;
            panic!("{e}; state now {now:?}, message {message:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_sign_in_both_ways_use_from_a_sidecar_and_reset() {
    let artifacts = target_dir().parent().unwrap().join("e2e-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let scene = OAuthScene::start().await;
    let (scratch, browser_log, config, server) = (&scene.scratch, &scene.browser_log, &scene.config, &scene.server);

    let display = Display::start().await;
    let _trayer = Command::new("trayer")
        .args(["--edge", "top", "--align", "right", "--widthtype", "request", "--height", "32"])
        .env("DISPLAY", &display.name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("trayer");
    let driver_port = free_port();
    let _driver = Command::new(tool("tauri-driver"))
        .args(["--port", &driver_port.to_string(), "--native-port", &free_port().to_string()])
        .env("DISPLAY", &display.name)
        .env("MCP_REMOTE_CONFIG_DIR", config)
        .env("MCP_REMOTE_TRAY_STORE", scratch.join("servers.json"))
        .env("MCP_REMOTE_CLAUDE_CONFIG", scratch.join("claude_desktop_config.json"))
        .env("MCP_REMOTE_TRAY_OPEN_SETTINGS", "1")
        .env("BROWSER", peers_dir().join("browser.sh"))
        .env("BROWSER_LOG", browser_log)
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

    // Add the server.
    session.wait_for("the window", "return document.getElementById('add-button') !== null", UI_WAIT).await.unwrap();
    session.click("#add-button").await.unwrap();
    session.type_into("input[name=name]", "Python OAuth").await.unwrap();
    session.type_into("input[name=url]", &server.url).await.unwrap();
    session
        .execute("document.querySelector('select[name=sign_in_method]').value = 'browser'", json!([]))
        .await
        .unwrap();
    session.click("input[name=allow_http]").await.unwrap();
    session.click("#save-button").await.unwrap();
    assert_eq!(wait_state(&session, "needs sign-in").await, "needs sign-in");

    // Sign in with the system browser.
    session.click(".server [data-action=sign-in]").await.unwrap();
    let signed_in = wait_state(&session, "signed in").await;
    assert!(signed_in.starts_with("signed in · expires in"), "{signed_in}");
    assert_eq!(scene.browser_opened(), 1);
    std::fs::write(artifacts.join("window-signed-in.png"), session.screenshot().await.unwrap()).unwrap();

    // Claude Desktop's sidecar uses the stored tokens: no browser.
    let mut sidecar = Sidecar::spawn_with(scene.launch());
    sidecar.initialize().await;
    assert_eq!(
        sidecar.call_tool("echo", json!({ "message": "from the tray's sign-in" })).await,
        "from the tray's sign-in"
    );
    assert!(sidecar.close().await.success());
    assert_eq!(scene.browser_opened(), 1, "the sidecar opened a browser");

    // Install into Claude Desktop: the entry runs the sidecar bundled beside the app.
    session.click(".server [data-action=install]").await.unwrap();
    let claude_file = scratch.join("claude_desktop_config.json");
    session
        .wait_for(
            "the install",
            "return document.getElementById('message').textContent.includes('Restart Claude')",
            UI_WAIT,
        )
        .await
        .unwrap();
    let claude: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&claude_file).unwrap()).unwrap();
    let command = PathBuf::from(claude["mcpServers"]["Python OAuth"]["command"].as_str().unwrap());
    assert_eq!(command, app.parent().unwrap().join("mcp-remote"), "the entry does not point at the bundled sidecar");
    let version = std::process::Command::new(&command).arg("--version").output().unwrap();
    assert!(version.status.success() && String::from_utf8_lossy(&version.stdout).starts_with("mcp-remote "));
    assert_eq!(claude["mcpServers"]["Python OAuth"]["args"][0], server.url.as_str());

    // Reset: the folder is gone and the state says so.
    let folder = Store::new(config).server(&ServerKey::new(&server.url, None)).path().to_path_buf();
    assert!(folder.exists());
    session.click(".server [data-action=reset]").await.unwrap();
    assert_eq!(wait_state(&session, "needs sign-in").await, "needs sign-in");
    assert!(!folder.exists(), "reset left {} behind", folder.display());

    // Sign in with the in-app window: it opens, follows the approval, and closes itself.
    session.click(".server [data-action=edit]").await.unwrap();
    session
        .execute("document.querySelector('select[name=sign_in_method]').value = 'webview'", json!([]))
        .await
        .unwrap();
    session.click("#save-button").await.unwrap();
    session.click(".server [data-action=sign-in]").await.unwrap();
    assert!(wait_state(&session, "signed in").await.starts_with("signed in"));
    assert_eq!(scene.browser_opened(), 1, "the in-app sign-in used the system browser");
    let closed = tokio::time::timeout(UI_WAIT, async {
        while session.windows().await.unwrap().len() > 1 {
            tokio::task::yield_now().await;
        }
    });
    assert!(closed.await.is_ok(), "the sign-in window did not close");
    std::fs::write(artifacts.join("window-signed-in-webview.png"), session.screenshot().await.unwrap()).unwrap();

    // A sidecar that needs the user while the tray runs: it waits, the window says so, and one
    // click completes the sign-in on the sidecar's own listener.
    session.click(".server [data-action=reset]").await.unwrap();
    assert_eq!(wait_state(&session, "needs sign-in").await, "needs sign-in");
    let waiting = Sidecar::spawn_with(scene.launch().arg("--auth-timeout").arg("60s"));
    let init = waiting.send_initialize();
    assert_eq!(
        wait_state(&session, "needs sign-in · a client is waiting").await,
        "needs sign-in · a client is waiting"
    );
    std::fs::write(artifacts.join("window-client-waiting.png"), session.screenshot().await.unwrap()).unwrap();
    session.click(".server [data-action=sign-in]").await.unwrap();
    let answer = waiting.wait_response(init, "the waiting sidecar's initialize").await;
    assert!(answer.get("result").is_some(), "{answer}");
    assert!(wait_state(&session, "signed in").await.starts_with("signed in"));
    assert_eq!(scene.browser_opened(), 1, "a browser opened for the waiting sidecar");

    // The tray menu, opened with a click on the icon in trayer (top right).
    // The menu is a window of the app's, wider than an icon, beside the tray (the settings window
    // sits at the left edge).
    let menu_shown = || {
        let tree =
            std::process::Command::new("xwininfo").args(["-root", "-tree"]).env("DISPLAY", &display.name).output();
        String::from_utf8_lossy(&tree.unwrap().stdout).lines().any(|line| {
            let Some(geometry) =
                line.contains("\"mcp-remote-tray\": (").then(|| line.split_whitespace().rev().nth(1)).flatten()
            else {
                return false;
            };
            let numbers: Vec<i64> = geometry.split(['x', '+']).filter_map(|n| n.parse().ok()).collect();
            matches!(numbers[..], [width, _, x, _] if width >= 100 && x >= 600)
        })
    };
    assert!(!menu_shown(), "a menu is open before the click");
    let mut opened = false;
    for _ in 0..5 {
        let clicked = std::process::Command::new("xdotool")
            .args(["mousemove", "1264", "16", "click", "1"])
            .env("DISPLAY", &display.name)
            .status()
            .unwrap();
        assert!(clicked.success());
        let shown = tokio::time::timeout(Duration::from_secs(5), async {
            while !menu_shown() {
                tokio::task::yield_now().await;
            }
        });
        if shown.await.is_ok() {
            opened = true;
            break;
        }
    }
    if !opened {
        let _ = std::process::Command::new("import")
            .args(["-window", "root"])
            .arg(artifacts.join("tray-menu-failed.png"))
            .env("DISPLAY", &display.name)
            .status();
        let tree =
            std::process::Command::new("xwininfo").args(["-root", "-tree"]).env("DISPLAY", &display.name).output();
        panic!("the tray menu did not open; windows:\n{}", String::from_utf8_lossy(&tree.unwrap().stdout));
    }
    let shot = artifacts.join("tray-menu.png");
    let captured = std::process::Command::new("import")
        .args(["-window", "root"])
        .arg(&shot)
        .env("DISPLAY", &display.name)
        .status()
        .unwrap();
    assert!(captured.success() && std::fs::metadata(&shot).unwrap().len() > 0);

    session.end().await;
    assert_eq!(scene.events("authorize"), 3);
}
