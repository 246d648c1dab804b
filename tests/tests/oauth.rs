//! OAuth end to end against a real authorization server: the Python SDK's auth server classes
//! (registration, PKCE, refresh-token rotation) protecting a Python SDK MCP server. The browser is
//! `tests/peers/browser.sh`, which follows the redirects and counts its invocations.

use mcp_remote::store::{ServerKey, Store};
use mcp_remote_tests::peers::{count_events, OAuthScene, PeerServer};
use mcp_remote_tests::sidecar::{fresh_config_dir, play_the_tray, sidecar_is_windows, Sidecar, WAIT};
use serde_json::json;
use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signs_in_once_refreshes_with_rotation_and_keeps_serving() {
    let scene = OAuthScene::start().await;
    let mut sidecar = Sidecar::spawn_with(scene.launch());
    sidecar.initialize().await;
    assert_eq!(sidecar.call_tool("echo", json!({ "message": "signed in" })).await, "signed in");
    assert_eq!(scene.browser_opened(), 1);

    let dir = Store::new(&scene.config).server(&ServerKey::new(&scene.server.url, None));
    let first = dir.tokens().unwrap().expect("tokens.json after sign-in");
    assert!(first.refresh_token.is_some() && first.expires_at.is_some());
    assert_eq!(first.resource.as_deref(), Some(scene.server.url.as_str()));
    // Unix modes. The Windows sidecar gives each an owner-only ACL, which Wine keeps as mode bits:
    // the user's, and its group's (Wine's user SID stands for both); nothing for other users.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let files = ["tokens.json", "client.json", "metadata.json"].map(|file| dir.path().join(file));
        if sidecar_is_windows() {
            let folders = [scene.config.clone(), dir.path().to_path_buf(), scene.config.join("locks")];
            for path in folders.iter().chain(&files) {
                assert_eq!(mode(path) & 0o007, 0, "{} is open to other users", path.display());
            }
        } else {
            assert_eq!(mode(dir.path()), 0o700);
            for file in &files {
                assert_eq!(mode(file), 0o600, "{}", file.display());
            }
        }
    }
    let mut secrets = vec![first.access_token.clone(), first.refresh_token.clone().unwrap()];
    let mut previous = first;
    for round in 1..=2 {
        assert_eq!(sidecar.call_tool("expire_token", json!({})).await, "expired");
        let message = format!("after refresh {round}");
        assert_eq!(sidecar.call_tool("echo", json!({ "message": message })).await, message);
        let now = dir.tokens().unwrap().unwrap();
        assert_ne!(now.access_token, previous.access_token, "round {round}: no new access token");
        assert_ne!(now.refresh_token, previous.refresh_token, "round {round}: the refresh token was not rotated");
        secrets.extend([now.access_token.clone(), now.refresh_token.clone().unwrap()]);
        previous = now;
    }
    assert_eq!(scene.events("refresh"), 2);
    assert_eq!(scene.events("refresh_rejected"), 0, "a rotated refresh token was spent twice");
    assert_eq!(scene.events("authorize"), 1);
    assert_eq!(scene.events("register"), 1);

    // Claude Desktop's next start: the stored credentials are used, no browser opens.
    let mut next = Sidecar::spawn_with(scene.launch());
    next.initialize().await;
    assert_eq!(next.call_tool("echo", json!({ "message": "no browser" })).await, "no browser");
    assert_eq!(scene.browser_opened(), 1);
    assert!(next.close().await.success());

    assert!(sidecar.close().await.success());
    let log = sidecar.stderr();
    assert!(log.contains("DEBUG"), "--debug produced no debug lines");
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a token reached the --debug log");
    }
    for word in ["code=", "code_verifier", "refresh_token"] {
        assert!(!log.contains(word), "{word:?} appears in the --debug log");
    }
}

/// `--config-dir` pointing at a folder another user owns and anyone may write to: the sidecar
/// keeps no credentials there (they could be read, swapped or planted) and says why; the request
/// gets an error instead of a sign-in. Needs root, to give the folder to another user.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_dir_other_users_may_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let scene = OAuthScene::start().await;
    std::fs::create_dir(&scene.config).unwrap();
    std::fs::set_permissions(&scene.config, std::fs::Permissions::from_mode(0o777)).unwrap();
    match std::os::unix::fs::chown(&scene.config, Some(65534), Some(65534)) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            eprintln!("skipped: needs root to give a folder to another user");
            return;
        }
        done => done.unwrap(),
    }
    let mut sidecar = Sidecar::spawn_with(scene.launch());
    let answer = sidecar.initialize_answer().await;
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("is not private") && message.contains("--config-dir"), "{answer}");
    assert!(sidecar.close().await.success());
    assert_eq!(scene.browser_opened(), 0, "a sign-in was started");
    assert_eq!(std::fs::read_dir(&scene.config).unwrap().count(), 0, "something was written into it");
    assert_eq!(std::fs::metadata(&scene.config).unwrap().permissions().mode() & 0o777, 0o777, "its mode was changed");
}

