//! `mcp-remote import-npm`: the npm proxy's stored sign-ins, copied into this store, so moving a
//! Claude Desktop entry over asks no one to sign in again.
//!
//! The npm proxy (0.15) keeps `<hash>_tokens.json` and `<hash>_client_info.json` in
//! `~/.mcp-auth/mcp-remote-v1/` (older releases: `mcp-remote-<version>/`), where the hash is the
//! MD5 of the server URL joined with `|` to what else tells its entries apart: `--resource`,
//! the `--authorize-param` pairs and the raw `--header` values (each as JSON with sorted keys),
//! `--client-metadata-url` and `--token-endpoint`. The servers come from the URLs given, and from
//! every entry of Claude Desktop's config that runs the npm proxy, whose arguments give the rest
//! of the hash. Nothing already signed in here is overwritten.

use crate::store::{self, Client, ServerKey, Store, Tokens};
use md5::{Digest, Md5};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What the npm proxy's hash is made of, for one entry.
#[derive(Debug, Default, PartialEq)]
struct NpmEntry {
    server_url: String,
    resource: Option<String>,
    authorize_params: BTreeMap<String, String>,
    /// Header values as typed, before `${VAR}` expansion.
    headers: BTreeMap<String, String>,
    client_metadata_url: Option<String>,
    token_endpoint: Option<String>,
}

impl NpmEntry {
    /// The npm proxy's file prefix for this entry.
    fn hash(&self) -> String {
        let mut parts = vec![self.server_url.clone()];
        parts.extend(self.resource.clone());
        if !self.authorize_params.is_empty() {
            parts.push(serde_json::to_string(&self.authorize_params).expect("strings encode"));
        }
        if !self.headers.is_empty() {
            parts.push(serde_json::to_string(&self.headers).expect("strings encode"));
        }
        parts.extend(self.client_metadata_url.clone());
        parts.extend(self.token_endpoint.clone());
        Md5::digest(parts.join("|").as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads an npm proxy's arguments (after any `-y mcp-remote@…`): the URL first, then flags.
    fn from_args(args: &[String]) -> Option<Self> {
        let start = args.iter().position(|a| a.starts_with("http://") || a.starts_with("https://"))?;
        let mut entry = Self { server_url: args[start].clone(), ..Self::default() };
        let mut disable_resource = false;
        let mut rest = args[start + 1..].iter();
        while let Some(flag) = rest.next() {
            match flag.as_str() {
                "--header" => {
                    if let Some((name, value)) = rest.next().and_then(|h| h.split_once(':')) {
                        entry.headers.insert(name.trim().to_string(), value.trim_start().to_string());
                    }
                }
                "--header-file" => {
                    for line in rest.next().and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default().lines() {
                        let line = line.trim();
                        if let Some((name, value)) = line.split_once(':').filter(|_| !line.starts_with('#')) {
                            entry.headers.insert(name.trim().to_string(), value.trim_start().to_string());
                        }
                    }
                }
                "--authorize-param" => {
                    if let Some((key, value)) = rest.next().and_then(|p| p.split_once('=')) {
                        entry.authorize_params.insert(key.trim().to_string(), value.to_string());
                    }
                }
                "--resource" => entry.resource = rest.next().map(|r| r.trim().to_string()).filter(|r| !r.is_empty()),
                "--disable-resource-parameter" => disable_resource = true,
                "--client-metadata-url" => entry.client_metadata_url = rest.next().map(|u| u.trim().to_string()),
                "--token-endpoint" => {
                    entry.token_endpoint =
                        rest.next().map(|u| reqwest::Url::parse(u).map(|u| u.to_string()).unwrap_or_else(|_| u.clone()))
                }
                _ => {}
            }
        }
        if disable_resource {
            entry.resource = None;
        }
        Some(entry)
    }
}

/// The npm proxy's entries in Claude Desktop's config file: those whose command or arguments
/// name `mcp-remote`.
fn entries_of_claude_config(path: &Path) -> Vec<NpmEntry> {
    let Some(config) = std::fs::read(path).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok()) else {
        return Vec::new();
    };
    let servers = config.get("mcpServers").and_then(Value::as_object).cloned().unwrap_or_default();
    servers
        .values()
        .filter_map(|server| {
            let args: Vec<String> =
                server.get("args")?.as_array()?.iter().filter_map(|a| a.as_str().map(str::to_owned)).collect();
            let command = server.get("command").and_then(Value::as_str).unwrap_or_default();
            let runs_npm_proxy = command.contains("mcp-remote") || args.iter().any(|a| a.starts_with("mcp-remote"));
            runs_npm_proxy.then(|| NpmEntry::from_args(&args)).flatten()
        })
        .collect()
}

/// The npm proxy's folders under `root`, newest layout first.
fn npm_folders(root: &Path) -> Vec<PathBuf> {
    let mut older: Vec<PathBuf> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("mcp-remote-") && n != "mcp-remote-v1")
        })
        .collect();
    older.sort();
    older.reverse();
    std::iter::once(root.join("mcp-remote-v1")).chain(older).filter(|p| p.is_dir()).collect()
}

