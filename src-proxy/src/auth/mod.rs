//! OAuth 2.1 for one MCP server: the bearer token requests carry, and what to do when the server
//! answers 401 (refresh, or sign in) or 403 `insufficient_scope` (sign in again with more scope).
//!
//! One sign-in per server across processes: every refresh and sign-in runs under the server's
//! lock in the shared config dir, and starts by re-reading `tokens.json`, so a token another
//! sidecar (or the tray app) just obtained is adopted instead of being obtained again, and a
//! rotated refresh token is never spent twice. Secrets never reach logs.
//!
//! Credentials are bound to their issuer: tokens are refreshed only at the issuer that issued
//! them, and the user's pre-registered client is used only with the issuer it names (`"issuer"`
//! in `--static-oauth-client-info`) or, without one, the issuer it was first used with. When the
//! MCP server starts naming another authorization server, nothing stored is sent there: a person
//! signs in again (with a warning that says so), and a machine sign-in stops with an error. What
//! the server names is fetched only as [`FetchPolicy`] allows. A server that refuses a token it
//! has never accepted gets no new sign-in for [`SIGN_IN_COOLDOWN`], however many requests it refuses.

mod browser;
mod callback;
mod challenge;
mod client;
mod client_credentials;
mod device;
mod discovery;

pub use browser::open as open_in_browser;
pub use callback::Landing;
pub use challenge::Challenge;
pub use client_credentials::ClientKey;

use crate::fetch_policy::{FetchPolicy, PolicyError};
use crate::store::{self, Metadata, PendingSignIn, ServerDir, Store, Tokens};
use callback::{Callback, CallbackListener};
use client::{Registration, TokenAuth};
use discovery::Discovery;
use http::HeaderValue;
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, RedirectUrl,
    RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use reqwest::Url;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

/// Refresh this long before the access token expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// How long a process waits for another one's sign-in, beyond the sign-in timeout itself.
const LOCK_GRACE: Duration = Duration::from_secs(30);
/// After a sign-in, how long a server that refuses the new token before ever taking it gets no
/// new sign-in (no new browser), however many requests it refuses.
pub const SIGN_IN_COOLDOWN: Duration = Duration::from_secs(60);

/// Why no usable token could be obtained. Each becomes a JSON-RPC error for the waiting requests.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error("authorization discovery failed: {0}")]
    Discovery(String),
    #[error("client registration failed: {0}")]
    Registration(String),
    #[error("cannot reach the authorization server: {0}")]
    Network(String),
    /// The MCP server itself, asked for its resource metadata, did not answer.
    #[error("cannot reach the MCP server: {0}")]
    McpServerUnreachable(String),
    #[error("cannot open the sign-in page: {0}")]
    Browser(String),
    #[error(
        "sign-in was not completed within {0:?}: open the URL that mcp-remote printed to its log (stderr) \
         in a browser and finish signing in, or restart with a longer --auth-timeout"
    )]
    Timeout(Duration),
    #[error("the authorization server refused the sign-in: {0}")]
    Denied(String),
    #[error("the sign-in response was rejected: {0}")]
    Rejected(String),
    #[error("the token request failed: {0}")]
    Token(String),
    #[error("the server still refuses the scope after signing in again: {0}")]
    InsufficientScope(String),
    #[error("the credential store failed: {0}")]
    Store(#[from] store::StoreError),
    /// A URL the server named is not fetched ([`FetchPolicy`]).
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The server names another authorization server than the one that issued the stored tokens.
    #[error(
        "the MCP server now names the authorization server {now:?}, but its tokens were issued by {was:?}; \
         they are not sent to the new one. If the move is genuine, sign out (mcp-remote logout <url>) and sign in again"
    )]
    IssuerChanged { was: String, now: String },
    /// The user's pre-registered client belongs to another issuer than the one the server names.
    #[error(
        "the pre-registered client {client_id:?} belongs to the authorization server {bound:?}, but the MCP server \
         names {named:?}; its credentials are not sent there. If the move is genuine, set \"issuer\" in \
         --static-oauth-client-info (or sign out with mcp-remote logout <url>)"
    )]
    ClientBoundElsewhere { client_id: String, bound: String, named: String },
    /// A person was asked to sign in moments ago, and the server has taken no token since.
    #[error(
        "a sign-in was asked for {age_secs} s ago and the server has accepted no token since; not signing in \
         again for another {wait_secs} s (check that the server and its authorization server belong together)"
    )]
    SignInCooldown { age_secs: u64, wait_secs: u64 },
}

/// How a sign-in obtains its first tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Grant {
    /// A person signs in in a browser; the code comes back to the loopback listener (PKCE).
    #[default]
    AuthorizationCode,
    /// A person enters a code on any device (RFC 8628, `--device-code`).
    DeviceCode,
    /// No person: the client authenticates as itself (`--client-credentials`).
    ClientCredentials,
}

