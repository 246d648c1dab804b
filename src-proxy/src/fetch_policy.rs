//! What the proxy may fetch on a server's word. A remote MCP server and its authorization server
//! name URLs (resource metadata, authorization server metadata, OpenID configuration, the
//! registration, token and device endpoints); a hostile one can name anything, so every such URL
//! passes one rule before anything is sent to it:
//!
//! - **https**, unless the user passed `--allow-http`;
//! - **no internal address** (loopback, private, link-local, shared/CGNAT, unspecified, multicast)
//!   unless the MCP server itself is on one: a server on the public internet has no business
//!   sending the proxy to a service on the user's machine or network.
//!
//! An address written in a URL (and `localhost`) is checked before the request
//! ([`FetchPolicy::check`]); a name is checked where it is resolved, by the resolver the guarded
//! HTTP clients use ([`FetchPolicy::resolver`]), so a name that resolves (or rebinds) to an
//! internal address is refused as well. Through an HTTP proxy the proxy resolves names, so only
//! written addresses are checked then. Hosts the user named (an HTTP proxy, `--token-endpoint`)
//! are exempt: they are the user's word, not a server's.
//!
//! What a server names for its own traffic (the legacy transport's POST endpoint, redirects) is
//! held to the origin of the request instead ([`on_origin_of`], [`same_origin_redirects`]): that
//! origin is the user's choice, and user headers and tokens go there.

use oauth2::url::Host;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::{Action, Attempt};
use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// How long finding out where the MCP server itself is may take before it counts as public.
const SERVER_LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);
/// The most redirects one request follows.
const MAX_REDIRECTS: usize = 5;

/// Why a URL named by a server is not fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    #[error("refusing {url}, named by the server: not https (pass --allow-http for development)")]
    NotHttps { url: String },
    #[error("refusing {url}, named by the server: {host} is {kind}, and the MCP server is not on such an address")]
    InternalAddress { url: String, host: String, kind: AddressKind },
    #[error("refusing {url:?}, named by the server: not a URL")]
    NotAUrl { url: String },
}

/// The kinds of address a public server may not send the proxy to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    Loopback,
    Private,
    LinkLocal,
    Unspecified,
    Multicast,
}

impl std::fmt::Display for AddressKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Loopback => "a loopback address",
            Self::Private => "a private network address",
            Self::LinkLocal => "a link-local address",
            Self::Unspecified => "an unspecified address",
            Self::Multicast => "a multicast or broadcast address",
        })
    }
}

/// The kind of an internal address; `None` for one on the public internet.
pub fn internal_kind(ip: IpAddr) -> Option<AddressKind> {
    match ip {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_kind(v4),
            None => v6_kind(v6),
        },
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<AddressKind> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some(AddressKind::Loopback)
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        // RFC 1918, and RFC 6598's shared address space (carrier-grade NAT).
        Some(AddressKind::Private)
    } else if ip.is_link_local() {
        Some(AddressKind::LinkLocal)
    } else if a == 0 {
        // "This network" (0.0.0.0/8) reaches the local host on most systems.
        Some(AddressKind::Unspecified)
    } else if ip.is_multicast() || ip.is_broadcast() {
        Some(AddressKind::Multicast)
    } else {
        None
    }
}

fn v6_kind(ip: Ipv6Addr) -> Option<AddressKind> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some(AddressKind::Loopback)
    } else if ip.is_unspecified() {
        Some(AddressKind::Unspecified)
    } else if first & 0xfe00 == 0xfc00 {
        // Unique local addresses, fc00::/7.
        Some(AddressKind::Private)
    } else if first & 0xffc0 == 0xfe80 {
        Some(AddressKind::LinkLocal)
    } else if ip.is_multicast() {
        Some(AddressKind::Multicast)
    } else {
        None
    }
}

/// `localhost` and its subdomains are loopback whatever a resolver says (RFC 6761 §6.3).
fn is_localhost(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// Whether the MCP server at `server` is on an internal address: written as one, `localhost`, or
/// a name that resolves to one here.
async fn is_internal(server: &Url) -> bool {
    match server.host() {
        Some(Host::Ipv4(ip)) => internal_kind(IpAddr::V4(ip)).is_some(),
        Some(Host::Ipv6(ip)) => internal_kind(IpAddr::V6(ip)).is_some(),
        Some(Host::Domain(name)) if is_localhost(name) => true,
        Some(Host::Domain(name)) => {
            let port = server.port_or_known_default().unwrap_or(443);
            let lookup = tokio::net::lookup_host((name, port));
            match tokio::time::timeout(SERVER_LOOKUP_TIMEOUT, lookup).await {
                Ok(Ok(mut addresses)) => addresses.any(|a| internal_kind(a.ip()).is_some()),
                // Not resolvable here (reached through a proxy, or offline): public.
                _ => false,
            }
        }
        None => false,
    }
}

/// The rule for one MCP server's fetches.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    allow_http: bool,
    /// The MCP server is itself on an internal address: so may its authorization server be.
    allow_internal: bool,
    /// Places the user named (proxies, `--token-endpoint`), as host and port: reached wherever
    /// they are.
    user_places: Arc<[(String, u16)]>,
}

