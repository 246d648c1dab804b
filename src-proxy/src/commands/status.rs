//! `mcp-remote status`: what the credential store holds for each server, read from disk only.

use crate::status::SignInStatus;
use crate::store::{Store, StoreError};
use serde::Serialize;

/// One server folder, as `status --json` prints it.
#[derive(Debug, Serialize)]
pub struct ServerState {
    /// The server URL, when the store recorded it.
    pub server_url: Option<String>,
    /// The folder's name in the store.
    pub folder: String,
    #[serde(flatten)]
    pub sign_in: SignInStatus,
}

pub fn read_all(store: &Store) -> Result<Vec<ServerState>, StoreError> {
    Ok(store
        .servers()?
        .into_iter()
        .map(|(folder, dir)| {
            let server_url = dir
                .metadata()
                .ok()
                .and_then(|m| m.server_url)
                .or_else(|| dir.tokens().ok().flatten().and_then(|t| t.resource));
            ServerState { server_url, folder, sign_in: SignInStatus::read(&dir) }
        })
        .collect())
}

/// The table a person reads: server, state, issuer, scopes.
pub fn table(servers: &[ServerState], now: u64) -> String {
    if servers.is_empty() {
        return "No servers in the credential store yet: run `mcp-remote login <server-url>`.\n".into();
    }
    let rows: Vec<[String; 4]> = servers
        .iter()
        .map(|s| {
            let (issuer, scope) = match &s.sign_in {
                SignInStatus::SignedIn { issuer, scope, .. } => (issuer.clone(), scope.clone()),
                _ => (None, None),
            };
            [
                s.server_url.clone().unwrap_or_else(|| format!("(folder {})", s.folder)),
                s.sign_in.describe(now),
                issuer.unwrap_or_else(|| "-".into()),
                scope.filter(|s| !s.is_empty()).unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let header = ["SERVER", "STATE", "ISSUER", "SCOPES"].map(String::from);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row.iter().zip(widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lines_up_and_an_empty_store_says_what_to_do() {
        assert!(table(&[], 0).contains("mcp-remote login"));
        let servers = [
            ServerState {
                server_url: Some("https://a.example/mcp".into()),
                folder: "0123456789abcdef".into(),
                sign_in: SignInStatus::SignedIn {
                    expires_at: Some(3600),
                    issuer: Some("https://auth.a.example".into()),
                    scope: Some("read write".into()),
                    refreshable: true,
                },
            },
            ServerState {
                server_url: None,
                folder: "fedcba9876543210".into(),
                sign_in: SignInStatus::NeedsSignIn { pending: None, expired: false },
            },
        ];
        let text = table(&servers, 0);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let state_column = lines[0].find("STATE").unwrap();
        assert_eq!(lines[1].find("signed in"), Some(state_column), "{text}");
        assert_eq!(lines[2].find("needs sign-in"), Some(state_column), "{text}");
        assert!(lines[2].starts_with("(folder fedcba9876543210)"), "{text}");
        assert!(lines[1].ends_with("read write"), "{text}");
    }
}