fn read_json(path: &Path) -> Option<Map<String, Value>> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// The npm proxy's tokens in our form (its `expires_at` is in milliseconds).
fn tokens_from_npm(npm: &Map<String, Value>, resource: Option<&str>) -> Option<Tokens> {
    let text = |key: &str| npm.get(key).and_then(Value::as_str).map(str::to_owned);
    let expires_at = npm.get("expires_at").and_then(Value::as_u64).map(|ms| ms / 1000);
    Some(Tokens {
        version: store::FORMAT_VERSION,
        access_token: text("access_token")?,
        token_type: "Bearer".into(),
        refresh_token: text("refresh_token"),
        expires_at,
        scope: text("scope"),
        issuer: text("issuer"),
        resource: resource.map(str::to_owned),
        signed_in_at: None,
        extra: Map::new(),
    })
}

/// Imports the sign-ins of `entries` from `root` into `store`; one line a server on stdout.
fn import_entries(store: &Store, root: &Path, entries: &[NpmEntry]) -> Result<usize, String> {
    let folders = npm_folders(root);
    let mut imported = 0;
    for entry in entries {
        let hash = entry.hash();
        let found = folders.iter().find_map(|folder| {
            let tokens = read_json(&folder.join(format!("{hash}_tokens.json")))?;
            Some((tokens, read_json(&folder.join(format!("{hash}_client_info.json")))))
        });
        let url = &entry.server_url;
        let Some((npm_tokens, npm_client)) = found else {
            println!("{url}: no sign-in of the npm proxy found");
            continue;
        };
        let dir = store.server(&ServerKey::new(url, entry.resource.as_deref()));
        let _lock = dir.lock().map_err(|e| e.to_string())?;
        if matches!(dir.tokens(), Ok(Some(_))) {
            println!("{url}: already signed in here; left as it is");
            continue;
        }
        let Some(tokens) = tokens_from_npm(&npm_tokens, entry.resource.as_deref()) else {
            println!("{url}: the npm proxy's tokens file has no access_token; skipped");
            continue;
        };
        let issuer = npm_client
            .as_ref()
            .and_then(|c| c.get("issuer").and_then(Value::as_str).map(str::to_owned))
            .or_else(|| tokens.issuer.clone());
        let mut with_client = "";
        if let (Some(client), Some(issuer)) = (npm_client, issuer) {
            if let Ok(client) = serde_json::from_value::<Client>(Value::Object(client)) {
                let mut clients = dir.clients().map_err(|e| e.to_string())?;
                clients.set(&issuer, &client);
                dir.save_clients(&clients).map_err(|e| e.to_string())?;
                with_client = " and its client registration";
            }
        }
        dir.save_tokens(&tokens).map_err(|e| e.to_string())?;
        let state = crate::status::SignInStatus::read(&dir).describe(store::unix_now());
        println!("{url}: imported the tokens{with_client} ({state})");
        imported += 1;
    }
    Ok(imported)
}

