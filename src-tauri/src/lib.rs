//! The mcp-remote tray app: servers, sign-in, token state and reset, and installation into the
//! MCP hosts a person has (Claude Desktop, Claude Code, Cursor, VS Code, Windsurf, Zed), from the
//! system tray. It is UI and orchestration only: every OAuth, storage, lock, config-dir, browser
//! and HTTP rule is the engine's (`mcp_remote`), shared with the bundled sidecar.
//!
//! Layers, each depending only on those below it: `commands` (the window's calls) and `tray`
//! (the menu) call `actions`; `actions` uses `servers`, `hosts`, `signin`, `problem` and the
//! engine, and announces changes with an event; `alerts` and `tray` show what changed. `watch`
//! turns the shared config dir's file events into the same event.
//!
//! `build_app` assembles the app on any Tauri runtime, so command tests run on the mock runtime;
//! `run` starts it for real, in the tray, with no window until one is asked for.

mod actions;
mod alerts;
pub mod commands;
pub mod hosts;
pub mod problem;
pub mod servers;
pub mod signin;
pub mod state;
mod tray;
mod watch;
mod window;

use state::AppState;
use tauri::{Builder, Listener, Manager, RunEvent, Runtime};

/// Registers plugins, state and commands; with `ui`, also the tray, notifications, the
/// config-dir watch and the tray's presence lock (a mock runtime has no tray).
pub fn build_app<R: Runtime>(builder: Builder<R>, state: AppState, ui: bool) -> Builder<R> {
    builder
        .plugin(tauri_plugin_clipboard_manager::init())
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            commands::servers::list_servers,
            commands::servers::save_server,
            commands::servers::remove_server,
            commands::servers::about,
            commands::signin::sign_in,
            commands::signin::cancel_sign_in,
            commands::signin::copy_sign_in_link,
            commands::signin::open_sign_in_again,
            commands::signin::reset_tokens,
            commands::signin::reset_all_tokens,
            commands::hosts::list_hosts,
            commands::hosts::host_snippet,
            commands::hosts::copy_host_snippet,
            commands::hosts::install_into_host,
        ])
        .setup(move |app| {
            if !ui {
                return Ok(());
            }
            app.handle().plugin(tauri_plugin_notification::init())?;
            let handle = app.handle().clone();
            let state = handle.state::<AppState>();
            if !state.claim_tray() {
                eprintln!("mcp-remote-tray: another tray app already runs for {}", state.config_dir.display());
            }
            app.manage(alerts::Alerts::default());
            tray::create(&handle)?;
            let shown = handle.clone();
            handle.listen_any(actions::CHANGED_EVENT, move |_| show_state(&shown));
            show_state(&handle);
            let watch = watch::start(&handle, &state.config_dir, state.tick)?;
            app.manage(watch);
            if state.open_settings_at_start {
                window::open_settings(&handle, None)?;
            }
            Ok(())
        })
}

/// Brings the tray and the notifications up to date with the servers' state.
fn show_state<R: Runtime>(app: &tauri::AppHandle<R>) {
    let views = actions::list(app).unwrap_or_default();
    let attention = app.state::<alerts::Alerts>().observe(app, &views);
    tray::show(app, &views, attention);
}

/// Runs the tray app until Quit.
pub fn run() {
    let state = AppState::from_env().unwrap_or_else(|why| {
        eprintln!("mcp-remote-tray: {why}");
        std::process::exit(1);
    });
    let app = build_app(tauri::Builder::default(), state, true)
        .build(tauri::generate_context!())
        .expect("cannot start the mcp-remote tray app");
    app.run(|_app, event| {
        // Closing the last window keeps the app in the tray; only Quit (an exit code) ends it.
        if let RunEvent::ExitRequested { api, code: None, .. } = event {
            api.prevent_exit();
        }
    });
}
