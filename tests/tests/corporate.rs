//! Corporate networks, with a real TLS-inspecting proxy (mitmproxy, with a CA of its own) in front
//! of the Python SDK's HTTPS server: the proxy's certificates are refused with a message that
//! names the host and `--ca-file`, and accepted with `--ca-file` or `SSL_CERT_FILE`; `HTTPS_PROXY`
//! (with a password) carries the traffic through it; loopback never goes through a proxy.

use mcp_remote_tests::peers::{free_port, PeerServer};
use mcp_remote_tests::sidecar::{fresh_config_dir, Launch, Sidecar};
use serde_json::json;

/// The Python SDK over HTTPS (its own self-signed certificate), and mitmproxy in reverse mode in
/// front of it: clients see certificates of mitmproxy's CA.
async fn inspected_server() -> (PeerServer, PeerServer, std::path::PathBuf) {
    let folder = fresh_config_dir();
    let upstream = PeerServer::python_tls(&folder).await;
    let confdir = folder.join("mitmproxy");
    let mode = format!("reverse:https://127.0.0.1:{}", upstream.port);
    let inspector =
        PeerServer::tls_inspector(&confdir, &["--mode", &mode, "--ssl-insecure", "--set", "upstream_cert=false"]).await;
    (upstream, inspector, confdir.join("mitmproxy-ca-cert.pem"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inspecting_proxys_certificate_is_refused_clearly_then_trusted_with_ca_file() {
    let (_upstream, inspector, ca) = inspected_server().await;
    let url = format!("https://127.0.0.1:{}/mcp", inspector.port);

    let mut refused = Sidecar::spawn_with(Launch::new(&url).arg("--retry-for").arg("0"));
    let answer = refused.initialize_answer().await;
    let message = answer["error"]["message"].as_str().unwrap_or_else(|| panic!("{answer}"));
    let place = format!("TLS certificate of 127.0.0.1:{} was refused", inspector.port);
    assert!(message.contains(&place), "names the host: {message}");
    assert!(message.contains("UnknownIssuer") && message.contains("--ca-file"), "says what fixes it: {message}");
    assert!(refused.close().await.success());

    let mut trusted = Sidecar::spawn_with(Launch::new(&url).arg("--ca-file").arg(ca.to_str().unwrap()));
    trusted.initialize().await;
    assert!(trusted
        .call_tool("echo", json!({ "message": "through the inspector" }))
        .await
        .contains("through the inspector"));
    assert!(trusted.close().await.success());

    let mut from_env = Sidecar::spawn_with(Launch::new(&url).env("SSL_CERT_FILE", ca.to_str().unwrap()));
    from_env.initialize().await;
    assert!(from_env.call_tool("echo", json!({ "message": "env" })).await.contains("env"));
    assert!(from_env.close().await.success());
    assert!(!inspector.output_lines("\"request\"").is_empty(), "the traffic went through the inspector");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_proxy_with_a_password_carries_the_traffic_and_a_wrong_one_is_named() {
    let folder = fresh_config_dir();
    let upstream = PeerServer::python_tls(&folder).await;
    let confdir = folder.join("mitmproxy");
    // `mcp.test` resolves nowhere: only the proxy knows where it is.
    let map = format!("|//mcp\\.test(:443)?/|//127.0.0.1:{}/", upstream.port);
    let inspector = PeerServer::tls_inspector(
        &confdir,
        &["--ssl-insecure", "--set", "connection_strategy=lazy", "--map-remote", &map, "--proxyauth", "corp:s3cret"],
    )
    .await;
    let ca = confdir.join("mitmproxy-ca-cert.pem");
    let proxy = format!("http://corp:s3cret@127.0.0.1:{}", inspector.port);

    let mut sidecar = Sidecar::spawn_with(
        Launch::new("https://mcp.test/mcp").arg("--ca-file").arg(ca.to_str().unwrap()).env("HTTPS_PROXY", &proxy),
    );
    sidecar.initialize().await;
    assert!(sidecar.call_tool("echo", json!({ "message": "via proxy" })).await.contains("via proxy"));
    assert!(sidecar.close().await.success());
    let connects = inspector.output_lines("\"connect\"");
    assert!(connects.iter().any(|l| l.contains("mcp.test") && l.contains("200")), "{connects:?}");

    let wrong = format!("http://corp:wrong@127.0.0.1:{}", inspector.port);
    let mut refused = Sidecar::spawn_with(
        Launch::new("https://mcp.test/mcp")
            .arg("--ca-file")
            .arg(ca.to_str().unwrap())
            .arg("--retry-for")
            .arg("0")
            .env("HTTPS_PROXY", &wrong),
    );
    let answer = refused.initialize_answer().await;
    let message = answer["error"]["message"].as_str().unwrap_or_else(|| panic!("{answer}"));
    assert!(message.contains("HTTP proxy refused") && message.contains("HTTPS_PROXY"), "{message}");
    assert!(refused.close().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_never_goes_through_the_proxy() {
    let confdir = fresh_config_dir().join("mitmproxy");
    let inspector = PeerServer::tls_inspector(&confdir, &[]).await;
    let server = PeerServer::everything(free_port()).await;
    let proxy = format!("http://127.0.0.1:{}", inspector.port);
    let mut sidecar = Sidecar::spawn_with(
        Launch::new(&server.url).env("HTTP_PROXY", &proxy).env("HTTPS_PROXY", &proxy).env("NO_PROXY", "corp.example"),
    );
    sidecar.initialize().await;
    assert!(sidecar.call_tool("echo", json!({ "message": "direct" })).await.contains("direct"));
    assert!(sidecar.close().await.success());
    assert!(inspector.output_lines("\"request\"").is_empty() && inspector.output_lines("\"connect\"").is_empty());
}
