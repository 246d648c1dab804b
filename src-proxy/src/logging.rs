//! Logging to stderr through `tracing`, and the helpers that keep secrets out of it.
//!
//! stdout belongs to MCP messages, so every log line goes to stderr. Nothing here ever formats a
//! header value, a message body or a URL query: callers log through [`redacted_url`] and names only.

use crate::cli::LogLevel;
use reqwest::Url;
use std::io::IsTerminal;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

/// Installs the global subscriber. Safe to call once; later calls are ignored.
pub fn init(level: LogLevel) {
    let filter = match level {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
    };
    // Dependencies (hyper, reqwest, rustls) log at most warnings: their debug lines name URLs
    // with query strings and add nothing a user of the proxy can act on.
    let targets = Targets::new().with_target("mcp_remote", filter).with_default(filter.min(LevelFilter::WARN));
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(filter)
        .with_target(level == LogLevel::Debug)
        .finish()
        .with(targets);
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// A URL fit for logs: scheme, host, port and path; query, fragment and user info are elided,
/// since API keys often ride in the query string.
pub fn redacted_url(url: &Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path());
    if url.query().is_some() {
        shown.push_str("?…");
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_query_and_credentials() {
        let url = Url::parse("https://user:pw@example.com:8443/mcp?api_key=SECRET#frag").unwrap();
        let shown = redacted_url(&url);
        assert_eq!(shown, "https://example.com:8443/mcp?…");
        assert!(!shown.contains("SECRET") && !shown.contains("pw"));
    }
}
