//! TLS: against the Python SDK's server over HTTPS with a self-signed certificate, the proxy
//! refuses it and says in words that the certificate was refused; against the rmcp server over
//! rustls with a certificate of a CA it is told to trust, later connections resume the session.

use mcp_remote_tests::peers::PeerServer;
use mcp_remote_tests::rmcp_server::{self, Mode};
use mcp_remote_tests::sidecar::{fresh_config_dir, Launch, Sidecar};
use mcp_remote_tests::test_ca::TestCa;
use serde_json::json;
use std::sync::atomic::Ordering;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_certificate_is_refused_with_a_clear_message() {
    let folder = fresh_config_dir();
    let server = PeerServer::python_tls(&folder).await;
    let mut sidecar = Sidecar::spawn_with(Launch::new(&server.url).arg("--retry-for").arg("0"));
    let answer = sidecar.initialize_answer().await;
    let message = answer["error"]["message"].as_str().unwrap_or_else(|| panic!("{answer}"));
    assert!(
        message.contains("TLS certificate of 127.0.0.1")
            && message.contains("was refused")
            && message.contains("UnknownIssuer"),
        "{message}"
    );
    assert!(sidecar.close().await.success());
    let _ = std::fs::remove_dir_all(folder);
}

/// Requests in flight together over HTTP/1.1 each need a connection; once the first handshake has
/// given the proxy a session ticket, the later handshakes resume it (no certificate chain to
/// verify, no signature) instead of starting over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_connections_resume_the_tls_session() {
    let folder = fresh_config_dir();
    let ca = TestCa::new();
    let ca_file = folder.join("test-ca.pem");
    std::fs::write(&ca_file, &ca.ca_pem).unwrap();
    let server = rmcp_server::start_tls(Mode::Stateful, ca.server_config(false)).await;
    let mut sidecar = Sidecar::spawn_with(Launch::new(&server.url).arg("--ca-file").arg(ca_file.to_string_lossy()));
    sidecar.initialize().await;
    // The server holds each call long enough for all four to be on connections of their own.
    let calls = (0..4).map(|_| sidecar.call_tool("slow", json!({ "ms": 300 })));
    for answer in futures_util::future::join_all(calls).await {
        assert_eq!(answer, "slept 300ms");
    }
    let (full, resumed) =
        (server.tls_handshakes.full.load(Ordering::Relaxed), server.tls_handshakes.resumed.load(Ordering::Relaxed));
    assert!(full + resumed >= 4, "four calls at once need four connections: {full} full, {resumed} resumed");
    assert!(resumed >= 1, "no handshake resumed the session: {full} full, {resumed} resumed");
    assert!(sidecar.close().await.success());
    let _ = std::fs::remove_dir_all(folder);
}
