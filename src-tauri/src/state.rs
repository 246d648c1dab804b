//! The app's shared state: where things live (the shared config dir, the server list, the
//! folders MCP hosts keep their files under, the bundled sidecar), the sign-ins it runs, and the
//! tray's presence lock.

use crate::hosts::HostRoots;
use crate::signin::SignIns;
use mcp_remote::store::{Store, TrayLock};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// Environment knobs, for tests and unusual setups (the config dir also follows
/// `MCP_REMOTE_CONFIG_DIR`, as the sidecar does).
pub const STORE_FILE_ENV: &str = "MCP_REMOTE_TRAY_STORE";
pub const OPEN_SETTINGS_ENV: &str = "MCP_REMOTE_TRAY_OPEN_SETTINGS";
/// Seconds between looks at the clock (expiries pass without a file changing); default 60.
pub const TICK_ENV: &str = "MCP_REMOTE_TRAY_TICK_SECONDS";

pub struct AppState {
    /// The credential store root shared with the sidecars.
    pub config_dir: PathBuf,
    /// The server list file (relative: in the app data dir, where `tauri-plugin-store` kept it).
    pub store_file: PathBuf,
    /// Where the MCP hosts' files are.
    pub host_roots: HostRoots,
    /// The bundled `mcp-remote` sidecar, beside this executable.
    pub sidecar: PathBuf,
    /// Open the settings window at start (for WebDriver, which needs a window).
    pub open_settings_at_start: bool,
    /// How often the clock is looked at.
    pub tick: Duration,
    pub sign_ins: SignIns,
    tray_lock: Mutex<Option<TrayLock>>,
}

impl AppState {
    pub fn new(config_dir: PathBuf, store_file: PathBuf, host_roots: HostRoots, sidecar: PathBuf) -> Self {
        Self {
            config_dir,
            store_file,
            host_roots,
            sidecar,
            open_settings_at_start: false,
            tick: Duration::from_secs(60),
            sign_ins: SignIns::default(),
            tray_lock: Mutex::new(None),
        }
    }

    /// The production state: the sidecar's own config-dir rule, this user's folders.
    pub fn from_env() -> Result<Self, String> {
        let env = |name: &str| std::env::var(name).ok();
        let config_dir = mcp_remote::cli::config_dir_from(None, &env).map_err(|e| e.to_string())?;
        let store_file =
            env(STORE_FILE_ENV).filter(|v| !v.is_empty()).map_or_else(|| "servers.json".into(), PathBuf::from);
        let host_roots = HostRoots::of_this_user().ok_or("cannot tell where this user's home folder is")?;
        let mut state = Self::new(config_dir, store_file, host_roots, sidecar_path());
        state.open_settings_at_start = env(OPEN_SETTINGS_ENV).is_some_and(|v| v == "1");
        if let Some(seconds) = env(TICK_ENV).and_then(|v| v.parse().ok()).filter(|&s| s > 0) {
            state.tick = Duration::from_secs(seconds);
        }
        Ok(state)
    }

    /// Announces this tray app to sidecars (see `Store::tray_running`). False when another runs.
    pub fn claim_tray(&self) -> bool {
        match Store::new(&self.config_dir).hold_tray_lock() {
            Ok(Some(lock)) => {
                *self.tray_lock.lock().expect("poisoned") = Some(lock);
                true
            }
            _ => false,
        }
    }
}

/// Tauri installs `externalBin` binaries beside the main executable.
fn sidecar_path() -> PathBuf {
    let name = format!("mcp-remote{}", std::env::consts::EXE_SUFFIX);
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(&name)))
        .unwrap_or_else(|| PathBuf::from(name))
}
