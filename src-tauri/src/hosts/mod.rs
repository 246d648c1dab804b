//! The stdio MCP hosts a server can be installed into: Claude Desktop, Claude Code, Cursor,
//! VS Code, Windsurf and Zed. For each: where its config file is on each OS, which key holds its
//! servers, the shape of one entry, and whether the host is on this machine. Reading and writing
//! those files is [`file`]'s.

pub mod file;

use crate::servers::Launch;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// One MCP host application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostKind {
    ClaudeDesktop,
    ClaudeCode,
    Cursor,
    VsCode,
    Windsurf,
    Zed,
}

/// The operating systems whose layouts differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
}

impl Os {
    pub const fn this() -> Self {
        if cfg!(windows) {
            Self::Windows
        } else if cfg!(target_os = "macos") {
            Self::MacOs
        } else {
            Self::Linux
        }
    }
}

/// Claude Desktop from the Microsoft Store keeps its files in its package's virtualised folder.
const CLAUDE_STORE_PACKAGE: &str = "Claude_pzs8sxrjxfjjc";

impl HostKind {
    pub const ALL: [Self; 6] =
        [Self::ClaudeDesktop, Self::ClaudeCode, Self::Cursor, Self::VsCode, Self::Windsurf, Self::Zed];

    pub fn name(self) -> &'static str {
        match self {
            Self::ClaudeDesktop => "Claude Desktop",
            Self::ClaudeCode => "Claude Code",
            Self::Cursor => "Cursor",
            Self::VsCode => "VS Code",
            Self::Windsurf => "Windsurf",
            Self::Zed => "Zed",
        }
    }

    /// The top-level key of the file that holds the servers by name.
    pub fn servers_key(self) -> &'static str {
        match self {
            Self::VsCode => "servers",
            Self::Zed => "context_servers",
            Self::ClaudeDesktop | Self::ClaudeCode | Self::Cursor | Self::Windsurf => "mcpServers",
        }
    }

    /// One server entry that runs `command` with the launch's arguments and environment over
    /// stdio, as this host reads it. Every host passes `env` to the process; the arguments name
    /// its variables as `${VAR}`, which the sidecar expands, so no secret is on a command line.
    pub fn entry(self, command: &Path, launch: &Launch) -> Value {
        let command = command.display().to_string();
        let mut entry = match self {
            Self::ClaudeCode | Self::VsCode => json!({ "type": "stdio", "command": command, "args": launch.args }),
            Self::Zed => json!({ "command": command, "args": launch.args, "env": {} }),
            Self::ClaudeDesktop | Self::Cursor | Self::Windsurf => json!({ "command": command, "args": launch.args }),
        };
        if !launch.env.is_empty() {
            entry["env"] = json!(launch.env);
        }
        entry
    }

    /// What the person does for the host to pick the server up.
    pub fn after_install(self) -> &'static str {
        match self {
            Self::ClaudeDesktop => "Quit and reopen Claude Desktop to use it.",
            Self::ClaudeCode => "New Claude Code sessions have it (claude mcp list shows it).",
            Self::Cursor => "Cursor shows it under Settings › MCP.",
            Self::VsCode => "VS Code starts it when a chat in agent mode first needs it.",
            Self::Windsurf => "Refresh the MCP servers in Windsurf's Cascade panel.",
            Self::Zed => "Zed picks it up at once (Agent panel › settings).",
        }
    }

    /// The config file on `os` under `roots`; `exists` tells which folders are there (Claude
    /// Desktop's Store package decides between its two places on Windows).
    pub fn path_on(self, os: Os, roots: &HostRoots, exists: &dyn Fn(&Path) -> bool) -> PathBuf {
        match (self, os) {
            (Self::ClaudeDesktop, Os::Windows) => {
                let package = roots.local_data.join("Packages").join(CLAUDE_STORE_PACKAGE);
                let folder = if exists(&package) {
                    package.join("LocalCache").join("Roaming").join("Claude")
                } else {
                    roots.config.join("Claude")
                };
                folder.join("claude_desktop_config.json")
            }
            (Self::ClaudeDesktop, _) => roots.config.join("Claude").join("claude_desktop_config.json"),
            (Self::ClaudeCode, _) => roots.home.join(".claude.json"),
            (Self::Cursor, _) => roots.home.join(".cursor").join("mcp.json"),
            (Self::VsCode, _) => roots.config.join("Code").join("User").join("mcp.json"),
            (Self::Windsurf, _) => roots.home.join(".codeium").join("windsurf").join("mcp_config.json"),
            (Self::Zed, Os::Windows) => roots.config.join("Zed").join("settings.json"),
            (Self::Zed, Os::Linux) => roots.config.join("zed").join("settings.json"),
            (Self::Zed, Os::MacOs) => roots.home.join(".config").join("zed").join("settings.json"),
        }
    }

    /// The folder whose presence says the host is installed (or has been run) here.
    fn sign_of_presence(self, path: &Path, roots: &HostRoots) -> PathBuf {
        match self {
            Self::ClaudeCode => roots.home.join(".claude"),
            Self::VsCode => path.parent().and_then(Path::parent).unwrap_or(path).to_path_buf(),
            _ => path.parent().unwrap_or(path).to_path_buf(),
        }
    }
}

