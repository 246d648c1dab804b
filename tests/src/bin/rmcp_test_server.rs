//! Runs the rmcp test server of `mcp_remote_tests::rmcp_server` on loopback until killed.
//!
//! Usage: `rmcp-test-server [stateful|stateless|json] [PORT]`. Prints `listening on <url>` once
//! it accepts connections.

use mcp_remote_tests::rmcp_server::{start_on, Mode};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mode = match args.next().as_deref() {
        None | Some("stateful") => Mode::Stateful,
        Some("stateless") => Mode::Stateless,
        Some("json") => Mode::StatelessJson,
        Some(other) => {
            eprintln!("unknown mode {other:?}: use stateful, stateless or json");
            std::process::exit(2);
        }
    };
    let port: u16 = args.next().map_or(0, |p| p.parse().expect("port"));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    let server = start_on(mode, listener).await;
    println!("listening on {}", server.url);
    let _ = tokio::signal::ctrl_c().await;
}
