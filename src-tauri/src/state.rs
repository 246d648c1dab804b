//! The app's shared state: where things live (the shared config dir, the server list, Claude
//! Desktop's config, the bundled sidecar), the HTTP client, and the tray's presence lock.

use mcp_remote::store::{Store, TrayLock};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;

/// Environment knobs, for tests and unusual setups.
pub const CONFIG_DIR_ENV: &str = "MCP_REMOTE_CONFIG_DIR";
pub const STORE_FILE_ENV: &str = "MCP_REMOTE_TRAY_STORE";
pub const CLAUDE_CONFIG_ENV: &str = "MCP_REMOTE_CLAUDE_CONFIG";
pub const OPEN_SETTINGS_ENV: &str = "MCP_REMOTE_TRAY_OPEN_SETTINGS";

pub struct AppState {
    /// The credential store root shared with the sidecars.
    pub config_dir: PathBuf,
    /// `tauri-plugin-store` file with the server entries (relative: in the app data dir).
    pub store_file: PathBuf,
    /// Claude Desktop's config file.
    pub claude_config: Option<PathBuf>,
    /// The bundled `mcp-remote` sidecar, beside this executable.
    pub sidecar: PathBuf,
    /// Open the settings window at start (for WebDriver, which needs a window).
    pub open_settings_at_start: bool,
    tray_lock: Mutex<Option<TrayLock>>,
    signing_in: Mutex<HashSet<String>>,
}

impl AppState {
    pub fn new(config_dir: PathBuf, store_file: PathBuf, claude_config: Option<PathBuf>, sidecar: PathBuf) -> Self {
        Self {
            config_dir,
            store_file,
            claude_config,
            sidecar,
            open_settings_at_start: false,
            tray_lock: Mutex::new(None),
            signing_in: Mutex::new(HashSet::new()),
        }
    }

    /// The production state: the sidecar's own config-dir rule, Claude's config per OS.
    pub fn from_env() -> Self {
        let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let config_dir = env(CONFIG_DIR_ENV)
            .or_else(mcp_remote::cli::default_config_dir)
            .unwrap_or_else(|| PathBuf::from("mcp-remote"));
        let store_file = env(STORE_FILE_ENV).unwrap_or_else(|| PathBuf::from("servers.json"));
        let claude_config = env(CLAUDE_CONFIG_ENV).or_else(crate::claude_config::default_path);
        let mut state = Self::new(config_dir, store_file, claude_config, sidecar_path());
        state.open_settings_at_start = std::env::var_os(OPEN_SETTINGS_ENV).is_some_and(|v| v == "1");
        state
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

    /// Marks a sign-in for `id` as running; false when one already is.
    pub fn begin_sign_in(&self, id: &str) -> bool {
        self.signing_in.lock().expect("poisoned").insert(id.to_string())
    }

    pub fn end_sign_in(&self, id: &str) {
        self.signing_in.lock().expect("poisoned").remove(id);
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