/// The folders the hosts' files live under: the home folder, the OS config folder
/// (`~/.config`, `~/Library/Application Support`, `%APPDATA%`) and the local data folder
/// (`%LOCALAPPDATA%` on Windows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoots {
    pub home: PathBuf,
    pub config: PathBuf,
    pub local_data: PathBuf,
}

impl HostRoots {
    /// This user's folders, as the hosts themselves find them.
    pub fn of_this_user() -> Option<Self> {
        Some(Self { home: dirs::home_dir()?, config: dirs::config_dir()?, local_data: dirs::data_local_dir()? })
    }
}

/// A host as found on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Host {
    pub kind: HostKind,
    pub name: &'static str,
    pub path: PathBuf,
    /// The host's folder or file is here.
    pub present: bool,
}

impl Host {
    pub fn find(kind: HostKind, roots: &HostRoots) -> Self {
        let exists = |p: &Path| p.exists();
        let path = kind.path_on(Os::this(), roots, &exists);
        let present = path.exists() || kind.sign_of_presence(&path, roots).exists();
        Self { kind, name: kind.name(), path, present }
    }

    pub fn all(roots: &HostRoots) -> Vec<Self> {
        HostKind::ALL.iter().map(|&kind| Self::find(kind, roots)).collect()
    }
}

