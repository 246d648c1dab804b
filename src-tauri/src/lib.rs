//! The mcp-remote tray app: servers, sign-in, token state and reset, and installation into Claude
//! Desktop, from the system tray. It is UI and orchestration only: every OAuth, storage and lock
//! operation is the engine's (`mcp_remote`), shared with the bundled sidecar.
//!
//! `build_app` assembles the app on any Tauri runtime, so command tests run on the mock runtime;
//! `run` starts it for real, in the tray, with no window until one is asked for.

mod actions;
pub mod claude_config;
pub mod commands;
pub mod servers;
pub mod state;
mod tray;
mod watch;
mod window;

use state::AppState;
use tauri::{Builder, Manager, RunEvent, Runtime};

/// Registers plugins, state and commands; with `ui`, also the tray, the config-dir watch and
/// the tray's presence lock (a mock runtime has no tray).
pub fn build_app<R: Runtime>(builder: Builder<R>, state: AppState, ui: bool) -> Builder<R> {
    builder
        .plugin(tauri_plugin_store::Builder::default().build())
        .plugin(tauri_plugin_clipboard_manager::init())
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            commands::servers::list_servers,
            commands::servers::save_server,
            commands::servers::remove_server,
            commands::signin::sign_in,
            commands::signin::reset_tokens,
            commands::signin::reset_all_tokens,
            commands::claude::claude_config_snippet,
            commands::claude::copy_claude_config,
            commands::claude::install_into_claude,
        ])
        .setup(move |app| {
            if !ui {
                return Ok(());
            }
            let handle = app.handle();
            let state = handle.state::<AppState>();
            if !state.claim_tray() {
                eprintln!("mcp-remote-tray: another tray app already runs for {}", state.config_dir.display());
            }
            tray::create(handle)?;
            let watch = watch::start(handle, &state.config_dir)?;
            app.manage(watch);
            if state.open_settings_at_start {
                window::open_settings(handle, None)?;
            }
            Ok(())
        })
}

/// Runs the tray app until Quit.
pub fn run() {
    let app = build_app(tauri::Builder::default(), AppState::from_env(), true)
        .build(tauri::generate_context!())
        .expect("cannot start the mcp-remote tray app");
    app.run(|_app, event| {
        // Closing the last window keeps the app in the tray; only Quit (an exit code) ends it.
        if let RunEvent::ExitRequested { api, code: None, .. } = event {
            api.prevent_exit();
        }
    });
}
