//! The servers a person has added: their entries (kept with `tauri-plugin-store`), the sidecar
//! command line each one stands for, and what the window and the tray show about it.
//!
//! An entry is validated by turning it into the sidecar's own arguments and parsing those with
//! the engine's command-line parser, so the tray accepts exactly what the sidecar will.

use crate::hosts::HostKind;
use crate::signin::{LastSignIn, Progress};
use mcp_remote::cli::Config;
use mcp_remote::status::SignInStatus;
use mcp_remote::store::{unix_now, Store};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tauri::Runtime;
use tauri_plugin_store::StoreExt;

const SERVERS_KEY: &str = "servers";

/// How the sign-in page is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    /// A window of this app.
    #[default]
    Webview,
    /// The system's browser.
    Browser,
}

/// One server as the person configured it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerEntry {
    /// Stable id, made when the entry is added.
    #[serde(default)]
    pub id: String,
    pub name: String,
    pub url: String,
    /// `Name: value` lines, as `--header` takes them.
    #[serde(default)]
    pub headers: Vec<String>,
    #[serde(default)]
    pub resource: Option<String>,
    /// JSON of a pre-registered client, as `--static-oauth-client-info` takes it.
    #[serde(default)]
    pub static_client_info: Option<String>,
    #[serde(default)]
    pub sign_in_method: SignInMethod,
    /// Plain http (development servers only).
    #[serde(default)]
    pub allow_http: bool,
}

impl ServerEntry {
    /// The sidecar's arguments for this entry (after the program name).
    pub fn sidecar_args(&self, config_dir: Option<&Path>) -> Vec<String> {
        let mut args = vec![self.url.trim().to_string()];
        for header in self.headers.iter().map(|h| h.trim()).filter(|h| !h.is_empty()) {
            args.extend(["--header".to_string(), header.to_string()]);
        }
        if let Some(resource) = self.resource.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            args.extend(["--resource".to_string(), resource.to_string()]);
        }
        if let Some(info) = self.static_client_info.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
            args.extend(["--static-oauth-client-info".to_string(), info.to_string()]);
        }
        if self.allow_http {
            args.push("--allow-http".to_string());
        }
        if let Some(dir) = config_dir {
            args.extend(["--config-dir".to_string(), dir.display().to_string()]);
        }
        args
    }

    /// The engine's configuration for this entry: the same parsing the sidecar does. `${VAR}` in
    /// headers is left to the sidecar's environment, so it is not expanded here.
    pub fn engine_config(&self, config_dir: &Path) -> Result<Config, String> {
        if self.name.trim().is_empty() {
            return Err("give the server a name".into());
        }
        let argv = std::iter::once("mcp-remote".to_string()).chain(self.sidecar_args(Some(config_dir)));
        Config::from_args(argv, &|name| Some(format!("${{{name}}}"))).map_err(|e| e.to_string())
    }
}

/// Names are compared as a person reads them: case and surrounding spaces do not count (they
/// become the entry's key in every MCP host's file).
pub fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Another entry than `entry` that has its name.
pub fn name_taken<'a>(entries: &'a [ServerEntry], entry: &ServerEntry) -> Option<&'a ServerEntry> {
    entries.iter().find(|other| other.id != entry.id && same_name(&other.name, &entry.name))
}

/// An entry with what the person needs to see about it.
#[derive(Debug, Clone, Serialize)]
pub struct ServerView {
    #[serde(flatten)]
    pub entry: ServerEntry,
    /// The folder of its credentials in the config dir.
    pub key: String,
    pub status: SignInStatus,
    /// The status in words, with the time left ("signed in · expires in 47 min").
    pub summary: String,
    /// The hosts whose files have this server's entry, written by this app.
    pub installed_in: Vec<HostKind>,
    /// The sign-in this app is running for it.
    pub signing_in: Option<Progress>,
    /// How the last sign-in from this app ended.
    pub last_sign_in: Option<LastSignIn>,
}