/// Browsers open speculative connections that send nothing. One held open to the callback
/// listener while the redirect arrives must not stall the sign-in (before, the listener served one
/// connection at a time with no read timeout, and the sign-in waited out `--auth-timeout`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_completes_with_an_idle_connection_held_to_the_callback_listener() {
    let scene = OAuthScene::start().await;
    let python = mcp_remote_tests::peers::python();
    let launch = scene.launch().env("BROWSER_PRECONNECT", &python.to_string_lossy()).arg("--auth-timeout").arg("20s");
    let mut sidecar = Sidecar::spawn_with(launch);
    sidecar.initialize().await;
    assert_eq!(sidecar.call_tool("echo", json!({ "message": "in" })).await, "in");
    assert_eq!(scene.browser_opened(), 1);
    assert!(sidecar.close().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_sidecars_started_together_sign_in_once() {
    let scene = OAuthScene::start().await;
    let sidecars: Vec<Sidecar> = (0..5).map(|_| Sidecar::spawn_with(scene.launch())).collect();
    futures_util::future::join_all(sidecars.iter().map(Sidecar::initialize)).await;
    let calls = sidecars
        .iter()
        .enumerate()
        .map(|(i, s)| async move { s.call_tool("echo", json!({ "message": format!("sidecar {i}") })).await });
    let answers = futures_util::future::join_all(calls).await;
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer, &format!("sidecar {i}"));
    }
    assert_eq!(scene.browser_opened(), 1, "the browser opened more than once");
    assert_eq!(scene.events("authorize"), 1);
    assert_eq!(scene.events("register"), 1);
    for mut sidecar in sidecars {
        assert!(sidecar.close().await.success());
    }
}