/// Shows an authorization page (the tray app's webview).
pub type OpenPage = Arc<dyn Fn(&Url) -> std::io::Result<()> + Send + Sync>;

/// How the sign-in page is shown to the user.
#[derive(Clone)]
pub enum Opener {
    /// `BROWSER` when set, else the platform's opener. While a tray app runs, a sidecar leaves
    /// the page to it instead (see [`AuthSettings::hand_off_to_tray`]).
    System { browser: Option<PathBuf> },
    /// The embedding application shows the page itself (the tray app's webview).
    Custom(OpenPage),
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::System { browser } => f.debug_struct("System").field("browser", browser).finish(),
            Self::Custom(_) => f.write_str("Custom"),
        }
    }
}

/// Everything OAuth needs from the command line.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub server_url: Url,
    pub allow_http: bool,
    pub resource: Option<String>,
    pub static_client_info: Option<Map<String, Value>>,
    pub client_metadata: Option<Map<String, Value>>,
    pub client_metadata_url: Option<String>,
    pub callback_host: String,
    pub callback_port: u16,
    pub timeout: Duration,
    pub opener: Opener,
    /// When the tray app runs, publish the sign-in for it to show instead of opening a browser.
    pub hand_off_to_tray: bool,
    /// Trusted roots and proxy for the token endpoint's client.
    pub network: crate::network::Network,
    pub grant: Grant,
    /// Signs client assertions (`private_key_jwt`) for the client credentials grant.
    pub client_key: Option<ClientKey>,
    /// Send RFC 8707 `resource` (off with `--disable-resource-parameter`).
    pub send_resource: bool,
    /// Extra parameters of the authorization URL (`--authorize-param`).
    pub authorize_params: Vec<(String, String)>,
    /// The callback's path and where the browser goes after it.
    pub landing: Landing,
    /// The token endpoint to use for `--client-credentials`, without discovery.
    pub token_endpoint: Option<String>,
}

impl AuthSettings {
    /// The settings a parsed command line asks for, shown with `opener`.
    pub fn from_config(config: &crate::cli::Config, opener: Opener, hand_off_to_tray: bool) -> Self {
        Self {
            server_url: config.server_url.clone(),
            allow_http: config.allow_http,
            resource: config.resource.clone(),
            static_client_info: config.static_client_info.clone(),
            client_metadata: config.static_client_metadata.clone(),
            client_metadata_url: config.client_metadata_url.as_ref().map(|u| u.as_str().to_string()),
            callback_host: config.callback_host.clone(),
            callback_port: config.callback_port,
            timeout: config.auth_timeout,
            opener,
            hand_off_to_tray,
            network: config.network.clone(),
            grant: config.grant,
            client_key: config.client_key.clone(),
            send_resource: config.send_resource,
            authorize_params: config.authorize_params.clone(),
            landing: Landing { path: config.callback_path.clone(), success_url: config.auth_success_url.clone() },
            token_endpoint: config.token_endpoint.clone(),
        }
    }
}

/// The OAuth state of one server in this process.
pub struct Auth {
    settings: AuthSettings,
    store: Store,
    dir: ServerDir,
    /// The fetch policy and the clients that obey it, built on first use (see [`Auth::guarded`]).
    guarded: tokio::sync::OnceCell<Guarded>,
    tokens: RwLock<Option<Tokens>>,
    /// The server has taken the current token at least once.
    accepted: AtomicBool,
    /// When this process last started a sign-in with a person.
    last_sign_in: Mutex<Option<Instant>>,
    /// One recovery at a time in this process; the file lock does the same across processes.
    flight: tokio::sync::Mutex<()>,
}

/// What may be fetched on the server's word, and the HTTP clients that obey it.
struct Guarded {
    policy: FetchPolicy,
    /// For metadata and registration (same-origin redirects, like every request of ours).
    http: reqwest::Client,
    /// For the token endpoint: follows no redirect at all, so a code, refresh token or secret
    /// can never be replayed to another origin.
    token_http: reqwest::Client,
}

/// An OAuth client that knows only the token endpoint (refresh, device and machine grants).
type TokenClient = BasicClient<
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;
/// One that can also send a person to the authorization endpoint.
type BrowserClient = BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn invalid_url(what: &str, error: oauth2::url::ParseError) -> AuthError {
    AuthError::Discovery(format!("{what} is not a URL: {error}"))
}

fn bearer_of(tokens: &Tokens) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", tokens.access_token)).ok()?;
    value.set_sensitive(true);
    Some(value)
}

