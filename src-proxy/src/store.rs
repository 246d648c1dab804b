//! The config-dir contract, shared by the sidecar and the tray app: where credentials live, their
//! formats, and how processes share them safely.
//!
//! ```text
//! <root>/<key>/tokens.json     access + refresh token, absolute expiry, scope
//! <root>/<key>/client.json     registered clients, keyed by the issuer that issued them
//! <root>/<key>/metadata.json   discovered resource and authorization-server metadata
//! <root>/<key>/signin.json     a sign-in waiting for the user (while the tray app runs)
//! <root>/locks/<key>.lock      the per-server lock (outside the folder, so a reset can always delete it)
//! <root>/tray.lock             held by the running tray app, so sidecars can tell it is there
//! ```
//! `<key>` is the first 16 hex characters of sha256 of the server URL as given on the command line
//! (the reference design's rule, so existing folders keep working); with `--resource`, of
//! `<url>#resource=<resource>`, so two entries that share a URL but not a resource never share
//! credentials. Every folder and file is made private to the user on every write (Unix: 0700 and
//! 0600; Windows: an owner-only ACL), and a folder another user could write to is refused
//! ([`private`] has the rule). Writes are atomic
//! (temp file in the same folder, fsync, rename), so a crash leaves the old file or the new one.
//! Files carry `"version": 1` and are read leniently: unknown fields are kept and written back.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod private;

pub const FORMAT_VERSION: u32 = 1;
const TOKENS_FILE: &str = "tokens.json";
const CLIENT_FILE: &str = "client.json";
const METADATA_FILE: &str = "metadata.json";
const SIGN_IN_FILE: &str = "signin.json";
const TRANSPORT_FILE: &str = "transport.json";
const TRAY_LOCK: &str = "tray.lock";
const LOCKS_DIR: &str = "locks";

/// Why the store could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is not valid JSON of the expected shape: {source}")]
    Format {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// Credentials are never read through a symbolic link: it may point anywhere.
    #[error("{path} is a symbolic link; refusing to read credentials through it (remove it to sign in again)")]
    Symlink { path: PathBuf },
    /// A folder of the store that another user could write to, and that is not ours to make
    /// private: they could plant, swap or read what we keep there.
    #[error("{path} is not private: {writers}, and it is not yours to make private; refusing to keep credentials there (choose a folder of your own with --config-dir or MCP_REMOTE_CONFIG_DIR, or have its owner make it private to you)")]
    OpenToOthers { path: PathBuf, writers: String },
}

fn io_error<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io { action, path: path.to_path_buf(), source }
}

/// The folder name of one server entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerKey(String);