impl FetchPolicy {
    /// The policy for `server`: internal addresses are allowed when the server's own host is one
    /// (written as an address, `localhost`, or a name that resolves to one). `user_urls` are
    /// places the user named (their host and port), exempt from the address rule.
    pub async fn for_server(server: &Url, allow_http: bool, user_urls: &[Url]) -> Self {
        Self::new(allow_http, is_internal(server).await, user_urls)
    }

    /// The policy with the MCP server's place already known (`server_is_internal`).
    pub fn new(allow_http: bool, server_is_internal: bool, user_urls: &[Url]) -> Self {
        let user_places = user_urls
            .iter()
            .filter_map(|u| Some((u.host_str()?.to_ascii_lowercase(), u.port_or_known_default()?)))
            .collect();
        Self { allow_http, allow_internal: server_is_internal, user_places }
    }

    /// Whether the MCP server was found on an internal address (so internal URLs are allowed).
    pub fn allows_internal(&self) -> bool {
        self.allow_internal
    }

    /// Checks a URL a server named before anything is sent to it: its scheme, and its host when
    /// that is an address or `localhost` (names are checked when resolved).
    pub fn check(&self, url: &Url) -> Result<(), PolicyError> {
        let shown = || crate::logging::redacted_url(url);
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            _ => return Err(PolicyError::NotHttps { url: shown() }),
        }
        if self.allow_internal {
            return Ok(());
        }
        let kind = match url.host() {
            Some(Host::Ipv4(ip)) => internal_kind(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => internal_kind(IpAddr::V6(ip)),
            Some(Host::Domain(name)) if is_localhost(name) => Some(AddressKind::Loopback),
            Some(Host::Domain(_)) => None,
            None => return Err(PolicyError::NotAUrl { url: shown() }),
        };
        let host = url.host_str().unwrap_or_default();
        let user_place = self
            .user_places
            .iter()
            .any(|(h, p)| h.eq_ignore_ascii_case(host) && Some(*p) == url.port_or_known_default());
        match kind {
            Some(kind) if !user_place => {
                Err(PolicyError::InternalAddress { url: shown(), host: host.to_string(), kind })
            }
            _ => Ok(()),
        }
    }

    /// Parses and checks an endpoint given as text in a server's metadata.
    pub fn check_str(&self, url: &str) -> Result<Url, PolicyError> {
        let parsed = Url::parse(url).map_err(|_| PolicyError::NotAUrl { url: url.chars().take(200).collect() })?;
        self.check(&parsed)?;
        Ok(parsed)
    }

    /// A name the user gave for one of their places: the resolver lets it resolve anywhere
    /// ([`Self::check`] holds any other port on it to the rule).
    fn is_user_host(&self, host: &str) -> bool {
        self.user_places.iter().any(|(h, _)| h.eq_ignore_ascii_case(host))
    }

    /// The resolver of the guarded HTTP clients: resolves as the system does, then keeps only the
    /// addresses this policy allows, and fails when none is left.
    pub fn resolver(&self) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver { policy: self.clone() })
    }
}