impl Auth {
    /// Loads any tokens stored for this server (`key`) in `store`.
    pub fn new(settings: AuthSettings, store: Store, key: &store::ServerKey) -> Result<Self, AuthError> {
        let dir = store.server(key);
        let tokens = match dir.tokens() {
            Ok(tokens) => tokens,
            Err(error) => {
                warn!(%error, "ignoring unreadable stored tokens; a new sign-in will replace them");
                None
            }
        };
        Ok(Self {
            settings,
            store,
            dir,
            guarded: tokio::sync::OnceCell::new(),
            tokens: RwLock::new(tokens),
            accepted: AtomicBool::new(false),
            last_sign_in: Mutex::new(None),
            flight: tokio::sync::Mutex::new(()),
        })
    }

    /// The fetch policy for this server and the clients that obey it, made the first time
    /// anything is discovered or asked of a token endpoint: most runs start with a token that is
    /// still good, and each client loads and parses the system's trusted roots (about half of the
    /// proxy's start-up instructions).
    async fn guarded(&self) -> Result<&Guarded, AuthError> {
        self.guarded
            .get_or_try_init(|| async {
                let network = &self.settings.network;
                let mut user_urls = network.proxy_urls();
                user_urls.extend(self.settings.token_endpoint.as_deref().and_then(|e| Url::parse(e).ok()));
                let policy =
                    FetchPolicy::for_server(&self.settings.server_url, self.settings.allow_http, &user_urls).await;
                let failed = |e: crate::network::NetworkError| AuthError::Network(e.to_string());
                let http = network.metadata_client(&policy).map_err(failed)?;
                let token_http = network.token_client(&policy).map_err(failed)?;
                Ok(Guarded { policy, http, token_http })
            })
            .await
    }

    async fn token_http(&self) -> Result<&reqwest::Client, AuthError> {
        Ok(&self.guarded().await?.token_http)
    }

    /// The `Authorization` value for the next request, if signed in.
    pub fn bearer(&self) -> Option<HeaderValue> {
        self.tokens.read().expect("poisoned").as_ref().and_then(bearer_of)
    }

    /// True when the token should be refreshed before it is used again.
    pub fn expiring(&self) -> bool {
        self.tokens.read().expect("poisoned").as_ref().is_some_and(|t| {
            // A machine client gets a new token as easily as a refresh.
            let renewable = t.refresh_token.is_some() || self.settings.grant == Grant::ClientCredentials;
            renewable && t.expires_within(REFRESH_MARGIN)
        })
    }

    fn adopt(&self, tokens: Tokens) {
        *self.tokens.write().expect("poisoned") = Some(tokens);
        self.accepted.store(false, Ordering::Relaxed);
    }

    /// A person is asked to sign in now (a browser, the tray app, a device code): starts the
    /// cooldown ([`SIGN_IN_COOLDOWN`]).
    fn person_asked(&self) {
        *self.last_sign_in.lock().expect("poisoned") = Some(Instant::now());
        self.accepted.store(false, Ordering::Relaxed);
    }

    /// The server answered a request: the token it carried works.
    pub fn note_accepted(&self) {
        if !self.accepted.load(Ordering::Relaxed) {
            self.accepted.store(true, Ordering::Relaxed);
        }
    }

    /// The server refused `used` (401), or it is about to expire: get a working token, by
    /// adopting one another process stored, refreshing, or signing in.
    pub async fn recover(&self, challenge: &Challenge, used: Option<&HeaderValue>) -> Result<(), AuthError> {
        let _flight = self.flight.lock().await;
        if self.bearer().as_ref() != used && !self.expiring() {
            return Ok(());
        }
        let _lock = self.lock().await?;
        let stored = self.dir.tokens().unwrap_or(None);
        if let Some(stored) = &stored {
            if bearer_of(stored).as_ref() != used && !stored.expires_within(REFRESH_MARGIN) {
                debug!("adopting tokens stored by another process");
                self.adopt(stored.clone());
                if let Some(at) = stored.signed_in_at {
                    // That process's sign-in counts as this one's for the cooldown.
                    let age = Duration::from_secs(store::unix_now().saturating_sub(at));
                    *self.last_sign_in.lock().expect("poisoned") = Instant::now().checked_sub(age);
                }
                return Ok(());
            }
        }
        if let Some(stored) = stored.filter(|t| t.refresh_token.is_some()) {
            match self.refresh(&stored).await {
                Ok(fresh) => {
                    self.write(|dir, tokens| dir.save_tokens(tokens), &fresh).await?;
                    self.adopt(fresh);
                    info!("access token refreshed");
                    return Ok(());
                }
                Err(AuthError::Token(why)) if why.contains("invalid_client") => {
                    info!("the authorization server no longer knows our client; registering again");
                    if let Ok(discovery) = self.discovery(challenge).await {
                        self.forget_client(&discovery).await?;
                    }
                }
                // Signing in decides what a change of issuer allows.
                Err(error @ AuthError::IssuerChanged { .. }) => warn!(%error, "the refresh token stays unused"),
                Err(error) => info!(%error, "refresh failed; signing in again"),
            }
        }
        self.cool_down()?;
        let granted = self.sign_in(challenge, None).await?;
        self.write(|dir, tokens| dir.save_tokens(tokens), &granted).await?;
        self.adopt(granted);
        Ok(())
    }

