//! Finding the authorization server of an MCP server (MCP authorization 2025-11-25):
//! RFC 9728 protected resource metadata (the challenge's `resource_metadata`, else the
//! path-inserted well-known URL, else the root one), then RFC 8414 / OpenID Connect discovery in
//! the spec's order, with the `issuer` checked against the one the URL was built from. A server
//! with no resource metadata is treated as 2025-03-26: metadata at its origin, whose `issuer` must
//! be that origin, else the default `/authorize`, `/token` and `/register` endpoints there.
//!
//! Every URL a server names here, and every endpoint its metadata lists, passes the
//! [`FetchPolicy`] before anything is sent to it.

use super::challenge::Challenge;
use super::AuthError;
use crate::fetch_policy::FetchPolicy;
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tracing::debug;

/// RFC 8414 authorization server metadata (the fields the client uses; others are kept).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServerMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Empty when the server has none (it serves machine clients only).
    #[serde(default)]
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// RFC 8628's endpoint, where the server offers the device authorization grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    #[serde(default)]
    pub client_id_metadata_document_supported: bool,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// RFC 9728 protected resource metadata.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResourceMetadata {
    pub resource: String,
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What discovery found.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovery {
    /// Absent for a 2025-03-26 server.
    pub resource: Option<ResourceMetadata>,
    /// The issuer the client registrations are keyed by.
    pub issuer: String,
    pub server: ServerMetadata,
    /// True when no metadata exists at all and the default endpoints are used.
    pub default_endpoints: bool,
}

/// The scope that asks for a refresh token, where the authorization server offers it.
const OFFLINE_ACCESS: &str = "offline_access";

impl Discovery {
    /// Scopes to ask for: the challenge's, else all the resource supports, else none; plus
    /// `offline_access` when the authorization server lists it (2026-07-28: only then).
    pub fn scopes_for(&self, challenge: &Challenge) -> Option<String> {
        let base = match challenge.scope.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(scope) => Some(scope.to_string()),
            None => {
                let supported = self.resource.as_ref().and_then(|r| r.scopes_supported.as_ref());
                supported.filter(|s| !s.is_empty()).map(|s| s.join(" "))
            }
        };
        let offered = self.server.scopes_supported.as_ref().is_some_and(|s| s.iter().any(|s| s == OFFLINE_ACCESS));
        match base {
            Some(base) if offered && !base.split_whitespace().any(|s| s == OFFLINE_ACCESS) => {
                Some(format!("{base} {OFFLINE_ACCESS}"))
            }
            None if offered => Some(OFFLINE_ACCESS.to_string()),
            base => base,
        }
    }
}

/// What `--token-endpoint` stands for: that endpoint and nothing else; the issuer is its origin.
pub fn token_endpoint_only(endpoint: &str) -> Discovery {
    let issuer =
        Url::parse(endpoint).map(|u| u.origin().ascii_serialization()).unwrap_or_else(|_| endpoint.to_string());
    let server = serde_json::from_value(serde_json::json!({ "token_endpoint": endpoint }))
        .expect("a token endpoint is metadata");
    Discovery { resource: None, issuer, server, default_endpoints: false }
}

/// Discovers the authorization server for `server_url` after a 401 with `challenge`; `http`
/// fetches only what `policy` allows.
pub async fn discover(
    http: &reqwest::Client,
    server_url: &Url,
    challenge: &Challenge,
    policy: &FetchPolicy,
) -> Result<Discovery, AuthError> {
    let Some(resource) = resource_metadata(http, server_url, challenge, policy).await? else {
        return legacy(http, server_url, policy).await;
    };
    if !resource_matches(&resource.resource, server_url) {
        return Err(AuthError::Discovery(format!(
            "the protected resource metadata is for {:?}, not for this server; refusing to sign in",
            resource.resource
        )));
    }
    let issuer =
        resource.authorization_servers.first().cloned().ok_or_else(|| {
            AuthError::Discovery("the protected resource metadata names no authorization server".into())
        })?;
    let issuer_url = Url::parse(&issuer)
        .map_err(|e| AuthError::Discovery(format!("authorization server {issuer:?} is not a URL: {e}")))?;
    let mut found = None;
    for candidate in server_metadata_urls(&issuer_url) {
        if let Some(metadata) = fetch_json::<ServerMetadata>(http, &candidate, policy).await? {
            found = Some(metadata);
            break;
        }
    }
    let server = found
        .ok_or_else(|| AuthError::Discovery(format!("no authorization server metadata found for issuer {issuer}")))?;
    if server.issuer.as_deref() != Some(issuer.as_str()) {
        return Err(AuthError::Discovery(format!(
            "the authorization server metadata names issuer {:?}, expected {issuer:?}; refusing to use it",
            server.issuer
        )));
    }
    require_allowed(&server, policy)?;
    Ok(Discovery { resource: Some(resource), issuer, server, default_endpoints: false })
}

