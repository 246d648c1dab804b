//! What went wrong, in words for a person: a sentence that says which side failed and what to
//! do, and the technical message behind it for the "Details" fold. The engine's errors are
//! written for a terminal (they name flags and stderr); this is where they are put in app terms.

use mcp_remote::auth::AuthError;
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub message: String,
    /// The underlying error, for the curious and for bug reports.
    pub detail: Option<String>,
}

impl Problem {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), detail: None }
    }

    fn with_detail(message: impl Into<String>, detail: impl ToString) -> Self {
        Self { message: message.into(), detail: Some(detail.to_string()) }
    }

    /// A sign-in that failed; `host` is the MCP server's host name, `wait` how long it waited.
    pub fn of_sign_in(error: &AuthError, host: &str, wait: Duration) -> Self {
        let message = match error {
            AuthError::McpServerUnreachable(_) => {
                format!("Cannot reach the MCP server at {host}. Check the address and your network connection.")
            }
            AuthError::Network(_) => format!(
                "{host} answered, but its sign-in service (the authorization server) cannot be reached. \
                 Check your network connection or try again later."
            ),
            AuthError::Discovery(_) => format!(
                "{host} does not say how to sign in to it, or says it in a way that cannot be trusted. \
                 Check the address; if it is right, the server's owner needs to fix its sign-in setup."
            ),
            AuthError::Registration(_) => "The authorization server does not let mcp-remote register itself. \
                 Ask the server's owner for a client ID and enter it under Advanced › Pre-registered client."
                .into(),
            AuthError::Browser(_) => "The sign-in page could not be opened. Use “Copy sign-in link” and open it \
                 in your browser, or choose the other sign-in method in Edit."
                .into(),
            AuthError::Timeout(_) => {
                let minutes = wait.as_secs().div_ceil(60);
                return Self::new(format!(
                    "The sign-in was not finished within {minutes} minute{}. Sign in again when you are ready.",
                    if minutes == 1 { "" } else { "s" }
                ));
            }
            AuthError::Denied(_) => "The authorization server refused the sign-in (it was declined, or your account \
                 may not use this server)."
                .into(),
            AuthError::Rejected(_) => "The answer that came back from the sign-in did not pass mcp-remote's checks, \
                 so it was not used. Try again; if it keeps failing, the server's sign-in setup needs fixing."
                .into(),
            AuthError::Token(_) => "The sign-in went through, but the authorization server did not hand out \
                 access. Try again; if it keeps failing, the server's owner needs to look at it."
                .into(),
            AuthError::InsufficientScope(_) => {
                "The server asks for permissions that signing in does not grant to your account.".into()
            }
            AuthError::Store(_) => "The sign-in worked but could not be saved on this computer.".into(),
            _ => "The sign-in did not work.".into(),
        };
        Self::with_detail(message, error)
    }

    /// The engine's parser refused an entry: its messages name the sidecar's flags.
    pub fn of_entry(message: String) -> Self {
        if message.contains("--allow-http") {
            return Self::with_detail(
                "This address uses plain http. Use https, or tick “Allow plain http” under Advanced \
                 (for servers on your own computer only).",
                message,
            );
        }
        Self::new(message)
    }
}

impl From<String> for Problem {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}

impl From<&str> for Problem {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

impl From<crate::servers::ListError> for Problem {
    fn from(error: crate::servers::ListError) -> Self {
        Self::new(error.to_string())
    }
}

impl From<crate::hosts::file::HostFileError> for Problem {
    fn from(error: crate::hosts::file::HostFileError) -> Self {
        Self::new(error.to_string())
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_is_named_in_words() {
        let wait = Duration::from_secs(300);
        let unreachable =
            Problem::of_sign_in(&AuthError::McpServerUnreachable("refused".into()), "mcp.example.com", wait);
        assert!(unreachable.message.starts_with("Cannot reach the MCP server at mcp.example.com"), "{unreachable:?}");
        assert_eq!(unreachable.detail.as_deref(), Some("cannot reach the MCP server: refused"));
        let auth = Problem::of_sign_in(&AuthError::Network("x".into()), "mcp.example.com", wait);
        assert!(auth.message.contains("(the authorization server) cannot be reached"), "{auth:?}");
        let registration = Problem::of_sign_in(&AuthError::Registration("404".into()), "h", wait);
        assert!(registration.message.contains("Pre-registered client"));
        let timeout = Problem::of_sign_in(&AuthError::Timeout(wait), "h", wait);
        assert_eq!(timeout.message, "The sign-in was not finished within 5 minutes. Sign in again when you are ready.");
        assert_eq!(timeout.detail, None, "the engine's timeout text names stderr and flags");
        for problem in [unreachable, auth, registration, timeout] {
            assert!(!problem.message.contains("--") && !problem.message.contains("stderr"), "{problem:?}");
        }
    }

    #[test]
    fn an_http_address_says_what_to_tick() {
        let problem = Problem::of_entry("http://x is not https: pass --allow-http for development".into());
        assert!(problem.message.contains("Allow plain http"));
        assert!(!problem.message.contains("--allow-http"));
    }
}
