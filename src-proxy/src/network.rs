//! How the proxy reaches servers: the trusted roots (the OS store, plus `--ca-file` and
//! `SSL_CERT_FILE`), the HTTP proxy from the environment (`HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY`, `NO_PROXY`; loopback is never proxied), the connect timeout and address family.
//! [`Network`] is resolved once from the command line; the HTTP clients are built from it, and a
//! network failure is put into words by [`describe`].

use crate::fetch_policy::{same_origin_redirects, FetchPolicy};
use reqwest::redirect::Policy;
use reqwest::{Certificate, NoProxy, Proxy};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Environment variable naming a PEM bundle of extra trusted roots (OpenSSL's name, which curl,
/// Python and Node's `--use-openssl-ca` read too).
pub const CA_FILE_ENV: &str = "SSL_CERT_FILE";
/// Hosts that are never sent through a proxy, whatever `NO_PROXY` says.
const LOOPBACK: &str = "localhost,127.0.0.0/8,::1";
/// The connect timeout when none is given.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The network settings every HTTP client of the proxy is built with.
#[derive(Debug, Clone)]
pub struct Network {
    /// Roots trusted on top of the OS store, with the files they came from (for messages).
    pub extra_roots: Vec<Certificate>,
    pub ca_files: Vec<PathBuf>,
    /// The proxy the environment names for https and http URLs, if any.
    pub proxy: Option<ProxySettings>,
    pub connect_timeout: Duration,
    /// How long a response may send nothing before it fails (`--body-timeout`; none: no limit,
    /// since an event stream may rightly stay quiet for hours).
    pub body_timeout: Option<Duration>,
    /// Connect over IPv4 only (`--ipv4`).
    pub ipv4_only: bool,
    /// Why an inherited `SSL_CERT_FILE` was left unused (missing or no certificates): a stale
    /// variable from another tool must not stop the proxy, so it is reported and skipped.
    pub unusable_ca_env: Option<String>,
}

impl Default for Network {
    fn default() -> Self {
        Self {
            extra_roots: Vec::new(),
            ca_files: Vec::new(),
            proxy: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            body_timeout: None,
            ipv4_only: false,
            unusable_ca_env: None,
        }
    }
}

/// Proxies from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySettings {
    pub https: Option<String>,
    pub http: Option<String>,
    /// Hosts to reach directly: the user's `NO_PROXY` and loopback.
    pub no_proxy: String,
}

impl ProxySettings {
    /// Reads `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (either case; the lower
    /// case wins, as curl does). `None` when no proxy is named.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Option<Self> {
        let read = |name: &str| {
            env(&name.to_ascii_lowercase())
                .or_else(|| env(name))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let all = read("ALL_PROXY");
        let https = read("HTTPS_PROXY").or_else(|| all.clone());
        let http = read("HTTP_PROXY").or(all);
        if https.is_none() && http.is_none() {
            return None;
        }
        let no_proxy = match read("NO_PROXY") {
            Some(user) => format!("{user},{LOOPBACK}"),
            None => LOOPBACK.to_string(),
        };
        Some(Self { https, http, no_proxy })
    }
}

/// A start-up problem with the network settings.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("{flag} {path:?}: {why}")]
    CaFile { flag: &'static str, path: PathBuf, why: String },
    #[error("the proxy URL {url:?} is not valid: {why}")]
    Proxy { url: String, why: String },
}

