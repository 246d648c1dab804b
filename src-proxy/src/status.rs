//! What a person is told about a server's sign-in (the tray app's menu and window): read from
//! the credential store only, never from the network.

use crate::store::{unix_now, PendingSignIn, ServerDir};
use serde::Serialize;

/// A server's sign-in state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SignInStatus {
    /// Tokens that work now, or can be refreshed without the user.
    SignedIn { expires_at: Option<u64>, issuer: Option<String>, scope: Option<String>, refreshable: bool },
    /// No usable tokens; `pending` when a sidecar is waiting for the user right now, `expired`
    /// when there was a sign-in and its tokens ran out with no way to refresh them.
    NeedsSignIn { pending: Option<PendingSignIn>, expired: bool },
    /// The stored files cannot be read.
    Error { message: String },
}

impl SignInStatus {
    pub fn read(dir: &ServerDir) -> Self {
        let pending = dir.pending_sign_in();
        match dir.tokens() {
            Err(error) => Self::Error { message: error.to_string() },
            Ok(Some(tokens)) if pending.is_none() => {
                let refreshable = tokens.refresh_token.is_some();
                let expired = tokens.expires_at.is_some_and(|at| at <= unix_now());
                if expired && !refreshable {
                    Self::NeedsSignIn { pending: None, expired: true }
                } else {
                    Self::SignedIn {
                        expires_at: tokens.expires_at,
                        issuer: tokens.issuer,
                        scope: tokens.scope,
                        refreshable,
                    }
                }
            }
            Ok(_) => Self::NeedsSignIn { pending, expired: false },
        }
    }

    /// In words: "signed in · expires in 47 min", "needs sign-in", "error: …".
    pub fn describe(&self, now: u64) -> String {
        match self {
            Self::SignedIn { expires_at: None, .. } => "signed in".into(),
            Self::SignedIn { expires_at: Some(at), refreshable, .. } if *at <= now => {
                if *refreshable {
                    "signed in · token refreshes on next use".into()
                } else {
                    "needs sign-in · the sign-in expired".into()
                }
            }
            Self::SignedIn { expires_at: Some(at), .. } => format!("signed in · expires in {}", in_words(at - now)),
            Self::NeedsSignIn { pending: Some(_), .. } => "needs sign-in · a client is waiting".into(),
            Self::NeedsSignIn { pending: None, expired: true } => "needs sign-in · the sign-in expired".into(),
            Self::NeedsSignIn { pending: None, expired: false } => "needs sign-in".into(),
            Self::Error { message } => format!("error: {message}"),
        }
    }
}

fn in_words(seconds: u64) -> String {
    match seconds {
        0..=59 => format!("{seconds} s"),
        60..=5399 => format!("{} min", (seconds + 30) / 60),
        5400..=172_799 => format!("{} h", (seconds + 1800) / 3600),
        _ => format!("{} days", (seconds + 43_200) / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ServerKey, Store, Tokens, FORMAT_VERSION};

    fn dir(name: &str) -> (std::path::PathBuf, ServerDir) {
        let root = std::env::temp_dir().join(format!("mcp-remote-status-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = Store::new(&root).server(&ServerKey::new("https://e.com/mcp", None));
        (root, dir)
    }

    fn tokens(expires_at: Option<u64>, refresh: bool) -> Tokens {
        Tokens {
            version: FORMAT_VERSION,
            access_token: "a".into(),
            token_type: "Bearer".into(),
            refresh_token: refresh.then(|| "r".into()),
            expires_at,
            scope: Some("mcp".into()),
            issuer: Some("https://as".into()),
            resource: None,
            signed_in_at: None,
            extra: Default::default(),
        }
    }

    #[test]
    fn states_follow_the_stored_files() {
        let (root, dir) = dir("states");
        let now = unix_now();
        assert_eq!(SignInStatus::read(&dir).describe(now), "needs sign-in");
        dir.save_tokens(&tokens(Some(now + 47 * 60), true)).unwrap();
        let status = SignInStatus::read(&dir);
        assert_eq!(status.describe(now), "signed in · expires in 47 min");
        assert!(matches!(status, SignInStatus::SignedIn { refreshable: true, .. }));
        dir.save_tokens(&tokens(Some(now - 5), false)).unwrap();
        assert_eq!(SignInStatus::read(&dir).describe(now), "needs sign-in · the sign-in expired");
        assert_eq!(SignInStatus::read(&dir), SignInStatus::NeedsSignIn { pending: None, expired: true });
        dir.save_tokens(&tokens(Some(now - 5), true)).unwrap();
        assert_eq!(SignInStatus::read(&dir).describe(now), "signed in · token refreshes on next use");
        std::fs::write(dir.path().join("tokens.json"), "{broken").unwrap();
        assert!(SignInStatus::read(&dir).describe(now).starts_with("error: "));
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(in_words(30), "30 s");
        assert_eq!(in_words(47 * 60), "47 min");
        assert_eq!(in_words(3 * 3600), "3 h");
        assert_eq!(in_words(3 * 86_400), "3 days");
    }
}