/// `import-npm [URL…] [--from DIR] [--claude-config FILE]`.
pub fn import(config_dir: &Path, from: Option<&Path>, urls: &[String], claude_config: Option<&Path>) -> ExitCode {
    let Some(root) = from.map(Path::to_path_buf).or_else(|| dirs::home_dir().map(|h| h.join(".mcp-auth"))) else {
        eprintln!("mcp-remote: no home directory: pass --from <the npm proxy's folder>");
        return ExitCode::FAILURE;
    };
    let mut entries: Vec<NpmEntry> =
        urls.iter().map(|url| NpmEntry { server_url: url.clone(), ..NpmEntry::default() }).collect();
    let claude = claude_config
        .map(Path::to_path_buf)
        .or_else(|| dirs::config_dir().map(|d| d.join("Claude/claude_desktop_config.json")));
    if urls.is_empty() {
        if let Some(path) = &claude {
            entries.extend(entries_of_claude_config(path));
        }
    }
    if entries.is_empty() {
        eprintln!("mcp-remote: no servers to import: name them (mcp-remote import-npm <server-url>…) or pass --claude-config <file>");
        return ExitCode::FAILURE;
    }
    match import_entries(&Store::new(config_dir), &root, &entries) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mcp-remote: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn hashes_match_the_npm_proxys_own() {
        // Vectors measured with the npm proxy 0.15.1.
        let plain = NpmEntry { server_url: "https://example.com/mcp".into(), ..NpmEntry::default() };
        assert_eq!(plain.hash(), "8724945d3c4865fe12d6890203193588");
        let with_resource =
            NpmEntry::from_args(&args(&["https://example.com/mcp", "--resource", "https://tenant1.atlassian.net/"]));
        assert_eq!(with_resource.unwrap().hash(), "f84afef1fb1461982e73d1f274afd23d");
        let with_headers = NpmEntry::from_args(&args(&[
            "-y",
            "mcp-remote@latest",
            "https://example.com/mcp",
            "--header",
            "Authorization: Bearer ${TOKEN}",
            "--header",
            "X-B:2",
            "--debug",
        ]));
        assert_eq!(with_headers.unwrap().hash(), "206c26c21490fbf8b8a67df9d298c3c4");
        let with_params = NpmEntry::from_args(&args(&[
            "https://example.com/mcp",
            "--authorize-param",
            "prompt=consent",
            "--authorize-param",
            "access_type=offline",
        ]));
        assert_eq!(with_params.unwrap().hash(), "701c35094af23546b98b52efcc22e522");
    }

    #[test]
    fn a_stored_npm_sign_in_is_imported_once_with_its_client() {
        let root = tempfile::tempdir().unwrap();
        let ours = tempfile::tempdir().unwrap();
        let v1 = root.path().join("mcp-remote-v1");
        std::fs::create_dir_all(&v1).unwrap();
        let hash = "8724945d3c4865fe12d6890203193588";
        let expires_ms = (store::unix_now() + 3600) * 1000;
        std::fs::write(
            v1.join(format!("{hash}_tokens.json")),
            format!(r#"{{"access_token":"at","refresh_token":"rt","token_type":"bearer","expires_in":3600,"expires_at":{expires_ms},"scope":"read","issuer":"https://as.example"}}"#),
        )
        .unwrap();
        std::fs::write(
            v1.join(format!("{hash}_client_info.json")),
            r#"{"client_id":"cid","redirect_uris":["http://localhost:37931/oauth/callback"],"token_endpoint_auth_method":"none","issuer":"https://as.example"}"#,
        )
        .unwrap();
        let claude = root.path().join("claude_desktop_config.json");
        std::fs::write(
            &claude,
            r#"{"mcpServers":{"remote":{"command":"npx","args":["-y","mcp-remote@latest","https://example.com/mcp"]},"local":{"command":"node","args":["server.js"]}}}"#,
        )
        .unwrap();
        let store = Store::new(ours.path());
        let entries = entries_of_claude_config(&claude);
        assert_eq!(entries.len(), 1, "only the npm proxy's entry");
        assert_eq!(import_entries(&store, root.path(), &entries), Ok(1));
        let dir = store.server(&ServerKey::new("https://example.com/mcp", None));
        let tokens = dir.tokens().unwrap().unwrap();
        assert_eq!((tokens.access_token.as_str(), tokens.refresh_token.as_deref()), ("at", Some("rt")));
        assert_eq!(tokens.expires_at, Some(expires_ms / 1000));
        assert_eq!(dir.clients().unwrap().get("https://as.example").unwrap().client_id, "cid");
        assert_eq!(import_entries(&store, root.path(), &entries), Ok(0), "what is signed in here is kept");
    }
}