impl ServerView {
    /// The state in one or two words, which stay true until the state itself changes (the tray
    /// menu shows these, so that a clock does not rebuild it).
    pub fn state_words(&self) -> &'static str {
        if self.signing_in.is_some() {
            return "signing in…";
        }
        match &self.status {
            SignInStatus::SignedIn { .. } => "signed in",
            SignInStatus::NeedsSignIn { pending: Some(_), .. } => "a client is waiting",
            SignInStatus::NeedsSignIn { pending: None, expired: true } => "sign-in expired",
            SignInStatus::NeedsSignIn { pending: None, expired: false } => "needs sign-in",
            SignInStatus::Error { .. } => "error",
        }
    }

    pub fn of(entry: ServerEntry, config_dir: &Path) -> Self {
        let (key, status) = match entry.engine_config(config_dir) {
            Ok(config) => {
                let key = config.server_key();
                let status = SignInStatus::read(&Store::new(config_dir).server(&key));
                (key.as_str().to_string(), status)
            }
            Err(message) => (String::new(), SignInStatus::Error { message }),
        };
        let summary = status.describe(unix_now());
        Self { entry, key, status, summary, installed_in: Vec::new(), signing_in: None, last_sign_in: None }
    }
}

/// Loads the entries from the app's store file.
pub fn load<R: Runtime>(app: &tauri::AppHandle<R>, store_file: &Path) -> Result<Vec<ServerEntry>, String> {
    let store = app.store(store_file).map_err(|e| e.to_string())?;
    match store.get(SERVERS_KEY) {
        None => Ok(Vec::new()),
        Some(value) => serde_json::from_value(value).map_err(|e| format!("the saved server list is unreadable: {e}")),
    }
}

/// Saves the entries to the app's store file.
pub fn save<R: Runtime>(app: &tauri::AppHandle<R>, store_file: &Path, entries: &[ServerEntry]) -> Result<(), String> {
    let store = app.store(store_file).map_err(|e| e.to_string())?;
    store.set(SERVERS_KEY, serde_json::to_value(entries).map_err(|e| e.to_string())?);
    store.save().map_err(|e| e.to_string())
}

/// A new id for an entry.
pub fn new_id() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("s{nanos:x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> ServerEntry {
        ServerEntry {
            id: "a".into(),
            name: "Example".into(),
            url: "https://mcp.example.com/mcp".into(),
            headers: vec!["X-Key: ${API_KEY}".into(), " ".into()],
            resource: Some("https://mcp.example.com/mcp".into()),
            static_client_info: None,
            sign_in_method: SignInMethod::Browser,
            allow_http: false,
        }
    }

    #[test]
    fn sidecar_args_follow_the_flags() {
        let args = entry().sidecar_args(Some(Path::new("/cfg")));
        assert_eq!(
            args,
            vec![
                "https://mcp.example.com/mcp",
                "--header",
                "X-Key: ${API_KEY}",
                "--resource",
                "https://mcp.example.com/mcp",
                "--config-dir",
                "/cfg"
            ]
        );
    }

    #[test]
    fn names_are_unique_whatever_their_case() {
        let mut entries = vec![entry()];
        let mut second = entry();
        second.id = "b".into();
        second.name = " example ".into();
        assert_eq!(name_taken(&entries, &second).map(|e| e.id.as_str()), Some("a"));
        second.name = "Example 2".into();
        assert!(name_taken(&entries, &second).is_none());
        entries.push(second.clone());
        // An entry keeps its own name when edited.
        assert!(name_taken(&entries, &entries[0].clone()).is_none());
        assert!(same_name("Ünïcode", "üNÏCODE"));
    }

    #[test]
    fn entries_are_validated_by_the_engine_parser() {
        let dir = Path::new("/tmp/mcp-remote-tray-validate");
        assert!(entry().engine_config(dir).is_ok());
        let mut plain_http = entry();
        plain_http.url = "http://127.0.0.1:9/mcp".into();
        assert!(plain_http.engine_config(dir).unwrap_err().contains("--allow-http"));
        plain_http.allow_http = true;
        assert!(plain_http.engine_config(dir).is_ok());
        let mut reserved = entry();
        reserved.headers = vec!["Mcp-Session-Id: x".into()];
        assert!(reserved.engine_config(dir).unwrap_err().contains("reserved"));
        let mut unnamed = entry();
        unnamed.name = " ".into();
        assert!(unnamed.engine_config(dir).is_err());
    }
}
