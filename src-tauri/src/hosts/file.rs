//! One host's config file, changed safely: parsed first (a file that is not a JSON object is
//! refused and left as it was), merged (other servers and unknown keys kept), backed up to one
//! `<file>.mcp-remote-backup` before each change, and written with the engine's atomic write.
//! An entry is ours when it runs our sidecar; an entry of the same name that is not ours is
//! only replaced when the person said so.

use super::Host;
use serde::Serialize;
use serde_json::{Map, Value};
use std::fs;
use std::path::{Path, PathBuf};

/// Why a host's file was not changed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HostFileError {
    #[error("{path} is not valid JSON ({reason}); it was left untouched: fix it, or add the entry by hand with “Copy config”")]
    Unparsable { path: String, reason: String },
    #[error("{path}: \"{key}\" is not an object; the file was left untouched")]
    NotAnObject { path: String, key: &'static str },
    #[error("{host} already has a server named “{name}” that mcp-remote did not write")]
    Taken { host: &'static str, name: String },
    #[error("{0}")]
    Io(String),
}

/// What an install did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstallReport {
    pub host: &'static str,
    pub path: PathBuf,
    /// The copy of the file as it was, when there was one.
    pub backup: Option<PathBuf>,
    /// An entry of that name was there before and was replaced.
    pub replaced: bool,
    pub after_install: &'static str,
}

/// Whether an existing entry is one we wrote: it runs `sidecar`.
pub fn runs(entry: &Value, sidecar: &Path) -> bool {
    entry.get("command").and_then(Value::as_str) == Some(sidecar.display().to_string().as_str())
}

/// The file's top-level object; `None` when there is no file (or it is empty).
fn read(path: &Path) -> Result<Option<Map<String, Value>>, HostFileError> {
    let shown = || path.display().to_string();
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(HostFileError::Io(format!("cannot read {}: {e}", path.display()))),
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(HostFileError::Unparsable { path: shown(), reason: "not a JSON object".into() }),
        Err(e) => Err(HostFileError::Unparsable { path: shown(), reason: e.to_string() }),
    }
}

/// The entries of the host's servers key (`None`: no such key or no file).
fn servers<'a>(host: &Host, root: &'a Map<String, Value>) -> Result<Option<&'a Map<String, Value>>, HostFileError> {
    match root.get(host.kind.servers_key()) {
        None => Ok(None),
        Some(Value::Object(servers)) => Ok(Some(servers)),
        Some(_) => {
            Err(HostFileError::NotAnObject { path: host.path.display().to_string(), key: host.kind.servers_key() })
        }
    }
}

/// The names of the entries in this host's file that run `sidecar` (none when unreadable).
pub fn ours(host: &Host, sidecar: &Path) -> Vec<String> {
    let Ok(Some(root)) = read(&host.path) else {
        return Vec::new();
    };
    let Ok(Some(servers)) = servers(host, &root) else {
        return Vec::new();
    };
    servers.iter().filter(|(_, entry)| runs(entry, sidecar)).map(|(name, _)| name.clone()).collect()
}

/// Sets `name` to `entry` in the host's file. An entry of that name that does not run `sidecar`
/// is [`HostFileError::Taken`] unless `replace_others`.
pub fn install(
    host: &Host,
    name: &str,
    entry: Value,
    sidecar: &Path,
    replace_others: bool,
) -> Result<InstallReport, HostFileError> {
    let existing = read(&host.path)?;
    let mut root = existing.clone().unwrap_or_default();
    servers(host, &root)?;
    let servers = root.entry(host.kind.servers_key()).or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(servers) = servers else { unreachable!("checked above") };
    if let Some(old) = servers.get(name) {
        if !runs(old, sidecar) && !replace_others {
            return Err(HostFileError::Taken { host: host.name, name: name.to_string() });
        }
    }
    let replaced = servers.insert(name.to_string(), entry).is_some();
    let backup = write(host, existing.is_some(), &root)?;
    Ok(InstallReport {
        host: host.name,
        path: host.path.clone(),
        backup,
        replaced,
        after_install: host.kind.after_install(),
    })
}

/// Removes `name` from the host's file if it is ours; true when it did.
pub fn uninstall(host: &Host, name: &str, sidecar: &Path) -> Result<bool, HostFileError> {
    let Some(mut root) = read(&host.path)? else {
        return Ok(false);
    };
    let Some(Value::Object(servers)) = root.get_mut(host.kind.servers_key()) else {
        return Ok(false);
    };
    if !servers.get(name).is_some_and(|entry| runs(entry, sidecar)) {
        return Ok(false);
    }
    servers.remove(name);
    write(host, true, &root)?;
    Ok(true)
}