/// The text a person pastes into the host's file: the entry inside its servers key.
pub fn snippet(kind: HostKind, name: &str, entry: Value) -> String {
    let value = json!({ kind.servers_key(): { name: entry } });
    serde_json::to_string_pretty(&value).expect("JSON values serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots(os: Os) -> HostRoots {
        match os {
            Os::Linux => HostRoots {
                home: "/home/u".into(),
                config: "/home/u/.config".into(),
                local_data: "/home/u/.local/share".into(),
            },
            Os::MacOs => HostRoots {
                home: "/Users/u".into(),
                config: "/Users/u/Library/Application Support".into(),
                local_data: "/Users/u/Library/Application Support".into(),
            },
            Os::Windows => HostRoots {
                home: r"C:\Users\u".into(),
                config: r"C:\Users\u\AppData\Roaming".into(),
                local_data: r"C:\Users\u\AppData\Local".into(),
            },
        }
    }

    fn path(kind: HostKind, os: Os) -> String {
        kind.path_on(os, &roots(os), &|_| false).display().to_string().replace('\\', "/")
    }

    #[test]
    fn each_host_file_is_where_the_host_reads_it_on_each_os() {
        use HostKind::*;
        assert_eq!(path(ClaudeDesktop, Os::Linux), "/home/u/.config/Claude/claude_desktop_config.json");
        assert_eq!(
            path(ClaudeDesktop, Os::MacOs),
            "/Users/u/Library/Application Support/Claude/claude_desktop_config.json"
        );
        assert_eq!(path(ClaudeDesktop, Os::Windows), "C:/Users/u/AppData/Roaming/Claude/claude_desktop_config.json");
        assert_eq!(path(ClaudeCode, Os::Linux), "/home/u/.claude.json");
        assert_eq!(path(ClaudeCode, Os::Windows), "C:/Users/u/.claude.json");
        assert_eq!(path(Cursor, Os::MacOs), "/Users/u/.cursor/mcp.json");
        assert_eq!(path(VsCode, Os::Linux), "/home/u/.config/Code/User/mcp.json");
        assert_eq!(path(VsCode, Os::MacOs), "/Users/u/Library/Application Support/Code/User/mcp.json");
        assert_eq!(path(VsCode, Os::Windows), "C:/Users/u/AppData/Roaming/Code/User/mcp.json");
        assert_eq!(path(Windsurf, Os::Windows), "C:/Users/u/.codeium/windsurf/mcp_config.json");
        assert_eq!(path(Zed, Os::Linux), "/home/u/.config/zed/settings.json");
        assert_eq!(path(Zed, Os::MacOs), "/Users/u/.config/zed/settings.json");
        assert_eq!(path(Zed, Os::Windows), "C:/Users/u/AppData/Roaming/Zed/settings.json");
    }

    #[test]
    fn claude_desktop_from_the_store_is_found_in_its_package() {
        let roots = roots(Os::Windows);
        let store = |p: &Path| p.ends_with(Path::new("Packages").join(CLAUDE_STORE_PACKAGE));
        let found =
            HostKind::ClaudeDesktop.path_on(Os::Windows, &roots, &store).display().to_string().replace('\\', "/");
        assert_eq!(
            found,
            "C:/Users/u/AppData/Local/Packages/Claude_pzs8sxrjxfjjc/LocalCache/Roaming/Claude/claude_desktop_config.json"
        );
    }

    #[test]
    fn entries_and_snippets_take_each_hosts_shape() {
        let command = Path::new("/opt/mcp-remote/mcp-remote");
        let plain = Launch { args: vec!["https://mcp.example.com/mcp".to_string()], env: Default::default() };
        assert_eq!(HostKind::VsCode.entry(command, &plain)["type"], "stdio");
        assert_eq!(HostKind::ClaudeCode.entry(command, &plain)["type"], "stdio");
        assert!(HostKind::ClaudeDesktop.entry(command, &plain).get("type").is_none());
        assert!(HostKind::ClaudeDesktop.entry(command, &plain).get("env").is_none());
        assert_eq!(HostKind::Zed.entry(command, &plain)["env"], json!({}));
        let mut secret = plain.clone();
        secret.args.extend(["--header".into(), "Authorization: ${MCP_REMOTE_HEADER_AUTHORIZATION}".into()]);
        secret.env.insert("MCP_REMOTE_HEADER_AUTHORIZATION".into(), "Bearer t".into());
        for kind in HostKind::ALL {
            let parsed: Value = serde_json::from_str(&snippet(kind, "Example", kind.entry(command, &secret))).unwrap();
            let entry = &parsed[kind.servers_key()]["Example"];
            assert_eq!(entry["command"], "/opt/mcp-remote/mcp-remote", "{kind:?}");
            assert_eq!(entry["args"][0], "https://mcp.example.com/mcp", "{kind:?}");
            assert_eq!(entry["args"][2], "Authorization: ${MCP_REMOTE_HEADER_AUTHORIZATION}", "{kind:?}");
            assert_eq!(entry["env"], json!({ "MCP_REMOTE_HEADER_AUTHORIZATION": "Bearer t" }), "{kind:?}");
        }
        assert!(snippet(HostKind::ClaudeDesktop, "E", json!({})).contains("\"mcpServers\""));
        assert!(snippet(HostKind::VsCode, "E", json!({})).contains("\"servers\""));
        assert!(snippet(HostKind::Zed, "E", json!({})).contains("\"context_servers\""));
    }
}