/// Reads a PEM bundle of trusted roots; `flag` names where the path came from.
pub fn read_ca_file(path: &Path, flag: &'static str) -> Result<Vec<Certificate>, NetworkError> {
    let fail = |why: String| NetworkError::CaFile { flag, path: path.to_path_buf(), why };
    let pem = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let roots = Certificate::from_pem_bundle(&pem).map_err(|e| fail(format!("not a PEM certificate bundle: {e}")))?;
    if roots.is_empty() {
        return Err(fail("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into()));
    }
    Ok(roots)
}

impl Network {
    fn builder(&self) -> Result<reqwest::ClientBuilder, NetworkError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("mcp-remote/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(self.connect_timeout)
            .tcp_keepalive(Duration::from_secs(30))
            .tcp_nodelay(true);
        for root in &self.extra_roots {
            builder = builder.add_root_certificate(root.clone());
        }
        if let Some(timeout) = self.body_timeout {
            builder = builder.read_timeout(timeout);
        }
        if self.ipv4_only {
            builder = builder.local_address(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        }
        if let Some(proxy) = &self.proxy {
            // Naming a proxy turns reqwest's own environment reading off: ours adds loopback.
            let no_proxy = || NoProxy::from_string(&proxy.no_proxy);
            let invalid = |url: &str, e: reqwest::Error| NetworkError::Proxy { url: url.into(), why: e.to_string() };
            if let Some(url) = &proxy.https {
                builder = builder.proxy(Proxy::https(url).map_err(|e| invalid(url, e))?.no_proxy(no_proxy()));
            }
            if let Some(url) = &proxy.http {
                builder = builder.proxy(Proxy::http(url).map_err(|e| invalid(url, e))?.no_proxy(no_proxy()));
            }
        }
        Ok(builder)
    }

    /// The client for MCP traffic: same-origin redirects only, no overall timeout
    /// (a stream may rightly stay open for hours).
    pub fn client(&self) -> Result<reqwest::Client, NetworkError> {
        self.builder()?.redirect(Policy::custom(same_origin_redirects)).build().map_err(tls_backend)
    }

    /// The client for what a server names (metadata, registration): [`Self::client`]'s redirect
    /// rule, and names resolved only to the addresses `policy` allows.
    pub fn metadata_client(&self, policy: &FetchPolicy) -> Result<reqwest::Client, NetworkError> {
        self.builder()?
            .dns_resolver(policy.resolver())
            .redirect(Policy::custom(same_origin_redirects))
            .build()
            .map_err(tls_backend)
    }

    /// The client for token endpoints: follows no redirect at all, so a code, refresh token or
    /// client secret can never be replayed to another origin; names resolve as `policy` allows.
    pub fn token_client(&self, policy: &FetchPolicy) -> Result<reqwest::Client, NetworkError> {
        self.builder()?
            .dns_resolver(policy.resolver())
            .redirect(Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(tls_backend)
    }

    /// The proxies the user named: the fetch policy lets them be anywhere.
    pub fn proxy_urls(&self) -> Vec<reqwest::Url> {
        let Some(proxy) = &self.proxy else {
            return Vec::new();
        };
        [&proxy.https, &proxy.http].into_iter().flatten().filter_map(|u| reqwest::Url::parse(u).ok()).collect()
    }
}

fn tls_backend(error: reqwest::Error) -> NetworkError {
    NetworkError::Proxy { url: String::new(), why: format!("the HTTP client cannot be set up: {error}") }
}

/// `error` with its URL cut down to scheme, host and port: the path or query may carry an API
/// key, and the message reaches the client and logs, while the host says where it failed.
pub fn redacted(error: reqwest::Error) -> reqwest::Error {
    let origin = error.url().and_then(|u| reqwest::Url::parse(&u.origin().ascii_serialization()).ok());
    let error = error.without_url();
    match origin {
        Some(origin) => error.with_url(origin),
        None => error,
    }
}

/// What went wrong with a request, for a person: what failed and where (host and port, never the
/// path or query), then the deepest cause (connection refused, the certificate rustls refused …)
/// and, for a refused certificate or proxy, what fixes it.
pub fn describe(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    let root = cause.to_string();
    let place = error.url().and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)));
    if root.contains("certificate") {
        let whose = match &place {
            Some(place) => format!("the TLS certificate of {place}"),
            None => "the server's TLS certificate".to_string(),
        };
        return format!(
            "{whose} was refused ({root}); if a company proxy or a private CA issues it, pass --ca-file <its CA in PEM> or set {CA_FILE_ENV}"
        );
    }
    if root.contains("tunnel") || root.contains("407") {
        return format!("the HTTP proxy refused the connection ({root}); check HTTPS_PROXY, and its user:password if it asks for one");
    }
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else if error.is_body() || error.is_decode() {
        "error reading the response"
    } else {
        "error sending request"
    };
    let mut text = match place {
        Some(place) => format!("{what} to {place}"),
        None => what.to_string(),
    };
    if !std::ptr::addr_eq(cause, error) {
        text.push_str(": ");
        text.push_str(&root);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn no_proxy_variable_means_no_proxy() {
        assert_eq!(ProxySettings::from_env(&env(&[("NO_PROXY", "corp.example")])), None);
    }

    #[test]
    fn proxies_come_from_either_case_and_loopback_is_always_direct() {
        let found = ProxySettings::from_env(&env(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:2"),
            ("ALL_PROXY", "http://all:3"),
            ("no_proxy", "corp.example"),
        ]))
        .unwrap();
        assert_eq!(found.https.as_deref(), Some("http://lower:2"));
        assert_eq!(found.http.as_deref(), Some("http://all:3"));
        assert_eq!(found.no_proxy, "corp.example,localhost,127.0.0.0/8,::1");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let error = read_ca_file(&path, "--ca-file").unwrap_err().to_string();
        assert!(error.starts_with("--ca-file") && error.contains("no PEM certificate"), "{error}");
        let missing = read_ca_file(&dir.path().join("absent.pem"), CA_FILE_ENV).unwrap_err().to_string();
        assert!(missing.starts_with(CA_FILE_ENV), "{missing}");
    }

    #[test]
    fn clients_build_with_a_proxy_and_refuse_a_bad_proxy_url() {
        let mut network = Network {
            proxy: Some(ProxySettings {
                https: Some("http://u:p@127.0.0.1:3128".into()),
                http: None,
                no_proxy: LOOPBACK.into(),
            }),
            ..Network::default()
        };
        let policy = FetchPolicy::new(false, false, &[]);
        assert!(network.client().is_ok() && network.token_client(&policy).is_ok());
        assert_eq!(network.proxy_urls()[0].as_str(), "http://u:p@127.0.0.1:3128/");
        network.proxy.as_mut().unwrap().https = Some("::not a url".into());
        assert!(matches!(network.client(), Err(NetworkError::Proxy { .. })));
    }
}
