//! The servers a person has added: their entries, kept in the server list file; the sidecar
//! launch each one stands for; and what the window and the tray show about it.
//!
//! The list holds secrets (headers, a pre-registered client's secret), so it is kept as the
//! engine keeps credentials, by the engine's own rule: 0600 in a 0700 folder (an owner-only ACL on
//! Windows), written atomically (`mcp_remote::store::create_private_dir`, `keep_private`,
//! `write_atomic`).
//! Its format is the one `tauri-plugin-store` wrote before (`{"servers": [...]}`, in the same
//! place), read leniently: unknown keys and fields are kept, and a list left readable by others
//! is made private when it is first read.
//!
//! An entry is validated by turning it into the sidecar's own arguments and parsing those with
//! the engine's command-line parser, so the tray accepts exactly what the sidecar will. Secrets
//! never go on that command line: a [`Launch`] carries them in the environment, named by `${VAR}`.

use crate::hosts::HostKind;
use crate::signin::{LastSignIn, Progress};
use mcp_remote::cli::Config;
use mcp_remote::status::SignInStatus;
use mcp_remote::store::{unix_now, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The key of the entries in the list file.
const SERVERS_KEY: &str = "servers";
/// The environment variable that carries a pre-registered client's secret.
pub const CLIENT_SECRET_ENV: &str = "MCP_REMOTE_CLIENT_SECRET";
/// The prefix of the environment variables that carry header values.
pub const HEADER_ENV_PREFIX: &str = "MCP_REMOTE_HEADER_";

/// How the sign-in page is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    /// A window of this app (an embedded browser: its title shows the page's origin).
    Webview,
    /// The system's browser, where the person's password manager and address bar are (RFC 8252 §8.12).
    #[default]
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
    /// Fields this version does not know (a newer one wrote them): kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// How the sidecar is run for an entry: arguments with no secret in them, and the environment
/// that carries the secrets they name as `${VAR}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Launch {
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
}

impl Launch {
    /// Puts `value` in the environment under `base` (`base_2`, … when taken) and returns its
    /// `${VAR}` reference.
    fn secret(&mut self, base: &str, value: &str) -> String {
        let mut name = base.to_string();
        let mut n = 1;
        while self.env.contains_key(&name) {
            n += 1;
            name = format!("{base}_{n}");
        }
        self.env.insert(name.clone(), value.to_string());
        format!("${{{name}}}")
    }
}

/// `MCP_REMOTE_HEADER_` and the header's name in capitals, `-` and the like as `_`.
fn header_env_name(name: &str) -> String {
    let name: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("{HEADER_ENV_PREFIX}{name}")
}

impl ServerEntry {
    /// The sidecar's launch for this entry: its arguments (after the program name) and the
    /// environment they need. A header's value goes into the environment and the argument names
    /// it (`Authorization: ${MCP_REMOTE_HEADER_AUTHORIZATION}`), and so does a pre-registered
    /// client's secret (`"client_secret": "${MCP_REMOTE_CLIENT_SECRET}"`); the sidecar expands
    /// both. A value the person wrote with a `${VAR}` of their own is left as they wrote it.
    pub fn launch(&self, config_dir: Option<&Path>) -> Launch {
        let mut launch = Launch { args: vec![self.url.trim().to_string()], env: BTreeMap::new() };
        for header in self.headers.iter().map(|h| h.trim()).filter(|h| !h.is_empty()) {
            let header = match header.split_once(':') {
                Some((name, value)) if !value.contains("${") && !value.trim().is_empty() => {
                    let name = name.trim();
                    format!("{name}: {}", launch.secret(&header_env_name(name), value.trim()))
                }
                // Malformed or the person's own reference: the engine's parser judges it as written.
                _ => header.to_string(),
            };
            launch.args.extend(["--header".to_string(), header]);
        }
        if let Some(resource) = self.resource.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            launch.args.extend(["--resource".to_string(), resource.to_string()]);
        }
        if let Some(info) = self.static_client_info.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
            let info = match serde_json::from_str::<Value>(info) {
                Ok(Value::Object(mut object)) => {
                    if let Some(Value::String(secret)) = object.get("client_secret").cloned() {
                        if !secret.contains("${") {
                            object.insert(
                                "client_secret".into(),
                                Value::String(launch.secret(CLIENT_SECRET_ENV, &secret)),
                            );
                        }
                    }
                    Value::Object(object).to_string()
                }
                _ => info.to_string(),
            };
            launch.args.extend(["--static-oauth-client-info".to_string(), info]);
        }
        if self.allow_http {
            launch.args.push("--allow-http".to_string());
        }
        if let Some(dir) = config_dir {
            launch.args.extend(["--config-dir".to_string(), dir.display().to_string()]);
        }
        launch
    }

    /// The engine's configuration for this entry: the same parsing the sidecar does, of the same
    /// launch. A `${VAR}` of the person's own is left to the sidecar's environment, so it is not
    /// expanded here.
    pub fn engine_config(&self, config_dir: &Path) -> Result<Config, String> {
        if self.name.trim().is_empty() {
            return Err("give the server a name".into());
        }
        let launch = self.launch(Some(config_dir));
        let argv = std::iter::once("mcp-remote".to_string()).chain(launch.args);
        let env = |name: &str| launch.env.get(name).cloned().or_else(|| Some(format!("${{{name}}}")));
        Config::from_args(argv, &env).map_err(|e| e.to_string())
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

/// Why the server list could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("the saved server list ({path}) is unreadable: {reason}; it was left as it is")]
    Unreadable { path: PathBuf, reason: String },
    #[error("cannot {action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
    #[error("cannot write the server list: {0}")]
    Write(#[from] mcp_remote::store::StoreError),
    /// The list's file or folder could not be made private (or belongs to another user).
    #[error("the server list cannot be kept private: {0}")]
    Private(mcp_remote::store::StoreError),
}

/// The list file as it is: its top-level object (`None`: no file yet).
fn read_file(path: &Path) -> Result<Option<Map<String, Value>>, ListError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ListError::Io { action: "read", path: path.into(), source }),
    };
    let unreadable = |reason: String| ListError::Unreadable { path: path.into(), reason };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(unreadable("not a JSON object".into())),
        Err(e) => Err(unreadable(e.to_string())),
    }
}