/// A DNS resolver that applies a [`FetchPolicy`] to the addresses a name resolves to.
#[derive(Debug)]
pub struct GuardedResolver {
    policy: FetchPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if policy.allow_internal || policy.is_user_host(&host) {
                return Ok(Box::new(found.into_iter()) as Addrs);
            }
            let refused = found.iter().find_map(|a| internal_kind(a.ip()));
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|a| internal_kind(a.ip()).is_none()).collect();
            match (allowed.is_empty(), refused) {
                (true, Some(kind)) => {
                    let error = PolicyError::InternalAddress { url: host.clone(), host, kind };
                    Err(Box::new(error) as Box<dyn std::error::Error + Send + Sync>)
                }
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

/// Whether `url`, named by a server for its own traffic, is on the origin of `request`.
pub fn on_origin_of(url: &Url, request: &Url) -> bool {
    url.origin() == request.origin()
}

/// Follows a redirect only within the origin of the request, at most [`MAX_REDIRECTS`] times:
/// user headers (API keys) and tokens must never be replayed to another host.
pub fn same_origin_redirects(attempt: Attempt<'_>) -> Action {
    let Some(previous) = attempt.previous().last() else {
        return attempt.follow();
    };
    if attempt.previous().len() > MAX_REDIRECTS {
        return attempt.error("too many redirects");
    }
    if on_origin_of(attempt.url(), previous) {
        attempt.follow()
    } else {
        attempt.stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow_http: bool, allow_internal: bool) -> FetchPolicy {
        FetchPolicy::new(allow_http, allow_internal, &[url("http://proxy.corp:3128"), url("http://127.0.0.1:8888")])
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn addresses_are_sorted_into_kinds() {
        let kind = |s: &str| internal_kind(s.parse().unwrap());
        assert_eq!(kind("127.0.0.1"), Some(AddressKind::Loopback));
        assert_eq!(kind("127.8.9.10"), Some(AddressKind::Loopback));
        assert_eq!(kind("10.1.2.3"), Some(AddressKind::Private));
        assert_eq!(kind("172.16.0.1"), Some(AddressKind::Private));
        assert_eq!(kind("172.32.0.1"), None);
        assert_eq!(kind("192.168.1.1"), Some(AddressKind::Private));
        assert_eq!(kind("100.64.0.1"), Some(AddressKind::Private));
        assert_eq!(kind("100.128.0.1"), None);
        assert_eq!(kind("169.254.169.254"), Some(AddressKind::LinkLocal));
        assert_eq!(kind("0.0.0.0"), Some(AddressKind::Unspecified));
        assert_eq!(kind("255.255.255.255"), Some(AddressKind::Multicast));
        assert_eq!(kind("224.0.0.1"), Some(AddressKind::Multicast));
        assert_eq!(kind("93.184.216.34"), None);
        assert_eq!(kind("::1"), Some(AddressKind::Loopback));
        assert_eq!(kind("::"), Some(AddressKind::Unspecified));
        assert_eq!(kind("fd00::1"), Some(AddressKind::Private));
        assert_eq!(kind("fe80::1"), Some(AddressKind::LinkLocal));
        assert_eq!(kind("ff02::1"), Some(AddressKind::Multicast));
        assert_eq!(kind("::ffff:127.0.0.1"), Some(AddressKind::Loopback));
        assert_eq!(kind("::ffff:10.0.0.1"), Some(AddressKind::Private));
        assert_eq!(kind("2606:4700::1111"), None);
    }

    #[test]
    fn http_needs_the_users_leave() {
        let strict = policy(false, true);
        assert!(matches!(strict.check(&url("http://as.example/x")), Err(PolicyError::NotHttps { .. })));
        assert!(matches!(strict.check(&url("file:///etc/passwd")), Err(PolicyError::NotHttps { .. })));
        assert!(strict.check(&url("https://as.example/x")).is_ok());
        assert!(policy(true, true).check(&url("http://as.example/x")).is_ok());
    }

    #[test]
    fn a_public_servers_urls_may_not_reach_internal_addresses() {
        let public = policy(true, false);
        for refused in [
            "http://127.0.0.1:8080/admin",
            "http://[::1]:9/",
            "https://10.0.0.5/.well-known/oauth-authorization-server",
            "https://169.254.169.254/latest/meta-data/",
            "http://localhost:6379/",
            "http://api.localhost./",
            "http://[::ffff:192.168.0.1]/",
            "http://0.0.0.0:22/",
        ] {
            let error = public.check(&url(refused)).unwrap_err();
            assert!(matches!(error, PolicyError::InternalAddress { .. }), "{refused}: {error}");
        }
        assert!(public.check(&url("https://auth.example.com/token")).is_ok());
        // A name is checked when it is resolved, not here.
        assert!(public.check(&url("https://internal.corp.example/")).is_ok());
        // The user's own places are theirs to name; other ports on them are not.
        assert!(public.check(&url("http://127.0.0.1:8888/")).is_ok());
        assert!(public.check(&url("http://127.0.0.1:8889/")).is_err());
    }

    #[test]
    fn a_local_servers_urls_may_stay_local() {
        let local = policy(true, true);
        assert!(local.check(&url("http://127.0.0.1:9000/token")).is_ok());
        assert!(local.check(&url("http://192.168.1.20/authorize")).is_ok());
    }

    #[test]
    fn errors_do_not_show_a_query() {
        let error = policy(false, false).check(&url("http://127.0.0.1/x?key=secret")).unwrap_err().to_string();
        assert!(!error.contains("secret"), "{error}");
    }

    #[tokio::test]
    async fn the_servers_own_place_decides() {
        assert!(FetchPolicy::for_server(&url("http://127.0.0.1:3000/mcp"), true, &[]).await.allows_internal());
        assert!(FetchPolicy::for_server(&url("http://localhost:3000/mcp"), true, &[]).await.allows_internal());
        assert!(FetchPolicy::for_server(&url("https://[fd00::2]/mcp"), false, &[]).await.allows_internal());
        assert!(!FetchPolicy::for_server(&url("https://93.184.216.34/mcp"), false, &[]).await.allows_internal());
        // Unresolvable (a reserved name): counted as public.
        assert!(!FetchPolicy::for_server(&url("https://mcp.invalid/mcp"), false, &[]).await.allows_internal());
    }

    #[tokio::test]
    async fn the_resolver_drops_internal_addresses_of_a_public_servers_names() {
        let public = policy(true, false);
        let name: Name = "localhost".parse().unwrap();
        let error = public.resolver().resolve(name).await.err().expect("refused");
        assert!(error.to_string().contains("loopback"), "{error}");
        let local = policy(true, true);
        let found: Vec<SocketAddr> = local.resolver().resolve("localhost".parse().unwrap()).await.unwrap().collect();
        assert!(found.iter().all(|a| a.ip().is_loopback()) && !found.is_empty(), "{found:?}");
        let user: Vec<SocketAddr> = FetchPolicy::new(true, false, &[url("http://localhost:3128")])
            .resolver()
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(!user.is_empty());
    }
}
