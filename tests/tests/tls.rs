//! TLS against the Python SDK's server over HTTPS with a self-signed certificate: the proxy
//! refuses it, and says in words that the certificate was refused.

use mcp_remote_tests::peers::PeerServer;
use mcp_remote_tests::sidecar::{fresh_config_dir, Launch, Sidecar};

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