    /// Signs in now, whatever is stored (the tray app's "Sign in").
    pub async fn sign_in_now(&self) -> Result<(), AuthError> {
        let _flight = self.flight.lock().await;
        let _lock = self.lock().await?;
        let granted = self.sign_in(&Challenge::default(), None).await?;
        self.write(|dir, tokens| dir.save_tokens(tokens), &granted).await?;
        self.adopt(granted);
        Ok(())
    }

    /// The server answered 403 `insufficient_scope`: sign in again asking for the union of the
    /// scopes granted and the scopes it asks for.
    pub async fn step_up(&self, challenge: &Challenge, used: Option<&HeaderValue>) -> Result<(), AuthError> {
        let _flight = self.flight.lock().await;
        if self.bearer().as_ref() != used {
            return Ok(());
        }
        let granted = self.tokens.read().expect("poisoned").as_ref().and_then(|t| t.scope.clone()).unwrap_or_default();
        let wanted = challenge.scope.clone().unwrap_or_default();
        let mut union: Vec<&str> = granted.split_whitespace().collect();
        let before = union.len();
        for scope in wanted.split_whitespace() {
            if !union.contains(&scope) {
                union.push(scope);
            }
        }
        if union.len() == before {
            return Err(AuthError::InsufficientScope(format!(
                "the granted scope {granted:?} already covers the requested {wanted:?}"
            )));
        }
        let scope = union.join(" ");
        let _lock = self.lock().await?;
        let granted = self.sign_in(challenge, Some(scope)).await?;
        self.write(|dir, tokens| dir.save_tokens(tokens), &granted).await?;
        self.adopt(granted);
        Ok(())
    }