/// Loads the entries; a list others could read (as `tauri-plugin-store` left it: 0644 in a 0755
/// folder) is made private first.
pub fn load(path: &Path) -> Result<Vec<ServerEntry>, ListError> {
    let Some(mut file) = read_file(path)? else {
        return Ok(Vec::new());
    };
    mcp_remote::store::keep_private(path).map_err(ListError::Private)?;
    if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
        mcp_remote::store::keep_private(folder).map_err(ListError::Private)?;
    }
    match file.remove(SERVERS_KEY) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(value) => serde_json::from_value(value)
            .map_err(|e| ListError::Unreadable { path: path.into(), reason: e.to_string() }),
    }
}

/// Saves the entries, keeping the file's other keys: atomically, 0600, in a 0700 folder.
pub fn save(path: &Path, entries: &[ServerEntry]) -> Result<(), ListError> {
    let folder = path.parent().filter(|f| !f.as_os_str().is_empty()).unwrap_or(Path::new("."));
    mcp_remote::store::create_private_dir(folder).map_err(ListError::Private)?;
    let mut file = read_file(path)?.unwrap_or_default();
    let entries = serde_json::to_value(entries).expect("entries serialise");
    file.insert(SERVERS_KEY.into(), entries);
    let mut text = serde_json::to_vec_pretty(&Value::Object(file)).expect("JSON values serialise");
    text.push(b'\n');
    mcp_remote::store::write_atomic(&folder.join(path.file_name().unwrap_or_default()), &text)?;
    Ok(())
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
            extra: Map::new(),
        }
    }

    #[test]
    fn launch_args_follow_the_flags() {
        let launch = entry().launch(Some(Path::new("/cfg")));
        assert_eq!(
            launch.args,
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
        assert!(launch.env.is_empty(), "the person's own ${{API_KEY}} is theirs to set");
    }

    #[test]
    fn secrets_go_in_the_environment_and_the_arguments_name_them() {
        let mut secretive = entry();
        secretive.headers = vec![
            "Authorization: Bearer sk-live-1".into(),
            "X-Api-Key:k-2".into(),
            "x-api-key: k-3".into(),
            "X-Team: ${TEAM}".into(),
        ];
        secretive.static_client_info = Some(r#"{"client_id":"app","client_secret":"cs-4"}"#.into());
        let launch = secretive.launch(None);
        let args = launch.args.join(" ");
        for secret in ["sk-live-1", "k-2", "k-3", "cs-4"] {
            assert!(!args.contains(secret), "{secret} is on the command line: {args}");
        }
        assert!(args.contains("--header Authorization: ${MCP_REMOTE_HEADER_AUTHORIZATION}"), "{args}");
        assert!(args.contains("--header X-Api-Key: ${MCP_REMOTE_HEADER_X_API_KEY} "), "{args}");
        assert!(args.contains("--header x-api-key: ${MCP_REMOTE_HEADER_X_API_KEY_2} "), "{args}");
        assert!(args.contains("--header X-Team: ${TEAM}"), "{args}");
        assert!(args.contains(r#"{"client_id":"app","client_secret":"${MCP_REMOTE_CLIENT_SECRET}"}"#), "{args}");
        let env: Vec<(&str, &str)> = launch.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            env,
            [
                ("MCP_REMOTE_CLIENT_SECRET", "cs-4"),
                ("MCP_REMOTE_HEADER_AUTHORIZATION", "Bearer sk-live-1"),
                ("MCP_REMOTE_HEADER_X_API_KEY", "k-2"),
                ("MCP_REMOTE_HEADER_X_API_KEY_2", "k-3"),
            ]
        );
        // The sidecar's own parser, given that environment, gets the values back.
        let argv = std::iter::once("mcp-remote".to_string()).chain(launch.args.clone());
        let env = |name: &str| launch.env.get(name).cloned().or_else(|| (name == "TEAM").then(|| "blue".into()));
        let config = Config::from_args(argv, &env).unwrap();
        assert_eq!(config.headers["authorization"], "Bearer sk-live-1");
        assert_eq!(config.headers.get_all("x-api-key").iter().collect::<Vec<_>>(), ["k-2", "k-3"]);
        assert_eq!(config.headers["x-team"], "blue");
        assert_eq!(config.static_client_info.unwrap()["client_secret"], "cs-4");
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

    #[test]
    fn a_malformed_header_is_refused_without_repeating_its_value() {
        let dir = Path::new("/tmp/mcp-remote-tray-validate");
        for header in
            ["Bearer sk-live-5678", "Authorization Bearer sk-live-5678: x", "Authorization: sk-live-5678\u{7}"]
        {
            let mut malformed = entry();
            malformed.headers = vec![header.into()];
            let error = malformed.engine_config(dir).unwrap_err();
            assert!(error.contains("--header"), "{error}");
            assert!(!error.contains("5678"), "the error repeats the header's value: {error}");
        }
    }
}
