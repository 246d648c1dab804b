//! Test support for driving the `mcp-remote` binary exactly as Claude Desktop does: a spawned
//! sidecar with piped stdio ([`sidecar`]), real peers to point it at ([`rmcp_server`], [`peers`];
//! [`test_ca`] for HTTPS), our own fault servers for what no real server does on demand
//! ([`fault_server`], [`fault_auth`], [`slow_accept_sse`]) and attackers ([`hostile_auth`], reached
//! under a public-looking name through [`forward_proxy`]; [`hostile_server`], [`hostile_text`]),
//! and what a spawned process holds ([`process`]).

pub mod fault_auth;
pub mod fault_server;
pub mod forward_proxy;
pub mod hostile_auth;
pub mod hostile_server;
pub mod hostile_text;
pub mod peers;
pub mod process;
pub mod rmcp_server;
pub mod sidecar;
pub mod slow_accept_sse;
pub mod test_ca;
pub mod webdriver;