    /// Runs a store write (an fsync, twice) on a blocking thread, off the async runtime that
    /// carries every message.
    async fn write<T: Clone + Send + 'static>(
        &self,
        save: fn(&ServerDir, &T) -> Result<(), store::StoreError>,
        value: &T,
    ) -> Result<(), AuthError> {
        let (dir, value) = (self.dir.clone(), value.clone());
        match tokio::task::spawn_blocking(move || save(&dir, &value)).await {
            Ok(saved) => Ok(saved?),
            Err(join) => Err(AuthError::Store(store::StoreError::Io {
                action: "write",
                path: self.dir.path().to_path_buf(),
                source: std::io::Error::other(join.to_string()),
            })),
        }
    }

    /// Takes the server's cross-process lock, waiting at most for another process's sign-in.
    async fn lock(&self) -> Result<store::ServerLock, AuthError> {
        let dir = self.dir.clone();
        let wait = self.settings.timeout + LOCK_GRACE;
        match tokio::time::timeout(wait, tokio::task::spawn_blocking(move || dir.lock())).await {
            Ok(Ok(lock)) => Ok(lock?),
            Ok(Err(join)) => Err(AuthError::Store(store::StoreError::Io {
                action: "lock",
                path: self.dir.path().to_path_buf(),
                source: std::io::Error::other(join.to_string()),
            })),
            Err(_) => Err(AuthError::Timeout(wait)),
        }
    }

    /// Discovery, stored or fresh: refresh needs the token endpoint without a new challenge.
    async fn discovery(&self, challenge: &Challenge) -> Result<Discovery, AuthError> {
        if let Some(endpoint) = &self.settings.token_endpoint {
            return Ok(discovery::token_endpoint_only(endpoint));
        }
        let guarded = self.guarded().await?;
        let found = discovery::discover(&guarded.http, &self.settings.server_url, challenge, &guarded.policy).await?;
        let metadata = Metadata {
            resource_metadata: found.resource.as_ref().and_then(|r| serde_json::to_value(r).ok()),
            authorization_server: serde_json::to_value(&found.server).ok(),
            server_url: Some(self.settings.server_url.to_string()),
            ..self.dir.metadata().unwrap_or_default()
        };
        self.write(|dir, metadata| dir.save_metadata(metadata), &metadata).await?;
        Ok(found)
    }

    /// The `resource` parameter: `--resource`, else the metadata's resource exactly as written,
    /// else (a 2025-03-26 server) the server URL.
    /// `None` with `--disable-resource-parameter`.
    fn resource(&self, discovery: &Discovery) -> Option<String> {
        if !self.settings.send_resource {
            return None;
        }
        let resource = self
            .settings
            .resource
            .clone()
            .or_else(|| discovery.resource.as_ref().map(|r| r.resource.clone()))
            .unwrap_or_else(|| self.settings.server_url.as_str().to_string());
        Some(resource)
    }

    /// The client for a browser sign-in: [`Self::token_client`] with the authorization
    /// endpoint and the loopback redirect URI.
    fn browser_client(
        &self,
        discovery: &Discovery,
        client: &store::Client,
        redirect_uri: &str,
    ) -> Result<BrowserClient, AuthError> {
        let authorization_endpoint = AuthUrl::new(discovery.server.authorization_endpoint.clone())
            .map_err(|e| invalid_url("authorization_endpoint", e))?;
        let redirect = RedirectUrl::new(redirect_uri.to_string()).map_err(|e| invalid_url("redirect_uri", e))?;
        Ok(self.token_client(discovery, client)?.set_auth_uri(authorization_endpoint).set_redirect_uri(redirect))
    }

    /// The client for the token endpoint, authenticating as `client` does.
    fn token_client(&self, discovery: &Discovery, client: &store::Client) -> Result<TokenClient, AuthError> {
        let mut oauth = BasicClient::new(ClientId::new(client.client_id.clone())).set_token_uri(
            TokenUrl::new(discovery.server.token_endpoint.clone()).map_err(|e| invalid_url("token_endpoint", e))?,
        );
        match client::token_auth(client, &discovery.server) {
            TokenAuth::Basic => oauth = oauth.set_auth_type(AuthType::BasicAuth),
            TokenAuth::Post | TokenAuth::None => oauth = oauth.set_auth_type(AuthType::RequestBody),
        }
        if client::token_auth(client, &discovery.server) != TokenAuth::None {
            if let Some(secret) = &client.client_secret {
                oauth = oauth.set_client_secret(ClientSecret::new(secret.clone()));
            }
        }
        Ok(oauth)
    }

    /// Spends the stored refresh token (RFC 6749 §6), keeping it when the server rotates none.
    async fn refresh(&self, stored: &Tokens) -> Result<Tokens, AuthError> {
        let refresh_token = stored.refresh_token.clone().unwrap_or_default();
        let discovery = self.discovery(&Challenge::default()).await?;
        if let Some(was) = stored.issuer.as_deref().filter(|was| !discovery::same_issuer(was, &discovery.issuer)) {
            return Err(AuthError::IssuerChanged { was: was.to_string(), now: discovery.issuer.clone() });
        }
        let client = match self.dir.clients()?.get(&self.client_key(&discovery)) {
            Some(registered) => registered,
            None => self
                .static_client_for(&discovery)?
                .ok_or_else(|| AuthError::Token("no client is registered for this authorization server".into()))?,
        };
        let oauth = self.token_client(&discovery, &client)?;
        let resource =
            stored.resource.clone().filter(|_| self.settings.send_resource).or_else(|| self.resource(&discovery));
        let spent = RefreshToken::new(refresh_token.clone());
        let mut request = oauth.exchange_refresh_token(&spent);
        if let Some(resource) = &resource {
            request = request.add_extra_param("resource", resource.clone());
        }
        if client::token_auth(&client, &discovery.server) == TokenAuth::Basic {
            request = request.add_extra_param("client_id", client.client_id.clone());
        }
        let response = request.request_async(self.token_http().await?).await.map_err(token_error)?;
        let mut fresh = tokens_from(&response, stored.scope.clone(), &discovery.issuer, resource.as_deref());
        if fresh.refresh_token.is_none() {
            fresh.refresh_token = Some(refresh_token);
        }
        Ok(fresh)
    }

    /// The authorization code flow with PKCE, in the browser. `scope` overrides the scope the
    /// challenge and metadata suggest (for step-up). A stale registration (`invalid_client`) is
    /// discarded and redone once.
    async fn sign_in(&self, challenge: &Challenge, scope: Option<String>) -> Result<Tokens, AuthError> {
        let discovery = self.discovery(challenge).await?;
        self.allow_issuer(&discovery)?;
        let scope = scope.or_else(|| discovery.scopes_for(challenge));
        let obtained = match self.obtain(&discovery, scope.clone()).await {
            Err(AuthError::Token(why)) if why.contains("invalid_client") => {
                info!("the stored client registration was refused; registering again");
                self.forget_client(&discovery).await?;
                self.obtain(&discovery, scope).await
            }
            Err(error @ AuthError::Timeout(_)) => {
                // A server that forgot our registration shows its error in the browser, where
                // we cannot see it: the next sign-in registers afresh rather than fail the same way.
                self.forget_client(&discovery).await?;
                Err(error)
            }
            other => other,
        };
        let mut tokens = obtained?;
        self.bind_static_client(&discovery).await?;
        if self.settings.grant != Grant::ClientCredentials {
            tokens.signed_in_at = Some(store::unix_now());
        }
        Ok(tokens)
    }

    /// A sign-in at `discovery`'s issuer when the stored tokens came from another: with a person,
    /// allowed with a warning (the browser shows the new server, and nothing stored is sent to
    /// it); with none (client credentials), refused.
    fn allow_issuer(&self, discovery: &Discovery) -> Result<(), AuthError> {
        let Some(was) = self.dir.tokens().ok().flatten().and_then(|t| t.issuer) else {
            return Ok(());
        };
        if discovery::same_issuer(&was, &discovery.issuer) {
            return Ok(());
        }
        let change = AuthError::IssuerChanged { was: was.clone(), now: discovery.issuer.clone() };
        if self.settings.grant == Grant::ClientCredentials {
            return Err(change);
        }
        warn!(
            was = %was,
            now = %discovery.issuer,
            "the MCP server now names another authorization server; signing in there (nothing stored for the old one is sent to it)"
        );
        eprintln!(
            "mcp-remote: warning: {} now sends sign-in to {}, not {was}: check the sign-in page before you enter anything",
            crate::logging::redacted_url(&self.settings.server_url),
            discovery.issuer
        );
        Ok(())
    }

    /// The user's pre-registered client, and the issuer its `"issuer"` names, if any.
    fn static_client(&self) -> Result<Option<(store::Client, Option<String>)>, AuthError> {
        let Some(info) = &self.settings.static_client_info else {
            return Ok(None);
        };
        let mut client = client::static_client(info)?;
        let named = match client.extra.remove("issuer") {
            Some(Value::String(issuer)) => Some(issuer),
            Some(_) => {
                return Err(AuthError::Registration(
                    "--static-oauth-client-info: \"issuer\" must be the authorization server's issuer URL".into(),
                ))
            }
            None => None,
        };
        Ok(Some((client, named)))
    }

    /// The user's pre-registered client, if any, for `discovery`'s issuer: refused when it
    /// belongs to another (its `"issuer"`, else the issuer it was first used with). With
    /// `--token-endpoint` the user named the one place it goes, and nothing is checked.
    fn static_client_for(&self, discovery: &Discovery) -> Result<Option<store::Client>, AuthError> {
        let Some((client, named)) = self.static_client()? else {
            return Ok(None);
        };
        if self.settings.token_endpoint.is_some() {
            return Ok(Some(client));
        }
        let bound = match named {
            Some(issuer) => Some(issuer),
            None => self.dir.clients()?.static_issuer(&client.client_id).map(str::to_owned),
        };
        match bound {
            Some(bound) if !discovery::same_issuer(&bound, &discovery.issuer) => Err(AuthError::ClientBoundElsewhere {
                client_id: client.client_id,
                bound,
                named: discovery.issuer.clone(),
            }),
            _ => Ok(Some(client)),
        }
    }

    /// After the first successful use of a pre-registered client that names no issuer, binds it
    /// to the issuer it was used with.
    async fn bind_static_client(&self, discovery: &Discovery) -> Result<(), AuthError> {
        if self.settings.token_endpoint.is_some() {
            return Ok(());
        }
        let Some((client, None)) = self.static_client()? else {
            return Ok(());
        };
        let mut clients = self.dir.clients()?;
        if clients.static_issuer(&client.client_id).is_none() {
            clients.bind_static(&client.client_id, &discovery.issuer);
            self.write(|dir, clients| dir.save_clients(clients), &clients).await?;
            info!(issuer = %discovery.issuer, "the pre-registered client is bound to this authorization server from now on");
        }
        Ok(())
    }

    /// Refuses a new sign-in with a person while the last one (this process's, or another's whose
    /// tokens it adopted) is recent and the server has refused its token without ever taking it:
    /// a server that refuses everything gets one browser per [`SIGN_IN_COOLDOWN`], not one per
    /// request.
    fn cool_down(&self) -> Result<(), AuthError> {
        if self.settings.grant == Grant::ClientCredentials || self.accepted.load(Ordering::Relaxed) {
            return Ok(());
        }
        match self.last_sign_in.lock().expect("poisoned").map(|at| at.elapsed()) {
            Some(age) if age < SIGN_IN_COOLDOWN => Err(AuthError::SignInCooldown {
                age_secs: age.as_secs(),
                wait_secs: (SIGN_IN_COOLDOWN - age).as_secs().max(1),
            }),
            _ => Ok(()),
        }
    }

    /// The first tokens, by the grant the command line chose.
    async fn obtain(&self, discovery: &Discovery, scope: Option<String>) -> Result<Tokens, AuthError> {
        match self.settings.grant {
            Grant::AuthorizationCode => self.authorize(discovery, scope).await,
            Grant::DeviceCode => self.sign_in_with_device_code(discovery, scope).await,
            Grant::ClientCredentials => self.client_credentials(discovery, scope).await,
        }
    }

    /// Where `client.json` keeps our registration with this issuer: a device-grant client is
    /// registered apart from the redirect-based one.
    fn client_key(&self, discovery: &Discovery) -> String {
        match self.settings.grant {
            Grant::DeviceCode => format!("{} {}", discovery.issuer, client::DEVICE_CODE_GRANT),
            _ => discovery.issuer.clone(),
        }
    }

    async fn forget_client(&self, discovery: &Discovery) -> Result<(), AuthError> {
        let key = self.client_key(discovery);
        let mut clients = self.dir.clients()?;
        if clients.get(&key).is_some() {
            clients.remove(&key);
            self.write(|dir, clients| dir.save_clients(clients), &clients).await?;
        }
        Ok(())
    }

    async fn authorize(&self, discovery: &Discovery, scope: Option<String>) -> Result<Tokens, AuthError> {
        if !discovery.default_endpoints {
            discovery::require_pkce(&discovery.server)?;
        }
        let (listener, client) = self.listener_and_client(discovery).await?;
        let redirect_uri = listener.redirect_uri().to_string();
        let oauth = self.browser_client(discovery, &client, &redirect_uri)?;
        let resource = self.resource(discovery);
        let (pkce_challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = oauth.authorize_url(CsrfToken::new_random).set_pkce_challenge(pkce_challenge);
        if let Some(resource) = &resource {
            request = request.add_extra_param("resource", resource.clone());
        }
        if let Some(scope) = &scope {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        for (name, value) in &self.settings.authorize_params {
            request = request.add_extra_param(name.clone(), value.clone());
        }
        let (url, state) = request.url();
        let handed_off = self.show(&url)?;
        let waited = tokio::time::timeout(self.settings.timeout, listener.wait(state.secret())).await;
        if handed_off {
            self.dir.clear_sign_in();
        }
        let callback = waited
            .map_err(|_| AuthError::Timeout(self.settings.timeout))?
            .map_err(|e| AuthError::Browser(format!("the callback listener failed: {e}")))?;
        let code = match callback {
            Callback::Code { code, iss } => {
                self.check_issuer(discovery, iss.as_deref())?;
                code
            }
            Callback::Denied { error, description } => {
                return Err(AuthError::Denied(match description {
                    Some(description) => format!("{error}: {description}"),
                    None => error,
                }))
            }
        };
        let mut request = oauth.exchange_code(AuthorizationCode::new(code)).set_pkce_verifier(verifier);
        if let Some(resource) = &resource {
            request = request.add_extra_param("resource", resource.clone());
        }
        if client::token_auth(&client, &discovery.server) == TokenAuth::Basic {
            // Basic authenticates the client; some servers still want its id in the form too.
            request = request.add_extra_param("client_id", client.client_id.clone());
        }
        let response = request.request_async(self.token_http().await?).await.map_err(token_error)?;
        info!("signed in");
        Ok(tokens_from(&response, scope, &discovery.issuer, resource.as_deref()))
    }

    /// Shows the authorization page: through the tray app when it runs (returns true: the
    /// sign-in was published there), else with the opener.
    fn show(&self, url: &Url) -> Result<bool, AuthError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(AuthError::Browser(format!("refusing to open a {} URL for sign-in", url.scheme())));
        }
        self.person_asked();
        if self.settings.hand_off_to_tray && self.store.tray_running() {
            let now = store::unix_now();
            self.dir.publish_sign_in(&PendingSignIn {
                version: store::FORMAT_VERSION,
                pid: std::process::id(),
                url: url.to_string(),
                started: now,
                deadline: now + self.settings.timeout.as_secs(),
                extra: Map::new(),
            })?;
            eprintln!("mcp-remote: sign-in needed; finish it from the mcp-remote tray app, or open:\n  {url}");
            return Ok(true);
        }
        match &self.settings.opener {
            Opener::System { browser } => browser::open(url, browser.as_deref()),
            Opener::Custom(open) => open(url),
        }
        .map_err(|e| AuthError::Browser(e.to_string()))?;
        Ok(false)
    }

    /// RFC 9207, as the MCP spec's table says: when the server promises `iss`, it must be there;
    /// when it is there, it must equal the issuer exactly.
    fn check_issuer(&self, discovery: &Discovery, iss: Option<&str>) -> Result<(), AuthError> {
        let expected = discovery.server.issuer.as_deref().unwrap_or(&discovery.issuer);
        match iss {
            Some(iss) if iss != expected => {
                Err(AuthError::Rejected(format!("the response came from issuer {iss:?}, not {expected:?}")))
            }
            None if discovery.server.authorization_response_iss_parameter_supported => {
                Err(AuthError::Rejected("the response lacks the iss parameter the server promised".into()))
            }
            _ => Ok(()),
        }
    }

    /// Binds the callback listener and picks the client identity for its redirect URI. A kept
    /// registration's port is reused when the user named none, so the redirect URI still matches.
    async fn listener_and_client(&self, discovery: &Discovery) -> Result<(CallbackListener, store::Client), AuthError> {
        let host = &self.settings.callback_host;
        if let Some(client) = self.static_client_for(discovery)? {
            let port = self.port_for(&client);
            let listener = self.bind(host, port).await?;
            return Ok((listener, client));
        }
        if let Some(url) = self.settings.client_metadata_url.as_deref() {
            if discovery.server.client_id_metadata_document_supported {
                let listener = self.bind(host, self.settings.callback_port).await?;
                let client = client::metadata_document_client(url, listener.redirect_uri());
                return Ok((listener, client));
            }
        }
        let mut clients = self.dir.clients()?;
        if let Some(kept) = clients.get(&discovery.issuer) {
            if let Ok(listener) = self.bind(host, self.port_for(&kept)).await {
                if kept.redirect_uris.iter().any(|u| u == listener.redirect_uri()) {
                    return Ok((listener, kept));
                }
            }
        }
        let listener = self.bind(host, self.settings.callback_port).await?;
        let client = client::register(
            &self.guarded().await?.http,
            discovery,
            Registration::Redirect(listener.redirect_uri()),
            self.settings.client_metadata.as_ref(),
        )
        .await?;
        clients.set(&discovery.issuer, &client);
        self.write(|dir, clients| dir.save_clients(clients), &clients).await?;
        info!("registered a client with the authorization server");
        Ok((listener, client))
    }

    /// The positional port, else the port of the client's registered redirect URI, else any.
    fn port_for(&self, client: &store::Client) -> u16 {
        if self.settings.callback_port != 0 {
            return self.settings.callback_port;
        }
        client
            .redirect_uris
            .iter()
            .filter_map(|u| Url::parse(u).ok())
            .find(|u| u.path() == self.settings.landing.path)
            .and_then(|u| u.port())
            .unwrap_or(0)
    }

    async fn bind(&self, host: &str, port: u16) -> Result<CallbackListener, AuthError> {
        CallbackListener::bind(host, port, &self.settings.landing)
            .await
            .map_err(|e| AuthError::Browser(format!("cannot listen for the sign-in callback on {host}:{port}: {e}")))
    }
}