impl ServerKey {
    /// The key of `server_url` (exactly as the user wrote it), told apart by `resource` if given.
    pub fn new(server_url: &str, resource: Option<&str>) -> Self {
        let digest = match resource {
            None => Sha256::digest(server_url.as_bytes()),
            Some(resource) => Sha256::digest(format!("{server_url}#resource={resource}").as_bytes()),
        };
        Self(digest.iter().take(8).map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `tokens.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tokens {
    #[serde(default = "format_version")]
    pub version: u32,
    pub access_token: String,
    #[serde(default = "bearer")]
    pub token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Absolute expiry, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The authorization server that issued them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The resource (RFC 8707) they were issued for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// When a person signed in for them (seconds since the Unix epoch); absent after a refresh
    /// or a machine sign-in. A server that refuses such a token at once gets no new sign-in for
    /// a while ([`crate::auth::SIGN_IN_COOLDOWN`]), in any process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_in_at: Option<u64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn format_version() -> u32 {
    FORMAT_VERSION
}

fn bearer() -> String {
    "Bearer".to_string()
}

impl Tokens {
    /// True when the access token expires within `margin` (or has no known expiry: false).
    pub fn expires_within(&self, margin: Duration) -> bool {
        self.expires_at.is_some_and(|at| at <= unix_now().saturating_add(margin.as_secs()))
    }
}

/// One registered client in `client.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Client {
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// How the client authenticates at the token endpoint: `client_secret_basic`,
    /// `client_secret_post` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `client.json`: clients keyed by issuer, so a server that moves to another authorization
/// server gets a registration of its own there; and the issuer each pre-registered client was
/// first used with, which binds it from then on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Clients {
    #[serde(default = "format_version")]
    pub version: u32,
    #[serde(default)]
    pub clients: Map<String, Value>,
    /// `client_id` of a `--static-oauth-client-info` client → the issuer it is bound to.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub static_issuers: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Clients {
    pub fn get(&self, issuer: &str) -> Option<Client> {
        serde_json::from_value(self.clients.get(issuer)?.clone()).ok()
    }

    pub fn set(&mut self, issuer: &str, client: &Client) {
        if let Ok(value) = serde_json::to_value(client) {
            self.clients.insert(issuer.to_string(), value);
        }
    }

    pub fn remove(&mut self, issuer: &str) {
        self.clients.remove(issuer);
    }

    /// The issuer the pre-registered client `client_id` is bound to, if it has been used.
    pub fn static_issuer(&self, client_id: &str) -> Option<&str> {
        self.static_issuers.get(client_id)?.as_str()
    }

    pub fn bind_static(&mut self, client_id: &str, issuer: &str) {
        self.static_issuers.insert(client_id.to_string(), Value::String(issuer.to_string()));
    }
}

/// `metadata.json`: what discovery found, for the tray app to show and for faster restarts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Metadata {
    #[serde(default = "format_version")]
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<Value>,
    /// The server URL the folder is for (so `status` can name it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_url: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `transport.json`: which protocol era and transport the server was last found to speak, so a
/// restart need not probe again. Re-checked whenever the assumption fails.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KnownTransport {
    #[serde(default = "format_version")]
    pub version: u32,
    /// `"2026-07-28"`, `"streamable-http"` or `"http+sse"`.
    pub transport: String,
    /// When it was found, in seconds since the Unix epoch.
    pub found: u64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `signin.json`: a sidecar waiting for the user to finish signing in. The redirect goes to that
/// sidecar's own listener, so its PKCE verifier never leaves the process that made it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PendingSignIn {
    #[serde(default = "format_version")]
    pub version: u32,
    pub pid: u32,
    /// The authorization URL to open.
    pub url: String,
    /// Seconds since the Unix epoch.
    pub started: u64,
    /// After this the sidecar has given up.
    pub deadline: u64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Held by the tray app for as long as it runs.
#[derive(Debug)]
pub struct TrayLock {
    _file: File,
}

/// The credential store under one root directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Claims the tray app's presence; `Ok(None)` when another tray app holds it.
    pub fn hold_tray_lock(&self) -> Result<Option<TrayLock>, StoreError> {
        let path = self.root.join(TRAY_LOCK);
        let file = open_lock_file(&self.root, &path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(TrayLock { _file: file })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(io_error("lock", &path)(e)),
        }
    }

    /// True while a tray app runs for this root: sign-ins are then shown there, not in a new tab.
    pub fn tray_running(&self) -> bool {
        let Ok(file) = File::options().write(true).open(self.root.join(TRAY_LOCK)) else {
            return false;
        };
        matches!(file.try_lock(), Err(fs::TryLockError::WouldBlock))
    }

    /// Every server folder in the store (named by a [`ServerKey`]), sorted by name.
    pub fn servers(&self) -> Result<Vec<(String, ServerDir)>, StoreError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("list", &self.root)(e)),
        };
        let mut found: Vec<(String, ServerDir)> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| name.len() == 16 && name.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(|name| {
                let dir = self.server(&ServerKey(name.clone()));
                (name, dir)
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(found)
    }

    pub fn server(&self, key: &ServerKey) -> ServerDir {
        ServerDir {
            root: self.root.clone(),
            dir: self.root.join(key.as_str()),
            lock: self.root.join(LOCKS_DIR).join(format!("{}.lock", key.as_str())),
        }
    }
}

/// One server's folder.
#[derive(Debug, Clone)]
pub struct ServerDir {
    root: PathBuf,
    dir: PathBuf,
    lock: PathBuf,
}

/// Holds the server's lock until dropped.
#[derive(Debug)]
pub struct ServerLock {
    _file: File,
}

impl ServerDir {
    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn tokens(&self) -> Result<Option<Tokens>, StoreError> {
        read_json(&self.dir.join(TOKENS_FILE))
    }

    pub fn save_tokens(&self, tokens: &Tokens) -> Result<(), StoreError> {
        self.write_json(TOKENS_FILE, tokens)
    }