/// Backs the current file up (when there is one) and writes `root` in its place.
fn write(host: &Host, had_file: bool, root: &Map<String, Value>) -> Result<Option<PathBuf>, HostFileError> {
    let path = &host.path;
    let io =
        |what: &str, e: &dyn std::fmt::Display| HostFileError::Io(format!("cannot {what} {}: {e}", path.display()));
    let dir = path.parent().ok_or_else(|| HostFileError::Io(format!("{} has no folder", path.display())))?;
    fs::create_dir_all(dir).map_err(|e| io("create the folder of", &e))?;
    let backup = if had_file {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let backup = dir.join(format!("{name}.mcp-remote-backup"));
        fs::copy(path, &backup).map_err(|e| io("back up", &e))?;
        Some(backup)
    } else {
        None
    };
    let mut text = serde_json::to_string_pretty(root).map_err(|e| io("encode", &e))?;
    text.push('\n');
    mcp_remote::store::write_atomic(path, text.as_bytes()).map_err(|e| io("write", &e))?;
    Ok(backup)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hosts::HostKind;
    use serde_json::json;

    const SIDECAR: &str = "/opt/mcp-remote/mcp-remote";

    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("mcp-remote-hostfile-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            Self(dir)
        }

        fn host(&self, kind: HostKind) -> Host {
            Host { kind, name: kind.name(), path: self.0.join(kind.name()).join("config.json"), present: true }
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn read_back(host: &Host) -> Value {
        serde_json::from_str(&fs::read_to_string(&host.path).unwrap()).unwrap()
    }

    fn ours(kind: HostKind) -> Value {
        let launch =
            crate::servers::Launch { args: vec!["https://mcp.example.com/mcp".into()], env: Default::default() };
        kind.entry(Path::new(SIDECAR), &launch)
    }

    #[test]
    fn a_new_file_gets_the_entry_under_the_hosts_key_without_backup() {
        let scratch = Scratch::new("new");
        for kind in HostKind::ALL {
            let host = scratch.host(kind);
            let report = install(&host, "example", ours(kind), Path::new(SIDECAR), false).unwrap();
            assert_eq!((report.backup, report.replaced), (None, false));
            assert_eq!(read_back(&host)[kind.servers_key()]["example"]["command"], SIDECAR);
            assert_eq!(super::ours(&host, Path::new(SIDECAR)), vec!["example".to_string()]);
        }
    }

    #[test]
    fn other_servers_and_unknown_keys_are_kept_and_one_backup_is_made() {
        let scratch = Scratch::new("merge");
        let host = scratch.host(HostKind::ClaudeDesktop);
        fs::create_dir_all(host.path.parent().unwrap()).unwrap();
        let original = r#"{"globalShortcut":"Ctrl+Space","mcpServers":{"other":{"command":"npx","args":["x"],"env":{"K":"V"}}},"future":{"a":1}}"#;
        fs::write(&host.path, original).unwrap();
        let report = install(&host, "example", ours(HostKind::ClaudeDesktop), Path::new(SIDECAR), false).unwrap();
        let v = read_back(&host);
        assert_eq!(v["globalShortcut"], "Ctrl+Space");
        assert_eq!(v["future"]["a"], 1);
        assert_eq!(v["mcpServers"]["other"]["env"]["K"], "V");
        let backup = report.backup.expect("a backup");
        assert_eq!(fs::read_to_string(&backup).unwrap(), original);
        // A second install replaces our entry and keeps one backup, of the file just before.
        let before = fs::read_to_string(&host.path).unwrap();
        let again = install(&host, "example", ours(HostKind::ClaudeDesktop), Path::new(SIDECAR), false).unwrap();
        assert!(again.replaced);
        assert_eq!(fs::read_to_string(again.backup.unwrap()).unwrap(), before);
        let backups = fs::read_dir(host.path.parent().unwrap())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains("backup"));
        assert_eq!(backups.count(), 1);
    }

    #[test]
    fn an_entry_someone_else_wrote_is_replaced_only_when_asked() {
        let scratch = Scratch::new("taken");
        let host = scratch.host(HostKind::Cursor);
        fs::create_dir_all(host.path.parent().unwrap()).unwrap();
        let theirs = r#"{"mcpServers":{"example":{"command":"npx","args":["-y","mcp-remote","https://other"]}}}"#;
        fs::write(&host.path, theirs).unwrap();
        let refused = install(&host, "example", ours(HostKind::Cursor), Path::new(SIDECAR), false).unwrap_err();
        assert_eq!(refused, HostFileError::Taken { host: "Cursor", name: "example".into() });
        assert_eq!(fs::read_to_string(&host.path).unwrap(), theirs);
        assert!(!uninstall(&host, "example", Path::new(SIDECAR)).unwrap(), "removed an entry it did not write");
        let report = install(&host, "example", ours(HostKind::Cursor), Path::new(SIDECAR), true).unwrap();
        assert!(report.replaced);
        assert!(uninstall(&host, "example", Path::new(SIDECAR)).unwrap());
        assert_eq!(read_back(&host)["mcpServers"], json!({}));
    }

    #[test]
    fn a_file_that_cannot_be_parsed_is_refused_and_left_untouched() {
        let scratch = Scratch::new("broken");
        let host = scratch.host(HostKind::Zed);
        fs::create_dir_all(host.path.parent().unwrap()).unwrap();
        for broken in ["{ \"context_servers\": { oops ", "[1, 2]", "// a comment\n{}"] {
            fs::write(&host.path, broken).unwrap();
            let error = install(&host, "example", ours(HostKind::Zed), Path::new(SIDECAR), false).unwrap_err();
            assert!(matches!(error, HostFileError::Unparsable { .. }), "{error:?}");
            assert!(error.to_string().contains("left untouched"));
            assert_eq!(fs::read_to_string(&host.path).unwrap(), broken);
        }
        fs::write(&host.path, r#"{"context_servers": []}"#).unwrap();
        let error = install(&host, "example", ours(HostKind::Zed), Path::new(SIDECAR), false).unwrap_err();
        assert!(matches!(error, HostFileError::NotAnObject { .. }));
    }
}