/// Reads `data` as each document sign-in takes from a server (discovery metadata, a token
/// response) and does with it what sign-in does (see [`crate::fuzzing`]).
#[cfg(feature = "fuzzing")]
pub fn fuzz_documents(data: &[u8]) {
    discovery::fuzz(data);
    if let Ok(response) = serde_json::from_slice::<oauth2::basic::BasicTokenResponse>(data) {
        let _ = tokens_from(&response, None, "https://issuer.example", Some("https://example.com/mcp"));
    }
}

/// Stored form of a token response; `requested` is the scope asked for, used when the server
/// does not say what it granted.
fn tokens_from<R: TokenResponse>(
    response: &R,
    requested: Option<String>,
    issuer: &str,
    resource: Option<&str>,
) -> Tokens {
    let granted = response.scopes().map(|scopes| scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "));
    Tokens {
        version: store::FORMAT_VERSION,
        access_token: response.access_token().secret().clone(),
        token_type: "Bearer".into(),
        refresh_token: response.refresh_token().map(|t| t.secret().clone()),
        expires_at: response.expires_in().map(|d| store::unix_now().saturating_add(d.as_secs())),
        scope: granted.or(requested),
        issuer: Some(issuer.to_string()),
        resource: resource.map(str::to_owned),
        signed_in_at: None,
        extra: Map::new(),
    }
}

/// A token endpoint failure in words, with the OAuth error code first (`invalid_grant`, …).
fn token_error<E: std::error::Error>(error: RequestTokenError<E, oauth2::basic::BasicErrorResponse>) -> AuthError {
    match error {
        RequestTokenError::ServerResponse(response) => {
            let code = match response.error() {
                BasicErrorResponseType::InvalidClient => "invalid_client".to_string(),
                BasicErrorResponseType::InvalidGrant => "invalid_grant".to_string(),
                other => other.to_string(),
            };
            let description = response.error_description().map(|d| format!(": {d}")).unwrap_or_default();
            AuthError::Token(format!("{code}{description}"))
        }
        RequestTokenError::Request(e) => AuthError::Network(e.to_string()),
        RequestTokenError::Parse(e, _) => AuthError::Token(format!("the token response is not valid: {e}")),
        RequestTokenError::Other(e) => AuthError::Token(e),
    }
}
