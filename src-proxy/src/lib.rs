//! `mcp_remote`: the engine behind the `mcp-remote` sidecar and the tray app.
//!
//! It connects a stdio MCP client (Claude Desktop) to a remote MCP server: [`cli`] turns flags and
//! environment into a [`cli::Config`], [`stdio`] frames the client side, [`jsonrpc`] classifies
//! messages without re-encoding them, [`transport`] speaks the server's HTTP transport, [`router`]
//! gives every request exactly one answer, [`retry`] says when a failed one is sent again, [`spool`] keeps large messages out of memory
//! within [`budget`]'s limits
//! ([`json_check`] validates them on the way), and
//! [`proxy`] ties them together. [`run`] is the whole sidecar for a parsed configuration.

pub mod auth;
pub mod budget;
pub mod cli;
pub mod commands;
pub mod fetch_policy;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod json_check;
pub mod jsonrpc;
pub mod logging;
pub mod network;
pub mod proxy;
mod retry;
pub mod router;
mod signals;
pub mod spool;
pub mod status;
pub mod stdio;
pub mod store;
pub mod tool_filter;
pub mod transport;

pub use cli::Config;
pub use proxy::RunError;

use tokio_util::sync::CancellationToken;

/// Proxies this process's stdin and stdout to the configured server until stdin closes or a
/// terminating signal arrives.
pub async fn run(config: Config) -> Result<(), RunError> {
    let shutdown = CancellationToken::new();
    match signals::Terminations::install() {
        Ok(mut terminations) => {
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                terminations.recv().await;
                shutdown.cancel();
            });
        }
        Err(error) => tracing::warn!(%error, "cannot listen for termination signals"),
    }
    proxy::run(&config, stdio::process_stdin(), stdio::process_stdout(), shutdown).await
}