/// RFC 9728 discovery: the challenge's URL when given, else path-inserted, else root.
async fn resource_metadata(
    http: &reqwest::Client,
    server_url: &Url,
    challenge: &Challenge,
    policy: &FetchPolicy,
) -> Result<Option<ResourceMetadata>, AuthError> {
    let candidates = match challenge.resource_metadata.as_deref() {
        Some(url) => vec![Url::parse(url)
            .map_err(|e| AuthError::Discovery(format!("resource_metadata {url:?} is not a URL: {e}")))?],
        None => well_known(server_url, "oauth-protected-resource"),
    };
    for candidate in candidates {
        let fetched = fetch_json::<ResourceMetadata>(http, &candidate, policy).await.map_err(|error| match error {
            AuthError::Network(why) if candidate.origin() == server_url.origin() => {
                AuthError::McpServerUnreachable(why)
            }
            other => other,
        })?;
        if let Some(metadata) = fetched {
            return Ok(Some(metadata));
        }
    }
    Ok(None)
}

/// 2025-03-26: metadata at the server's origin, else the default endpoints there. The metadata's
/// `issuer` must be that origin (RFC 8414 §3.3): a server may not claim another issuer, whose
/// credentials would then go to the endpoints it lists.
async fn legacy(http: &reqwest::Client, server_url: &Url, policy: &FetchPolicy) -> Result<Discovery, AuthError> {
    let base = origin(server_url);
    let metadata_url = Url::parse(&format!("{base}/.well-known/oauth-authorization-server")).expect("valid URL");
    let (server, default_endpoints) = match fetch_json::<ServerMetadata>(http, &metadata_url, policy).await? {
        Some(metadata) => {
            if let Some(claimed) = metadata.issuer.as_deref().filter(|claimed| !same_issuer(claimed, &base)) {
                return Err(AuthError::Discovery(format!(
                    "the authorization server metadata at {base} names issuer {claimed:?}, not {base:?}; refusing to use it"
                )));
            }
            (metadata, false)
        }
        None => (
            ServerMetadata {
                issuer: None,
                authorization_endpoint: format!("{base}/authorize"),
                token_endpoint: format!("{base}/token"),
                registration_endpoint: Some(format!("{base}/register")),
                code_challenge_methods_supported: None,
                token_endpoint_auth_methods_supported: None,
                scopes_supported: None,
                device_authorization_endpoint: None,
                client_id_metadata_document_supported: false,
                authorization_response_iss_parameter_supported: false,
                extra: Map::new(),
            },
            true,
        ),
    };
    require_allowed(&server, policy)?;
    Ok(Discovery { resource: None, issuer: server.issuer.clone().unwrap_or(base), server, default_endpoints })
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// `<origin>/.well-known/<name><path>` (when the path is not empty), then `<origin>/.well-known/<name>`.
fn well_known(url: &Url, name: &str) -> Vec<Url> {
    let base = origin(url);
    let path = url.path().trim_end_matches('/');
    let mut urls = Vec::with_capacity(2);
    if !path.is_empty() {
        urls.push(format!("{base}/.well-known/{name}{path}"));
    }
    urls.push(format!("{base}/.well-known/{name}"));
    urls.into_iter().filter_map(|u| Url::parse(&u).ok()).collect()
}

/// The spec's order: RFC 8414 path insertion, OIDC path insertion, OIDC path appending for an
/// issuer with a path; RFC 8414 then OIDC at the root for one without.
fn server_metadata_urls(issuer: &Url) -> Vec<Url> {
    let base = origin(issuer);
    let path = issuer.path().trim_end_matches('/');
    let urls = if path.is_empty() {
        vec![
            format!("{base}/.well-known/oauth-authorization-server"),
            format!("{base}/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            format!("{base}/.well-known/oauth-authorization-server{path}"),
            format!("{base}/.well-known/openid-configuration{path}"),
            format!("{base}{path}/.well-known/openid-configuration"),
        ]
    };
    urls.into_iter().filter_map(|u| Url::parse(&u).ok()).collect()
}

/// The metadata's `resource` must be this server: the same URL, or its origin with a path that is
/// a prefix of the server's path at a segment boundary.
fn resource_matches(resource: &str, server_url: &Url) -> bool {
    let Ok(resource) = Url::parse(resource) else {
        return false;
    };
    if resource.origin() != server_url.origin() {
        return false;
    }
    let resource_path = resource.path().trim_end_matches('/');
    let server_path = server_url.path().trim_end_matches('/');
    server_path == resource_path || server_path.strip_prefix(resource_path).is_some_and(|rest| rest.starts_with('/'))
}

pub(super) fn require_pkce(metadata: &ServerMetadata) -> Result<(), AuthError> {
    let supported =
        metadata.code_challenge_methods_supported.as_ref().is_some_and(|methods| methods.iter().any(|m| m == "S256"));
    if supported {
        Ok(())
    } else {
        Err(AuthError::Discovery(
            "the authorization server does not advertise PKCE with S256 (code_challenge_methods_supported); refusing to sign in".into(),
        ))
    }
}

/// Every endpoint the metadata lists must pass the fetch policy (https unless the user allowed
/// http; no internal address for a public server), the authorization endpoint included: a
/// browser is sent there.
fn require_allowed(metadata: &ServerMetadata, policy: &FetchPolicy) -> Result<(), AuthError> {
    let optional = [&metadata.registration_endpoint, &metadata.device_authorization_endpoint];
    let authorization = Some(&metadata.authorization_endpoint).filter(|e| !e.is_empty());
    for endpoint in authorization.into_iter().chain([&metadata.token_endpoint]).chain(optional.into_iter().flatten()) {
        policy.check_str(endpoint)?;
    }
    Ok(())
}

/// Issuers compare as the same URL, a trailing slash aside.
pub fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// GETs JSON metadata; `None` for a 4xx (the document is not there) so discovery tries the next.
/// Nothing is sent to a URL the policy refuses.
async fn fetch_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &Url,
    policy: &FetchPolicy,
) -> Result<Option<T>, AuthError> {
    policy.check(url)?;
    debug!(url = %crate::logging::redacted_url(url), "fetching metadata");
    let response = http
        .get(url.clone())
        .header(http::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| AuthError::Network(crate::transport::describe_network_error(&crate::network::redacted(e))))?;
    let status = response.status();
    if status.is_client_error() {
        return Ok(None);
    }
    if status != StatusCode::OK {
        return Err(AuthError::Discovery(format!("metadata at {url} answered HTTP {status}")));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| AuthError::Network(crate::transport::describe_network_error(&crate::network::redacted(e))))?;
    match serde_json::from_slice(&body) {
        Ok(parsed) => Ok(Some(parsed)),
        Err(e) => {
            debug!(error = %e, "metadata document is not usable; trying the next location");
            Ok(None)
        }
    }
}

/// Reads `data` as each discovery document and runs the checks a document must pass.
#[cfg(feature = "fuzzing")]
pub(super) fn fuzz(data: &[u8]) {
    if let Ok(metadata) = serde_json::from_slice::<ServerMetadata>(data) {
        let _ = require_pkce(&metadata);
        for policy in [FetchPolicy::new(false, false, &[]), FetchPolicy::new(true, true, &[])] {
            let _ = require_allowed(&metadata, &policy);
        }
    }
    if let Ok(metadata) = serde_json::from_slice::<ResourceMetadata>(data) {
        let server = Url::parse("https://example.com/mcp").expect("a URL");
        let _ = resource_matches(&metadata.resource, &server);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn strings(urls: Vec<Url>) -> Vec<String> {
        urls.into_iter().map(|u| u.to_string()).collect()
    }

    #[tokio::test]
    async fn an_mcp_server_that_does_not_answer_is_named_as_such() {
        // A port that was free a moment ago: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = url(&format!("http://127.0.0.1:{port}/mcp"));
        let policy = FetchPolicy::new(true, true, &[]);
        let error = discover(&reqwest::Client::new(), &server, &Challenge::default(), &policy).await.unwrap_err();
        assert!(matches!(error, AuthError::McpServerUnreachable(_)), "{error:?}");
        assert!(error.to_string().starts_with("cannot reach the MCP server: "), "{error}");
    }

    #[test]
    fn resource_metadata_locations() {
        assert_eq!(
            strings(well_known(&url("https://example.com/public/mcp"), "oauth-protected-resource")),
            vec![
                "https://example.com/.well-known/oauth-protected-resource/public/mcp",
                "https://example.com/.well-known/oauth-protected-resource",
            ]
        );
        assert_eq!(
            strings(well_known(&url("https://example.com"), "oauth-protected-resource")),
            vec!["https://example.com/.well-known/oauth-protected-resource"]
        );
    }

    #[test]
    fn authorization_server_locations_follow_the_spec_order() {
        assert_eq!(
            strings(server_metadata_urls(&url("https://auth.example.com/tenant1"))),
            vec![
                "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
                "https://auth.example.com/.well-known/openid-configuration/tenant1",
                "https://auth.example.com/tenant1/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            strings(server_metadata_urls(&url("https://auth.example.com"))),
            vec![
                "https://auth.example.com/.well-known/oauth-authorization-server",
                "https://auth.example.com/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn resource_must_be_this_server_or_its_prefix() {
        let server = url("http://localhost:3000/mcp");
        assert!(resource_matches("http://localhost:3000/mcp", &server));
        assert!(resource_matches("http://localhost:3000", &server));
        assert!(resource_matches("http://localhost:3000/", &server));
        assert!(!resource_matches("http://localhost:3000/mc", &server));
        assert!(!resource_matches("https://evil.example.com/mcp", &server));
        assert!(!resource_matches("http://localhost:3001/mcp", &server));
        assert!(!resource_matches("not a url", &server));
    }

    #[test]
    fn scopes_come_from_the_challenge_then_the_resource() {
        let mut discovery = Discovery {
            resource: Some(ResourceMetadata {
                resource: "https://e.com/mcp".into(),
                authorization_servers: vec![],
                scopes_supported: Some(vec!["a".into(), "b".into()]),
                extra: Map::new(),
            }),
            issuer: "https://as".into(),
            server: serde_json::from_value(serde_json::json!({
                "authorization_endpoint": "https://as/a", "token_endpoint": "https://as/t"
            }))
            .unwrap(),
            default_endpoints: false,
        };
        let challenged = Challenge { scope: Some("x".into()), ..Challenge::default() };
        assert_eq!(discovery.scopes_for(&challenged).as_deref(), Some("x"));
        assert_eq!(discovery.scopes_for(&Challenge::default()).as_deref(), Some("a b"));
        discovery.resource = None;
        assert_eq!(discovery.scopes_for(&Challenge::default()), None);
        discovery.server.scopes_supported = Some(vec!["x".into(), "offline_access".into()]);
        assert_eq!(discovery.scopes_for(&Challenge::default()).as_deref(), Some("offline_access"));
        assert_eq!(discovery.scopes_for(&challenged).as_deref(), Some("x offline_access"));
        let already = Challenge { scope: Some("offline_access x".into()), ..Challenge::default() };
        assert_eq!(discovery.scopes_for(&already).as_deref(), Some("offline_access x"));
    }

    #[test]
    fn pkce_and_https_are_required() {
        let mut m: ServerMetadata = serde_json::from_value(serde_json::json!({
            "issuer": "https://as", "authorization_endpoint": "https://as/a", "token_endpoint": "http://as/t"
        }))
        .unwrap();
        assert!(require_pkce(&m).is_err());
        m.code_challenge_methods_supported = Some(vec!["plain".into()]);
        assert!(require_pkce(&m).is_err());
        m.code_challenge_methods_supported = Some(vec!["S256".into()]);
        assert!(require_pkce(&m).is_ok());
        assert!(require_allowed(&m, &FetchPolicy::new(false, true, &[])).is_err());
        assert!(require_allowed(&m, &FetchPolicy::new(true, true, &[])).is_ok());
        m.token_endpoint = "http://10.0.0.1/t".into();
        let refused = require_allowed(&m, &FetchPolicy::new(true, false, &[])).unwrap_err();
        assert!(matches!(refused, AuthError::Policy(_)), "{refused:?}");
    }
}
