//! The HTTP client every transport shares: rustls with the OS trust store, system and environment
//! proxies (`HTTPS_PROXY`, `NO_PROXY`), keep-alive, and same-origin redirects only. There is no
//! overall request timeout: a GET stream may rightly stay open for hours.

use reqwest::redirect::{Attempt, Policy};
use std::time::Duration;

const MAX_REDIRECTS: usize = 5;

/// Builds the client. Fails only when the TLS backend cannot be set up.
pub fn build_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("mcp-remote/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        .tcp_keepalive(Duration::from_secs(30))
        .tcp_nodelay(true)
        .redirect(Policy::custom(same_origin_redirects))
        .build()
}

/// Follows a redirect only within the origin of the request: user headers (API keys) and tokens
/// must never be replayed to another host.
fn same_origin_redirects(attempt: Attempt<'_>) -> reqwest::redirect::Action {
    let Some(previous) = attempt.previous().last() else {
        return attempt.follow();
    };
    if attempt.previous().len() > MAX_REDIRECTS {
        return attempt.error("too many redirects");
    }
    if attempt.url().origin() == previous.origin() {
        attempt.follow()
    } else {
        attempt.stop()
    }
}