    pub fn clients(&self) -> Result<Clients, StoreError> {
        Ok(read_json(&self.dir.join(CLIENT_FILE))?.unwrap_or_default())
    }

    pub fn save_clients(&self, clients: &Clients) -> Result<(), StoreError> {
        self.write_json(CLIENT_FILE, clients)
    }

    pub fn metadata(&self) -> Result<Metadata, StoreError> {
        Ok(read_json(&self.dir.join(METADATA_FILE))?.unwrap_or_default())
    }

    pub fn save_metadata(&self, metadata: &Metadata) -> Result<(), StoreError> {
        self.write_json(METADATA_FILE, metadata)
    }

    pub fn known_transport(&self) -> Option<KnownTransport> {
        read_json(&self.dir.join(TRANSPORT_FILE)).ok()?
    }

    pub fn save_known_transport(&self, known: &KnownTransport) -> Result<(), StoreError> {
        self.write_json(TRANSPORT_FILE, known)
    }

    /// The sign-in a sidecar is waiting on, if any and not past its deadline.
    pub fn pending_sign_in(&self) -> Option<PendingSignIn> {
        let pending: PendingSignIn = read_json(&self.dir.join(SIGN_IN_FILE)).ok()??;
        (pending.deadline > unix_now()).then_some(pending)
    }

    pub fn publish_sign_in(&self, pending: &PendingSignIn) -> Result<(), StoreError> {
        self.write_json(SIGN_IN_FILE, pending)
    }

    pub fn clear_sign_in(&self) {
        let _ = fs::remove_file(self.dir.join(SIGN_IN_FILE));
    }

    /// Deletes the server's folder (its tokens, clients and metadata): a reset.
    pub fn reset(&self) -> Result<(), StoreError> {
        match fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error("remove", &self.dir)(e)),
            _ => Ok(()),
        }
    }

    /// Blocks until this process holds the server's exclusive lock (an OS advisory lock on a
    /// file: `flock` on Unix, `LockFileEx` on Windows; released when the holder exits, even by a
    /// crash). Call it off the async runtime.
    pub fn lock(&self) -> Result<ServerLock, StoreError> {
        let file = open_lock_file(&self.root, &self.lock)?;
        file.lock().map_err(io_error("lock", &self.lock))?;
        Ok(ServerLock { _file: file })
    }

    fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<(), StoreError> {
        create_private_dirs(&self.root, &self.dir)?;
        let mut bytes = serde_json::to_vec_pretty(value)
            .map_err(|source| StoreError::Format { path: self.dir.join(name), source })?;
        bytes.push(b'\n');
        write_atomic(&self.dir.join(name), &bytes)
    }
}

/// Opens (creating, private) a lock file under `root`; its folders are created private too.
fn open_lock_file(root: &Path, path: &Path) -> Result<File, StoreError> {
    create_private_dirs(root, path.parent().expect("lock path has a parent"))?;
    let file =
        OpenOptions::new().create(true).truncate(false).write(true).open(path).map_err(io_error("open", path))?;
    private::make_file_private(path)?;
    Ok(file)
}

/// Reads a file of a server's folder. The folder and the file must not be symbolic links, and
/// are made private again if something widened their permissions.
fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, StoreError> {
    for checked in [path.parent().expect("file path has a parent"), path] {
        match fs::symlink_metadata(checked) {
            Ok(found) if found.file_type().is_symlink() => return Err(StoreError::Symlink { path: checked.into() }),
            Ok(found) => private::keep_private(checked, &found)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("inspect", checked)(e)),
        }
    }
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("read", path)(e)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|source| StoreError::Format { path: path.to_path_buf(), source })
}

/// Creates `dir` (and its parents) and makes it private to the user, even if it existed, by the
/// store's rule ([`private`]): a folder another user controls is refused. For the store's own
/// folders and the app's other private files (the tray app's server list).
pub fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    private::make_dir_private(dir)
}

/// Makes an existing file or folder private again when it lets others in (with a warning), as
/// every read of the store does; a folder another user controls is refused.
pub fn keep_private(path: &Path) -> Result<(), StoreError> {
    let found = fs::metadata(path).map_err(io_error("inspect", path))?;
    private::keep_private(path, &found)
}

