//! Installing a server into Claude Desktop's `claude_desktop_config.json`: found where Claude
//! Desktop keeps it on each OS, backed up before every write, merged (other servers and unknown
//! keys untouched), written atomically, and never touched when it cannot be parsed.

use serde::Serialize;
use serde_json::{json, Map, Value};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

const FILE_NAME: &str = "claude_desktop_config.json";

/// `~/Library/Application Support/Claude/`, `%APPDATA%\Claude\` or `~/.config/Claude/`, plus the
/// file name: the OS config dir is exactly where Claude Desktop looks on each of them.
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("Claude").join(FILE_NAME))
}

/// Why the file was not changed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InstallError {
    #[error("{path} is not valid JSON ({reason}); it was left untouched: fix or remove it, then install again")]
    Unparsable { path: String, reason: String },
    #[error("{path}: \"mcpServers\" is not an object; the file was left untouched")]
    NotAnObject { path: String },
    #[error("{0}")]
    Io(String),
}

/// What an install did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstallReport {
    pub path: PathBuf,
    /// The copy of the previous file, when there was one.
    pub backup: Option<PathBuf>,
    /// An entry of that name was there before and was replaced.
    pub replaced: bool,
}

/// The `mcpServers` entry for a server: the sidecar's absolute path and its arguments.
pub fn entry(command: &Path, args: &[String]) -> Value {
    json!({ "command": command.display().to_string(), "args": args })
}

/// `existing` (the file's text, if any) with `mcpServers.<name>` set to `entry`.
pub fn merged(existing: Option<&str>, path: &Path, name: &str, entry: Value) -> Result<(String, bool), InstallError> {
    let shown = path.display().to_string();
    let mut root = match existing.map(str::trim).filter(|t| !t.is_empty()) {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(InstallError::Unparsable { path: shown, reason: "not a JSON object".into() }),
            Err(e) => return Err(InstallError::Unparsable { path: shown, reason: e.to_string() }),
        },
    };
    let servers = root.entry("mcpServers").or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(servers) = servers else {
        return Err(InstallError::NotAnObject { path: shown });
    };
    let replaced = servers.insert(name.to_string(), entry).is_some();
    let mut text = serde_json::to_string_pretty(&Value::Object(root)).map_err(|e| InstallError::Io(e.to_string()))?;
    text.push('\n');
    Ok((text, replaced))
}

/// Writes `name` into the config file at `path`, backing the old file up first.
pub fn install(path: &Path, name: &str, entry: Value) -> Result<InstallReport, InstallError> {
    let io = |what: &str, e: std::io::Error| InstallError::Io(format!("{what} {}: {e}", path.display()));
    let existing = match fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io("cannot read", e)),
    };
    let (text, replaced) = merged(existing.as_deref(), path, name, entry)?;
    let dir = path.parent().ok_or_else(|| InstallError::Io(format!("{} has no folder", path.display())))?;
    fs::create_dir_all(dir).map_err(|e| io("cannot create the folder of", e))?;
    let backup = match &existing {
        Some(old) => {
            let stamp = mcp_remote::store::unix_now();
            let backup = dir.join(format!("{FILE_NAME}.backup-{stamp}"));
            fs::write(&backup, old).map_err(|e| io("cannot back up", e))?;
            Some(backup)
        }
        None => None,
    };
    let temp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    let written = fs::File::create(&temp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(io("cannot write", e));
    }
    Ok(InstallReport { path: path.to_path_buf(), backup, replaced })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mcp-remote-claude-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir.join("Claude").join(FILE_NAME)
    }

    fn read(path: &Path) -> Value {
        serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
    }

    fn sidecar() -> Value {
        entry(Path::new("/opt/mcp-remote/mcp-remote"), &["https://mcp.example.com/mcp".to_string()])
    }

    #[test]
    fn no_file_creates_one_without_backup() {
        let path = temp("none");
        let report = install(&path, "example", sidecar()).unwrap();
        assert_eq!(report.backup, None);
        assert!(!report.replaced);
        let v = read(&path);
        assert_eq!(v["mcpServers"]["example"]["command"], "/opt/mcp-remote/mcp-remote");
        assert_eq!(v["mcpServers"]["example"]["args"][0], "https://mcp.example.com/mcp");
        fs::remove_dir_all(path.parent().unwrap().parent().unwrap()).unwrap();
    }

    #[test]
    fn other_servers_and_unknown_keys_are_kept_and_a_backup_is_made() {
        let path = temp("merge");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let original = r#"{"globalShortcut":"Ctrl+Space","mcpServers":{"other":{"command":"npx","args":["x"],"env":{"K":"V"}}},"future":{"a":1}}"#;
        fs::write(&path, original).unwrap();
        let report = install(&path, "example", sidecar()).unwrap();
        let v = read(&path);
        assert_eq!(v["globalShortcut"], "Ctrl+Space");
        assert_eq!(v["future"]["a"], 1);
        assert_eq!(v["mcpServers"]["other"]["env"]["K"], "V");
        assert_eq!(v["mcpServers"]["example"]["command"], "/opt/mcp-remote/mcp-remote");
        let backup = report.backup.expect("a backup");
        assert_eq!(fs::read_to_string(backup).unwrap(), original);
        fs::remove_dir_all(path.parent().unwrap().parent().unwrap()).unwrap();
    }

    #[test]
    fn an_entry_of_the_same_name_is_replaced() {
        let path = temp("replace");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, r#"{"mcpServers":{"example":{"command":"old","args":[]}}}"#).unwrap();
        let report = install(&path, "example", sidecar()).unwrap();
        assert!(report.replaced);
        assert_eq!(read(&path)["mcpServers"]["example"]["command"], "/opt/mcp-remote/mcp-remote");
        assert_eq!(read(&path)["mcpServers"].as_object().unwrap().len(), 1);
        fs::remove_dir_all(path.parent().unwrap().parent().unwrap()).unwrap();
    }

    #[test]
    fn an_unparsable_file_is_refused_and_left_untouched() {
        let path = temp("broken");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let broken = "{ \"mcpServers\": { oops ";
        fs::write(&path, broken).unwrap();
        let error = install(&path, "example", sidecar()).unwrap_err();
        assert!(matches!(error, InstallError::Unparsable { .. }));
        assert!(error.to_string().contains("left untouched"));
        assert_eq!(fs::read_to_string(&path).unwrap(), broken);
        let files = fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(files, 1, "no backup or temp file for a refused install");
        fs::write(&path, r#"{"mcpServers": []}"#).unwrap();
        assert!(matches!(install(&path, "example", sidecar()), Err(InstallError::NotAnObject { .. })));
        fs::remove_dir_all(path.parent().unwrap().parent().unwrap()).unwrap();
    }

    #[test]
    fn the_default_path_is_claudes() {
        let path = default_path().unwrap();
        assert!(path.ends_with(Path::new("Claude").join(FILE_NAME)));
        #[cfg(target_os = "linux")]
        assert!(path.to_string_lossy().contains(".config/Claude"));
    }
}