/// Five sidecars wait on one sign-in, and the one signing in is killed with SIGKILL before its
/// user finishes. Its lock dies with it; one of the other four signs in for all of them, with the
/// client the dead one registered.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_signing_sidecar_of_five_is_killed_another_signs_in_for_the_rest() {
    let scene = OAuthScene::start().await;
    // The first tab is never finished: the sidecar that opened it stays mid-sign-in.
    let mut sidecars: Vec<Sidecar> =
        (0..5).map(|_| Sidecar::spawn_with(scene.launch().env("BROWSER_IGNORE_FIRST", "1"))).collect();
    let mut inits: Vec<_> = sidecars.iter().map(Sidecar::send_initialize).collect();
    let signing = tokio::time::timeout(WAIT, async {
        loop {
            let opened: Vec<usize> =
                (0..sidecars.len()).filter(|&i| sidecars[i].stderr().contains("to sign in, open this URL")).collect();
            if !opened.is_empty() {
                return opened;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("no sidecar opened the sign-in page");
    assert_eq!(signing.len(), 1, "more than one sidecar was signing in: {signing:?}");
    // The tab is open (the browser ran), and the sidecar waits for its redirect. (Under Wine a
    // process killed while it starts a Unix program can leave its lock held in wineserver.)
    tokio::time::timeout(WAIT, async {
        while scene.browser_opened() == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the browser was not started");
    let mut killed = sidecars.remove(signing[0]);
    drop(inits.remove(signing[0]));
    killed.signal("KILL");
    killed.wait_exit().await;

    for (sidecar, init) in sidecars.iter().zip(inits) {
        let answer = sidecar.wait_response(init, "initialize").await;
        assert!(answer.get("result").is_some(), "{answer}");
    }
    for (i, sidecar) in sidecars.iter().enumerate() {
        assert_eq!(sidecar.call_tool("echo", json!({ "message": format!("{i}") })).await, format!("{i}"));
    }
    assert_eq!(scene.browser_opened(), 2, "one tab for the killed sidecar, one for the rest");
    assert_eq!(scene.events("authorize"), 1);
    assert_eq!(scene.events("register"), 1, "the dead sidecar's registration was not reused");
    for mut sidecar in sidecars {
        assert!(sidecar.close().await.success());
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_killed_mid_write_never_leaves_an_unreadable_token_file() {
    use tokio::io::AsyncBufReadExt;
    let root = fresh_config_dir();
    let url = "https://example.com/mcp";
    let dir = Store::new(&root).server(&ServerKey::new(url, None));
    for round in 0..40u64 {
        let mut writer = tokio::process::Command::new(env!("CARGO_BIN_EXE_store-writer"))
            .arg(&root)
            .arg(url)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn store-writer");
        let mut lines = tokio::io::BufReader::new(writer.stdout.take().unwrap()).lines();
        // Let it get some writes in, then kill it wherever it is.
        for _ in 0..(round % 7 + 1) * 10 {
            lines.next_line().await.unwrap().expect("store-writer ended");
        }
        let status = std::process::Command::new("kill").args(["-KILL", &writer.id().unwrap().to_string()]).status();
        assert!(status.unwrap().success());
        let _ = writer.wait().await;
        let tokens = dir.tokens().unwrap_or_else(|e| panic!("round {round}: unreadable after SIGKILL: {e}")).unwrap();
        let n: u64 = tokens.refresh_token.unwrap().trim_start_matches("refresh-").parse().unwrap();
        assert_eq!(tokens.expires_at, Some(n), "round {round}: fields from different writes");
        assert!(tokens.access_token.starts_with(&format!("access-{n}-")));
    }
    let _ = std::fs::remove_dir_all(root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_authorization_header_turns_oauth_off() {
    let scene = OAuthScene::start().await;
    let mut sidecar =
        Sidecar::spawn_with(scene.launch().arg("--header").arg("Authorization: Bearer not-a-valid-token"));
    let answer = sidecar.initialize_answer().await;
    assert_eq!(answer["error"]["code"], -32001, "{answer}");
    assert_eq!(answer["error"]["data"]["httpStatus"], 401);
    assert!(sidecar.close().await.success());
    assert_eq!(scene.browser_opened(), 0, "a sign-in was started");
    assert!(!scene.config.exists(), "something was persisted");
    assert_eq!(scene.events("register"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_forgot_everything_gets_a_fresh_sign_in() {
    let scene = OAuthScene::start().await;
    let mut scene = scene;
    let port = scene.server.port;
    let mut first = Sidecar::spawn_with(scene.launch());
    first.initialize().await;
    assert_eq!(first.call_tool("echo", json!({ "message": "one" })).await, "one");
    assert!(first.close().await.success());
    // The authorization server restarts and forgets tokens and registrations.
    scene.server.kill().await;
    let restarted_log = scene.scratch.join("events-2.jsonl");
    let _server = PeerServer::python_oauth_on(port, &restarted_log).await;
    let mut second = Sidecar::spawn_with(scene.launch().arg("--auth-timeout").arg("5s"));
    // The refresh is refused (unknown client): the registration is discarded and redone, once.
    second.initialize().await;
    assert_eq!(second.call_tool("echo", json!({ "message": "two" })).await, "two");
    assert_eq!(scene.browser_opened(), 2);
    assert_eq!(count_events(&restarted_log, "register"), 1, "no fresh registration");
    assert_eq!(count_events(&restarted_log, "refresh"), 0);
    assert!(second.close().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_tray_runs_a_sidecar_hands_its_sign_in_over() {
    let scene = OAuthScene::start().await;
    // This test plays the tray app: it holds the tray lock and watches for the published sign-in.
    let store = Store::new(&scene.config);
    let _tray = play_the_tray(&store).await;
    let sidecar = Sidecar::spawn_with(scene.launch());
    let init = sidecar.send_initialize();
    let dir = store.server(&ServerKey::new(&scene.server.url, None));
    let pending = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            if let Some(pending) = dir.pending_sign_in() {
                return pending;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("no sign-in was published for the tray");
    if !sidecar_is_windows() {
        // Under Wine the process reports its Windows pid, which has no Unix counterpart.
        assert_eq!(pending.pid, sidecar.pid());
    }
    assert_eq!(scene.browser_opened(), 0, "the sidecar opened a browser although the tray runs");
    // One click in the tray: the page opens, and the redirect reaches the waiting sidecar.
    let status = tokio::process::Command::new(mcp_remote_tests::peers::peers_dir().join("browser.sh"))
        .arg(&pending.url)
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let answer = sidecar.wait_response(init, "initialize").await;
    assert!(answer.get("result").is_some(), "{answer}");
    assert!(dir.pending_sign_in().is_none(), "signin.json was left behind");
    assert!(dir.tokens().unwrap().is_some());
}

/// A sidecar killed with SIGKILL while its refresh is at the token endpoint loses nothing: the
/// stored refresh token is still there, and the next sidecar refreshes with it, without a browser.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sidecar_killed_during_a_refresh_leaves_the_refresh_token_usable() {
    let scene = OAuthScene::start_with_flags(&["--hang-first-refresh"]).await;
    let mut first = Sidecar::spawn_with(scene.launch());
    first.initialize().await;
    assert_eq!(first.call_tool("expire_token", json!({})).await, "expired");
    let _in_flight =
        first.send_request(json!("r"), "tools/call", json!({ "name": "echo", "arguments": { "message": "x" } }));
    scene.wait_for_event("refresh_started").await;
    first.signal("KILL");
    first.wait_exit().await;

    let dir = Store::new(&scene.config).server(&ServerKey::new(&scene.server.url, None));
    let stored = dir.tokens().expect("tokens.json readable after SIGKILL").expect("tokens.json still there");
    assert!(stored.refresh_token.is_some(), "the refresh token was lost");
    let mut second = Sidecar::spawn_with(scene.launch());
    second.initialize().await;
    assert_eq!(second.call_tool("echo", json!({ "message": "after" })).await, "after");
    assert_eq!(scene.events("refresh"), 1, "the second sidecar did not refresh with the stored token");
    assert_eq!(scene.browser_opened(), 1, "a new sign-in was needed");
    assert!(second.close().await.success());
}