/// Creates `root` and `dir` (the same folder, or one inside it) and makes each private to the
/// user, even if they existed; a `dir` that is a symbolic link is refused (a root that is one is
/// followed: people link their config folders).
fn create_private_dirs(root: &Path, dir: &Path) -> Result<(), StoreError> {
    create_private_dir(root)?;
    if dir == root {
        return Ok(());
    }
    if fs::symlink_metadata(dir).is_ok_and(|found| found.file_type().is_symlink()) {
        return Err(StoreError::Symlink { path: dir.into() });
    }
    fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    private::make_dir_private(dir)
}

/// Writes `bytes` to `path` so that a reader (or a crash) sees the old file or the new one,
/// never a mix: a private temp file (0600, or owner-only) in the same folder, fsync, rename over, fsync the
/// folder. The folder must exist. The tray app writes MCP hosts' config files with it too.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().expect("file path has a parent");
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), unique_suffix()));
    let result = (|| {
        let mut file = private::create_new_file(&temp)?;
        file.write_all(bytes).map_err(io_error("write", &temp))?;
        file.sync_all().map_err(io_error("sync", &temp))?;
        drop(file);
        private::make_file_private(&temp)?;
        fs::rename(&temp, path).map_err(io_error("replace", path))?;
        #[cfg(unix)]
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

fn unique_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos() as u64);
    (COUNTER.fetch_add(1, Ordering::Relaxed) << 32) ^ nanos
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_root(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mcp-remote-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn tokens(access: &str) -> Tokens {
        Tokens {
            version: FORMAT_VERSION,
            access_token: access.into(),
            token_type: "Bearer".into(),
            refresh_token: Some("r".into()),
            expires_at: Some(unix_now() + 3600),
            scope: Some("mcp".into()),
            issuer: Some("https://as.example".into()),
            resource: Some("https://mcp.example/mcp".into()),
            signed_in_at: None,
            extra: Map::new(),
        }
    }

    #[test]
    fn keys_follow_the_reference_rule_and_tell_resources_apart() {
        // sha256("https://example.com/mcp") starts with these 16 hex characters.
        let expected: String =
            Sha256::digest(b"https://example.com/mcp").iter().take(8).map(|b| format!("{b:02x}")).collect();
        let key = ServerKey::new("https://example.com/mcp", None);
        assert_eq!(key.as_str(), expected);
        assert_eq!(key.as_str().len(), 16);
        assert_ne!(key, ServerKey::new("https://example.com/mcp", Some("https://example.com/")));
        assert_ne!(key, ServerKey::new("https://example.com/mcp/", None));
    }

    #[test]
    fn round_trip_with_private_permissions() {
        let root = temp_root("perm");
        let server = Store::new(&root).server(&ServerKey::new("https://e.com/mcp", None));
        assert_eq!(server.tokens().unwrap(), None);
        server.save_tokens(&tokens("a1")).unwrap();
        assert_eq!(server.tokens().unwrap().unwrap().access_token, "a1");
        server.save_tokens(&tokens("a2")).unwrap();
        assert_eq!(server.tokens().unwrap().unwrap().access_token, "a2");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(server.path()), 0o700);
            assert_eq!(mode(&server.path().join(TOKENS_FILE)), 0o600);
        }
        let leftovers: Vec<_> = fs::read_dir(server.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        server.reset().unwrap();
        assert!(!server.path().exists());
        server.reset().unwrap();
        fs::remove_dir_all(root).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_refused_and_open_permissions_are_closed_again() {
        use std::os::unix::fs::PermissionsExt;
        let root = temp_root("guard");
        let store = Store::new(&root);
        let server = store.server(&ServerKey::new("https://e.com/mcp", None));
        server.save_tokens(&tokens("a1")).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let file = server.path().join(TOKENS_FILE);
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(server.path(), fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(server.tokens().unwrap().unwrap().access_token, "a1");
        assert_eq!((mode(server.path()), mode(&file)), (0o700, 0o600), "permissions were not closed again");

        // A token file that is a link to a file elsewhere is not read.
        let elsewhere = root.join("elsewhere.json");
        fs::rename(&file, &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
        assert!(matches!(server.tokens(), Err(StoreError::Symlink { .. })), "read through a linked file");

        // Nor is a server folder that is a link, and nothing is written into it.
        let other = store.server(&ServerKey::new("https://other.example/mcp", None));
        let target = root.join("target-dir");
        fs::create_dir(&target).unwrap();
        std::os::unix::fs::symlink(&target, other.path()).unwrap();
        fs::write(target.join(TOKENS_FILE), serde_json::to_vec(&tokens("planted")).unwrap()).unwrap();
        assert!(matches!(other.tokens(), Err(StoreError::Symlink { .. })), "read through a linked folder");
        assert!(matches!(other.save_tokens(&tokens("a2")), Err(StoreError::Symlink { .. })));
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn unknown_fields_survive_a_rewrite() {
        let root = temp_root("lenient");
        let server = Store::new(&root).server(&ServerKey::new("https://e.com/mcp", None));
        fs::create_dir_all(server.path()).unwrap();
        fs::write(
            server.path().join(CLIENT_FILE),
            r#"{"version":2,"clients":{"https://as":{"client_id":"c1","future":true}},"note":"kept"}"#,
        )
        .unwrap();
        let mut clients = server.clients().unwrap();
        assert_eq!(clients.get("https://as").unwrap().client_id, "c1");
        clients.set(
            "https://other",
            &Client {
                client_id: "c2".into(),
                client_secret: None,
                token_endpoint_auth_method: Some("none".into()),
                redirect_uris: vec![],
                extra: Map::new(),
            },
        );
        server.save_clients(&clients).unwrap();
        let text = fs::read_to_string(server.path().join(CLIENT_FILE)).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["note"], "kept");
        assert_eq!(v["version"], 2, "a newer file's version is not downgraded");
        assert_eq!(v["clients"]["https://as"]["future"], true);
        assert_eq!(v["clients"]["https://other"]["client_id"], "c2");
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn an_unreadable_file_is_an_error_not_a_silent_empty() {
        let root = temp_root("corrupt");
        let server = Store::new(&root).server(&ServerKey::new("https://e.com/mcp", None));
        fs::create_dir_all(server.path()).unwrap();
        fs::write(server.path().join(TOKENS_FILE), "{half").unwrap();
        assert!(matches!(server.tokens(), Err(StoreError::Format { .. })));
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn the_lock_excludes_a_second_holder() {
        let root = temp_root("lock");
        let server = Store::new(&root).server(&ServerKey::new("https://e.com/mcp", None));
        let held = server.lock().unwrap();
        let probe = File::options().write(true).open(&server.lock).unwrap();
        assert!(probe.try_lock().is_err(), "a second handle got the lock");
        drop(held);
        assert!(probe.try_lock().is_ok());
        drop(probe); // Windows removes an open file only once it is closed.
        server.reset().unwrap();
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn tray_presence_is_seen_through_its_lock() {
        let root = temp_root("tray");
        let store = Store::new(&root);
        assert!(!store.tray_running());
        let held = store.hold_tray_lock().unwrap().expect("first tray");
        assert!(store.tray_running());
        assert!(store.hold_tray_lock().unwrap().is_none(), "a second tray got the lock");
        drop(held);
        assert!(!store.tray_running());
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn pending_sign_ins_expire_and_clear() {
        let root = temp_root("pending");
        let server = Store::new(&root).server(&ServerKey::new("https://e.com/mcp", None));
        let mut pending = PendingSignIn {
            version: FORMAT_VERSION,
            pid: 7,
            url: "https://as/authorize?x=1".into(),
            started: unix_now(),
            deadline: unix_now() + 60,
            extra: Map::new(),
        };
        server.publish_sign_in(&pending).unwrap();
        assert_eq!(server.pending_sign_in(), Some(pending.clone()));
        pending.deadline = unix_now() - 1;
        server.publish_sign_in(&pending).unwrap();
        assert_eq!(server.pending_sign_in(), None, "a sign-in past its deadline is not pending");
        server.clear_sign_in();
        assert!(!server.path().join(SIGN_IN_FILE).exists());
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn expiry_margin() {
        let mut t = tokens("a");
        t.expires_at = Some(unix_now() + 30);
        assert!(t.expires_within(Duration::from_secs(60)));
        assert!(!t.expires_within(Duration::from_secs(10)));
        t.expires_at = None;
        assert!(!t.expires_within(Duration::from_secs(60)));
    }
}
