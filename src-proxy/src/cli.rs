//! Command line and environment: `mcp-remote <server-url> [port] [flags]`.
//!
//! Two stages. [`Args`] is what clap reads, validated without any I/O; [`Config::resolve`] then reads
//! the environment (`${ENV}` in headers, `MCP_REMOTE_CONFIG_DIR`), `@file` arguments and the OS config
//! directory, and yields the typed [`Config`] the library runs on. Every failure is one [`CliError`]
//! line; nothing here panics or exits.

use clap::Parser;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Url;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Headers the proxy owns; a `--header` naming one of them is refused at start-up.
pub const RESERVED_HEADERS: &[&str] = &[
    "accept",
    "connection",
    "content-length",
    "content-type",
    "host",
    "keep-alive",
    "last-event-id",
    "mcp-method",
    "mcp-name",
    "mcp-protocol-version",
    "mcp-session-id",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Environment variable that overrides the config directory (the flag wins).
pub const CONFIG_DIR_ENV: &str = "MCP_REMOTE_CONFIG_DIR";
/// Environment variable naming the program that opens the sign-in URL.
pub const BROWSER_ENV: &str = "BROWSER";

/// Connects a stdio MCP client (Claude Desktop) to a remote Streamable HTTP MCP server.
#[derive(Debug, Parser)]
#[command(
    name = "mcp-remote",
    version,
    about,
    max_term_width = 100,
    after_help = "Commands (each with its own --help):\n  mcp-remote login <SERVER_URL> [flags]    sign in now\n  mcp-remote logout <SERVER_URL> [flags]   forget the server's tokens\n  mcp-remote client <SERVER_URL> [flags]   connect, list tools, --call one\n  mcp-remote status [--json]               every stored server's sign-in\n  mcp-remote import-npm [SERVER_URL...]    bring over the npm mcp-remote's sign-ins"
)]
pub struct Args {
    /// URL of the remote MCP endpoint (https:// unless --allow-http)
    #[arg(value_name = "SERVER_URL")]
    server_url: String,

    /// Port of the local OAuth callback listener (0 or omitted: any free port)
    #[arg(value_name = "PORT")]
    port: Option<String>,

    /// HTTP header sent with every request, "Name: value"; repeatable; ${VAR} is read from the environment
    #[arg(long = "header", value_name = "K: V")]
    headers: Vec<String>,

    /// File of headers, one "Name: value" a line (# comments, blank lines skipped); repeatable
    #[arg(long = "header-file", value_name = "PATH")]
    header_files: Vec<PathBuf>,

    /// Allow a plain http:// server URL (development only)
    #[arg(long)]
    allow_http: bool,

    /// Verbose logs on stderr
    #[arg(long, conflicts_with = "silent")]
    debug: bool,

    /// Log errors only
    #[arg(long)]
    silent: bool,

    /// How long to wait for the OAuth callback: 30s, 2m, 1m30s or a number of seconds
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    auth_timeout: String,

    /// How long a request the server could not be reached for is retried before it fails (0: never)
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    retry_for: String,

    /// Client metadata for dynamic registration, inline JSON or @file.json
    #[arg(long, value_name = "JSON|@FILE")]
    static_oauth_client_metadata: Option<String>,

    /// A registered client (client_id, optional client_secret), inline JSON or @file.json; skips registration
    #[arg(long, value_name = "JSON|@FILE")]
    static_oauth_client_info: Option<String>,

    /// Client ID Metadata Document URL to use as client_id where the server supports it (https)
    #[arg(long, value_name = "URL")]
    client_metadata_url: Option<String>,

    /// The protected resource URI to request tokens for (default: discovered)
    #[arg(long, value_name = "URI")]
    resource: Option<String>,

    /// Loopback host the OAuth callback listener binds to
    #[arg(long, value_name = "HOST", default_value = "127.0.0.1")]
    host: String,

    /// Transports to try: http-first (Streamable HTTP, then HTTP+SSE), sse-first, http-only, sse-only
    #[arg(long, value_name = "MODE", default_value = "http-first")]
    transport: String,

    /// Protocol eras to try: auto (2026-07-28 where the server speaks it, else 2025) or legacy (2025 only)
    #[arg(long, value_name = "auto|legacy", default_value = "auto")]
    protocol: String,

    /// Path of the OAuth callback on the loopback listener
    #[arg(long, value_name = "PATH", default_value = "/callback")]
    callback_path: String,

    /// Send the browser here (303) after a successful sign-in, instead of showing a page
    #[arg(long, value_name = "URL")]
    auth_success_url: Option<String>,

    /// Extra parameter of the authorization URL, key=value (prompt=consent …); repeatable
    #[arg(long = "authorize-param", value_name = "KEY=VALUE")]
    authorize_params: Vec<String>,

    /// Never send the RFC 8707 resource parameter (for authorization servers that refuse it)
    #[arg(long)]
    disable_resource_parameter: bool,

    /// Token endpoint for --client-credentials, used without any discovery
    #[arg(long, value_name = "URL", requires = "client_credentials")]
    token_endpoint: Option<String>,

    /// Seconds to wait for a TCP/TLS connection [default: 30]
    #[arg(long, value_name = "SECONDS")]
    connect_timeout: Option<String>,

    /// Seconds a response body may go silent before the connection is dropped (0: never) [default: never]
    #[arg(long, value_name = "SECONDS")]
    body_timeout: Option<String>,

    /// Accepted for the npm proxy's command line: a server that never answers is covered by --retry-for and the stream's own checks
    #[arg(long, value_name = "SECONDS", hide = true)]
    headers_timeout: Option<String>,

    /// Ping the server every --ping-interval (30 s) so idle connections stay open
    #[arg(long)]
    keep_alive: bool,

    /// Seconds between keep-alive pings; turns --keep-alive on
    #[arg(long, value_name = "SECONDS")]
    ping_interval: Option<String>,

    /// Connect over IPv4 only
    #[arg(long)]
    ipv4: bool,

    /// Accepted for the npm proxy's command line: proxies from the environment are always used
    #[arg(long, hide = true)]
    enable_proxy: bool,

    /// Accepted for the npm proxy's command line: mcp-remote keeps no cookies
    #[arg(long, hide = true)]
    disable_cookies: bool,

    /// Send the ID token instead of the access token (refused: see README)
    #[arg(long, hide = true)]
    use_id_token: bool,

    /// Root directory for tokens, client registrations and metadata [env: MCP_REMOTE_CONFIG_DIR]
    #[arg(long, value_name = "PATH")]
    config_dir: Option<PathBuf>,

    /// Sign in with a code entered on any device (RFC 8628), for machines without a browser
    #[arg(long, conflicts_with = "client_credentials")]
    device_code: bool,

    /// Get tokens as the client itself, with no person (the client comes from --static-oauth-client-info)
    #[arg(long)]
    client_credentials: bool,

    /// PEM private key that signs the client's assertions (private_key_jwt, RFC 7523) for --client-credentials
    #[arg(long, value_name = "PEM", requires = "client_credentials")]
    client_private_key: Option<PathBuf>,

    /// JWS algorithm of --client-private-key: ES256, ES384, RS256, PS256, EdDSA … [default: from the key]
    #[arg(long, value_name = "ALG", requires = "client_private_key")]
    client_key_algorithm: Option<String>,

    /// Key id (kid) to put in the assertion's header
    #[arg(long, value_name = "KID", requires = "client_private_key")]
    client_key_id: Option<String>,

    /// Hide tools whose names match this glob (* and ?) from the client, and refuse calls of them; repeatable
    #[arg(long = "ignore-tool", value_name = "GLOB")]
    ignore_tools: Vec<String>,

    /// Offer only tools whose names match this glob (--ignore-tool still applies); repeatable
    #[arg(long = "allow-tool", value_name = "GLOB")]
    allow_tools: Vec<String>,

    /// PEM bundle of CA certificates to trust on top of the OS store (a company proxy's CA); repeatable [env: SSL_CERT_FILE]
    #[arg(long = "ca-file", value_name = "PEM")]
    ca_files: Vec<PathBuf>,
}

/// What the command line asks for: the proxy (the default, as Claude Desktop runs it), or one of
/// the commands for people without the tray app.
#[derive(Debug)]
pub enum Invocation {
    Proxy(Config),
    /// `login <url> [flags]`: sign in now (if needed) and say so.
    Login(Config),
    /// `logout <url> [flags]`: forget the server's tokens.
    Logout(Config),
    /// `client <url> [flags] [--call TOOL [--args JSON]]`: connect, list tools, call one.
    Client {
        config: Config,
        call: Option<ToolCall>,
    },
    /// `status [--json]`: every stored server's sign-in.
    Status {
        config_dir: PathBuf,
        json: bool,
    },
    /// `import-npm [URL…] [--from DIR] [--claude-config FILE]`: copy the npm proxy's sign-ins here.
    ImportNpm {
        config_dir: PathBuf,
        from: Option<PathBuf>,
        urls: Vec<String>,
        claude_config: Option<PathBuf>,
    },
}

/// A tool to call from `client`, with its JSON arguments.
#[derive(Debug, Clone)]
pub struct ToolCall {
    pub name: String,
    pub arguments: serde_json::Map<String, serde_json::Value>,
}

/// The words that name a command instead of a server URL.
pub const COMMANDS: &[&str] = &["login", "logout", "client", "status", "import-npm"];

#[derive(Debug, Parser)]
#[command(name = "mcp-remote client", version, max_term_width = 100)]
/// Connects to the server (signing in if needed), lists its tools, and calls one if asked.
struct ClientArgs {
    #[command(flatten)]
    args: Args,
    /// Call this tool after listing the tools
    #[arg(long, value_name = "TOOL")]
    call: Option<String>,
    /// The tool's arguments, a JSON object (inline or @file.json)
    #[arg(long = "args", value_name = "JSON|@FILE", requires = "call")]
    call_args: Option<String>,
}

#[derive(Debug, Parser)]
#[command(name = "mcp-remote status", version, max_term_width = 100)]
/// Shows every server in the credential store: signed in or not, expiry, issuer, scopes.
struct StatusArgs {
    /// One JSON array instead of a table
    #[arg(long)]
    json: bool,
    /// Root directory of the credential store [env: MCP_REMOTE_CONFIG_DIR]
    #[arg(long, value_name = "PATH")]
    config_dir: Option<PathBuf>,
}

#[derive(Debug, Parser)]
#[command(name = "mcp-remote import-npm", version, max_term_width = 100)]
/// Copies the sign-ins of the npm mcp-remote (~/.mcp-auth) into this store, so no one signs in again.
struct ImportArgs {
    /// Servers to import (default: every npm mcp-remote entry of Claude Desktop's config)
    #[arg(value_name = "SERVER_URL")]
    urls: Vec<String>,
    /// Claude Desktop's config file to read the entries from [default: the OS's location]
    #[arg(long, value_name = "FILE")]
    claude_config: Option<PathBuf>,
    /// The npm proxy's folder [default: $MCP_REMOTE_CONFIG_DIR of npm, else ~/.mcp-auth]
    #[arg(long, value_name = "PATH")]
    from: Option<PathBuf>,
    /// Root directory of this credential store [env: MCP_REMOTE_CONFIG_DIR]
    #[arg(long, value_name = "PATH")]
    config_dir: Option<PathBuf>,
}

impl Invocation {
    /// Parses `args` (program name first): a command word, else the proxy's command line. An
    /// npx prefix (`-y mcp-remote@latest`, left from a Claude Desktop entry written for the npm
    /// proxy whose `command` was swapped for this binary) is skipped.
    pub fn from_args(
        mut args: Vec<std::ffi::OsString>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, CliError> {
        let npx_prefix = args
            .iter()
            .skip(1)
            .take_while(|a| a.to_str().is_some_and(|a| matches!(a, "-y" | "--yes") || is_npm_package(a)))
            .count();
        args.drain(1..1 + npx_prefix);
        let command = args.get(1).and_then(|a| a.to_str()).filter(|a| COMMANDS.contains(a)).map(str::to_owned);
        let Some(command) = command else {
            return Ok(Self::Proxy(Config::from_args(args, env)?));
        };
        let rest =
            std::iter::once(std::ffi::OsString::from(format!("mcp-remote {command}"))).chain(args.into_iter().skip(2));
        match command.as_str() {
            "login" => Ok(Self::Login(Config::resolve(Args::try_parse_from(rest)?, env)?)),
            "logout" => Ok(Self::Logout(Config::resolve(Args::try_parse_from(rest)?, env)?)),
            "client" => {
                let parsed = ClientArgs::try_parse_from(rest)?;
                let call = match parsed.call {
                    None => None,
                    Some(name) => {
                        let arguments = match parsed.call_args.as_deref() {
                            Some(json) => json_object_argument("--args", json)?,
                            None => serde_json::Map::new(),
                        };
                        Some(ToolCall { name, arguments })
                    }
                };
                Ok(Self::Client { config: Config::resolve(parsed.args, env)?, call })
            }
            "status" => {
                let parsed = StatusArgs::try_parse_from(rest)?;
                Ok(Self::Status { config_dir: config_dir_from(parsed.config_dir, env)?, json: parsed.json })
            }
            _ => {
                let parsed = ImportArgs::try_parse_from(rest)?;
                Ok(Self::ImportNpm {
                    config_dir: config_dir_from(parsed.config_dir, env)?,
                    from: parsed.from,
                    urls: parsed.urls,
                    claude_config: parsed.claude_config,
                })
            }
        }
    }
}

/// `mcp-remote`, `mcp-remote@latest`, `mcp-remote@0.1.29`: the npm package an npx line names.
fn is_npm_package(arg: &str) -> bool {
    arg == "mcp-remote" || arg.strip_prefix("mcp-remote@").is_some_and(|v| !v.is_empty() && !v.contains('/'))
}

/// `--config-dir`, else `MCP_REMOTE_CONFIG_DIR`, else the OS config directory.
/// The config-dir rule the sidecar and the tray app share: `--config-dir`, else
/// `MCP_REMOTE_CONFIG_DIR`, else [`default_config_dir`]; an error when none gives one.
pub fn config_dir_from(flag: Option<PathBuf>, env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, CliError> {
    flag.or_else(|| env(CONFIG_DIR_ENV).filter(|v| !v.is_empty()).map(PathBuf::from))
        .or_else(default_config_dir)
        .ok_or_else(|| CliError::invalid("no config directory: pass --config-dir or set MCP_REMOTE_CONFIG_DIR"))
}

/// How much the proxy logs to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Info,
    Debug,
}

/// Everything the proxy needs, validated and resolved.
#[derive(Debug, Clone)]
pub struct Config {
    pub server_url: Url,
    /// The server URL exactly as given: the credential store's key is made from it.
    pub server_url_arg: String,
    /// Port for the OAuth callback listener; 0 lets the OS choose.
    pub callback_port: u16,
    /// Loopback host the callback listener binds to.
    pub callback_host: String,
    /// User headers, values marked sensitive so they never print.
    pub headers: HeaderMap,
    pub allow_http: bool,
    pub log_level: LogLevel,
    pub auth_timeout: Duration,
    /// How long an undelivered request is retried (connection refused, 503, 429 …) before it fails.
    pub retry_for: Duration,
    pub static_client_metadata: Option<serde_json::Map<String, serde_json::Value>>,
    pub static_client_info: Option<serde_json::Map<String, serde_json::Value>>,
    pub client_metadata_url: Option<Url>,
    /// The `resource` to request tokens for, exactly as given.
    pub resource: Option<String>,
    pub config_dir: PathBuf,
    /// Program that opens the sign-in URL instead of the platform opener.
    pub browser: Option<PathBuf>,
    /// Which transports to try, in what order.
    pub transport: crate::transport::TransportMode,
    /// Trusted roots, proxy and timeouts for every HTTP client.
    pub network: crate::network::Network,
    /// How a sign-in gets its first tokens.
    pub grant: crate::auth::Grant,
    /// The key for `private_key_jwt` client authentication.
    pub client_key: Option<crate::auth::ClientKey>,
    /// Send RFC 8707 `resource` (false with `--disable-resource-parameter`).
    pub send_resource: bool,
    /// `--authorize-param` pairs.
    pub authorize_params: Vec<(String, String)>,
    /// Path of the loopback callback.
    pub callback_path: String,
    pub auth_success_url: Option<String>,
    /// `--token-endpoint`: skip discovery for the client credentials grant.
    pub token_endpoint: Option<String>,
    /// Ping the server this often (`--keep-alive`, `--ping-interval`).
    pub keep_alive: Option<Duration>,
    /// Ask servers for 2026-07-28 (`--protocol auto`); false: 2025 handshakes only.
    pub probe_modern: bool,
    /// Globs of tools hidden from the client (`--ignore-tool`).
    pub ignore_tools: Vec<String>,
    /// Globs of the only tools offered (`--allow-tool`; empty: all).
    pub allow_tools: Vec<String>,
}

impl Config {
    /// The server's folder in the credential store.
    pub fn server_key(&self) -> crate::store::ServerKey {
        crate::store::ServerKey::new(&self.server_url_arg, self.resource.as_deref())
    }

    /// True when the user supplied `Authorization` themselves: OAuth stays off.
    pub fn has_user_authorization(&self) -> bool {
        self.headers.contains_key(http::header::AUTHORIZATION)
    }
}

/// A start-up failure, printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// `--help`, `--version` or a usage error from clap; print it as clap formats it.
    #[error("{0}")]
    Clap(#[from] clap::Error),
    #[error("{0}")]
    Invalid(String),
}

impl CliError {
    fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}

/// Where the config directory comes from when neither the flag nor the variable is set.
pub fn default_config_dir() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("mcp-remote"))
}

/// The browser rule: the `BROWSER` program when set and not empty, else the platform's opener.
pub fn browser_from(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env(BROWSER_ENV).filter(|v| !v.is_empty()).map(PathBuf::from)
}

impl Config {
    /// Parses `args` (program name first) and resolves them against `env`.
    pub fn from_args<I, T>(args: I, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, CliError>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let args = Args::try_parse_from(args)?;
        Self::resolve(args, env)
    }

    /// The second stage: reads the environment and files named by the arguments.
    pub fn resolve(args: Args, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, CliError> {
        let server_url = parse_server_url(&args.server_url, args.allow_http)?;
        let callback_port = match &args.port {
            None => 0,
            Some(port) => port
                .parse::<u16>()
                .map_err(|_| CliError::invalid(format!("port must be a number from 0 to 65535, got {port:?}")))?,
        };
        validate_callback_host(&args.host)?;
        let mut headers = HeaderMap::new();
        for raw in &args.headers {
            let (name, value) = parse_header(raw, env)?;
            headers.append(name, value);
        }
        for file in &args.header_files {
            let text = std::fs::read_to_string(file)
                .map_err(|e| CliError::invalid(format!("--header-file {}: {e}", file.display())))?;
            for (number, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let (name, value) = parse_header(line, env).map_err(|e| {
                    CliError::invalid(format!("--header-file {} line {}: {e}", file.display(), number + 1))
                })?;
                headers.append(name, value);
            }
        }
        let auth_timeout = parse_duration(&args.auth_timeout)
            .map_err(|why| CliError::invalid(format!("--auth-timeout {:?}: {why}", args.auth_timeout)))?;
        let retry_for = match args.retry_for.trim() {
            "0" => Duration::ZERO,
            text => parse_duration(text)
                .map_err(|why| CliError::invalid(format!("--retry-for {:?}: {why}", args.retry_for)))?,
        };
        let static_client_metadata = args
            .static_oauth_client_metadata
            .as_deref()
            .map(|arg| json_object_argument("--static-oauth-client-metadata", arg))
            .transpose()?;
        let static_client_info = args
            .static_oauth_client_info
            .as_deref()
            .map(|arg| json_object_argument("--static-oauth-client-info", arg))
            .transpose()?
            .map(|info| interpolate_client_info(info, env))
            .transpose()?;
        if let Some(info) = &static_client_info {
            let has_client_id = info.get("client_id").and_then(|id| id.as_str()).is_some_and(|id| !id.is_empty());
            if !has_client_id {
                return Err(CliError::invalid(
                    "--static-oauth-client-info must contain a non-empty string \"client_id\"",
                ));
            }
        }
        if let Some(r) = args.resource.as_deref() {
            let parsed = Url::parse(r)
                .map_err(|e| CliError::invalid(format!("--resource {r:?} is not an absolute URI: {e}")))?;
            if parsed.fragment().is_some() {
                return Err(CliError::invalid(format!("--resource {r:?} must not have a fragment")));
            }
        }
        let resource = args.resource;
        let client_metadata_url = args
            .client_metadata_url
            .as_deref()
            .map(|u| {
                let url = Url::parse(u)
                    .map_err(|e| CliError::invalid(format!("--client-metadata-url {u:?} is not a URL: {e}")))?;
                if url.scheme() != "https" || url.path() == "/" {
                    return Err(CliError::invalid(format!(
                        "--client-metadata-url {u:?} must be an https URL with a path"
                    )));
                }
                Ok(url)
            })
            .transpose()?;
        let config_dir = config_dir_from(args.config_dir, env)?;
        let browser = browser_from(env);
        let transport = args.transport.parse().map_err(|why| CliError::invalid(format!("--transport: {why}")))?;
        let mut network = resolve_network(&args.ca_files, env)?;
        network.ipv4_only = args.ipv4;
        if let Some(text) = &args.connect_timeout {
            network.connect_timeout = parse_seconds(text, "--connect-timeout")?
                .ok_or_else(|| CliError::invalid("--connect-timeout must be more than 0 seconds"))?;
        }
        if let Some(text) = &args.body_timeout {
            network.body_timeout = parse_seconds(text, "--body-timeout")?;
        }
        if let Some(text) = &args.headers_timeout {
            parse_seconds(text, "--headers-timeout")?;
        }
        if args.use_id_token {
            return Err(CliError::invalid(
                "--use-id-token is not supported: mcp-remote sends the access token, which is what MCP servers must accept",
            ));
        }
        let keep_alive = match &args.ping_interval {
            Some(text) => Some(
                parse_seconds(text, "--ping-interval")?
                    .ok_or_else(|| CliError::invalid("--ping-interval must be more than 0 seconds"))?,
            ),
            None => args.keep_alive.then_some(DEFAULT_PING_INTERVAL),
        };
        let probe_modern = match args.protocol.as_str() {
            "auto" => true,
            "legacy" => false,
            other => return Err(CliError::invalid(format!("--protocol {other:?}: use auto or legacy"))),
        };
        if !args.callback_path.starts_with('/') || args.callback_path.contains(['?', '#']) {
            return Err(CliError::invalid(format!(
                "--callback-path {:?} must be a path starting with / (no ? or #)",
                args.callback_path
            )));
        }
        if let Some(url) = &args.auth_success_url {
            let parsed = parse_server_url(url, args.allow_http)
                .map_err(|e| CliError::invalid(format!("--auth-success-url: {e}")))?;
            if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() {
                return Err(CliError::invalid("--auth-success-url must have no query, fragment or user"));
            }
        }
        let authorize_params =
            args.authorize_params.iter().map(|pair| parse_authorize_param(pair)).collect::<Result<Vec<_>, _>>()?;
        if let Some(endpoint) = &args.token_endpoint {
            parse_server_url(endpoint, args.allow_http)
                .map_err(|e| CliError::invalid(format!("--token-endpoint: {e}")))?;
        }
        let grant = match (args.device_code, args.client_credentials) {
            (true, _) => crate::auth::Grant::DeviceCode,
            (_, true) => crate::auth::Grant::ClientCredentials,
            _ => crate::auth::Grant::AuthorizationCode,
        };
        let client_key = args
            .client_private_key
            .as_deref()
            .map(|path| {
                crate::auth::ClientKey::from_file(
                    path,
                    args.client_key_algorithm.as_deref(),
                    args.client_key_id.clone(),
                )
            })
            .transpose()
            .map_err(|why| CliError::invalid(format!("--client-private-key {why}")))?;
        let log_level = match (args.debug, args.silent) {
            (true, _) => LogLevel::Debug,
            (_, true) => LogLevel::Error,
            _ => LogLevel::Info,
        };
        Ok(Self {
            server_url,
            server_url_arg: args.server_url,
            callback_port,
            callback_host: args.host,
            headers,
            allow_http: args.allow_http,
            log_level,
            auth_timeout,
            retry_for,
            static_client_metadata,
            static_client_info,
            client_metadata_url,
            resource,
            config_dir,
            browser,
            transport,
            network,
            grant,
            client_key,
            send_resource: !args.disable_resource_parameter,
            authorize_params,
            callback_path: args.callback_path,
            auth_success_url: args.auth_success_url,
            token_endpoint: args.token_endpoint,
            keep_alive,
            probe_modern,
            ignore_tools: args.ignore_tools,
            allow_tools: args.allow_tools,
        })
    }
}

/// The network settings: `--ca-file` (else `SSL_CERT_FILE`) read now, the proxy from the
/// environment. A `--ca-file` that cannot be used is an error; an inherited `SSL_CERT_FILE` that
/// cannot be used is recorded in [`Network::unusable_ca_env`] and skipped.
fn resolve_network(
    ca_files: &[PathBuf],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<crate::network::Network, CliError> {
    use crate::network::{read_ca_file, Network, ProxySettings, CA_FILE_ENV};
    let mut network = Network::default();
    if ca_files.is_empty() {
        if let Some(file) = env(CA_FILE_ENV).filter(|v| !v.is_empty()).map(PathBuf::from) {
            match read_ca_file(&file, CA_FILE_ENV) {
                Ok(roots) => {
                    network.extra_roots.extend(roots);
                    network.ca_files.push(file);
                }
                Err(error) => network.unusable_ca_env = Some(error.to_string()),
            }
        }
    }
    for file in ca_files {
        let roots = read_ca_file(file, "--ca-file").map_err(|e| CliError::invalid(e.to_string()))?;
        network.extra_roots.extend(roots);
        network.ca_files.push(file.clone());
    }
    network.proxy = ProxySettings::from_env(env);
    Ok(network)
}

fn parse_server_url(raw: &str, allow_http: bool) -> Result<Url, CliError> {
    let url = Url::parse(raw).map_err(|e| CliError::invalid(format!("server URL {raw:?} is not valid: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err(CliError::invalid(format!(
                "refusing plain HTTP server URL {raw:?}: use https://, or pass --allow-http for development"
            )))
        }
        other => return Err(CliError::invalid(format!("server URL must be https:// (got {other}://)"))),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(CliError::invalid(format!("server URL {raw:?} has no host")));
    }
    Ok(url)
}

/// The callback listener must stay on the loopback interface.
fn validate_callback_host(host: &str) -> Result<(), CliError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(CliError::invalid(format!(
            "--host {host:?} is not a loopback address: the OAuth callback only listens on 127.0.0.1, ::1 or localhost"
        )))
    }
}

/// How often `--keep-alive` pings when `--ping-interval` is not given.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(30);
/// Authorization URL parameters the sign-in sets itself.
const RESERVED_AUTHORIZE_PARAMS: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "state",
    "code_challenge",
    "code_challenge_method",
    "resource",
    "scope",
];

/// A number of seconds (fractions allowed), as the npm proxy's timeout flags take; `None` for 0.
fn parse_seconds(text: &str, flag: &str) -> Result<Option<Duration>, CliError> {
    let seconds: f64 =
        text.trim().parse().map_err(|_| CliError::invalid(format!("{flag} {text:?} is not a number of seconds")))?;
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(CliError::invalid(format!("{flag} {text:?} must be 0 or more seconds")));
    }
    Ok((seconds > 0.0).then(|| Duration::from_secs_f64(seconds)))
}

/// `key=value` for the authorization URL.
fn parse_authorize_param(pair: &str) -> Result<(String, String), CliError> {
    let (key, value) = pair
        .split_once('=')
        .ok_or_else(|| CliError::invalid(format!("--authorize-param {pair:?} must look like key=value")))?;
    let key = key.trim();
    if key.is_empty() || RESERVED_AUTHORIZE_PARAMS.contains(&key) {
        return Err(CliError::invalid(format!(
            "--authorize-param {key:?}: the sign-in sets this parameter itself (use --resource or the server's scopes)"
        )));
    }
    Ok((key.to_string(), value.to_string()))
}

/// Parses `"Name: value"` (or `Name:value`), expands `${VAR}` and refuses reserved names.
///
/// Errors never repeat the value, nor a text that may be one (a line with no colon, a name that
/// is not a header name): a header often carries a credential, and errors reach logs and windows.
/// They say where the header is instead; only a valid header name is named.
fn parse_header(raw: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<(HeaderName, HeaderValue), CliError> {
    let (name, value) = raw
        .split_once(':')
        .ok_or_else(|| CliError::invalid("--header must look like \"Name: value\" (it has no colon)"))?;
    let name = name.trim();
    let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        CliError::invalid(
            "--header: the text before the first colon is not a valid header name (letters, digits and \
             !#$%&'*+-.^_`|~ only)",
        )
    })?;
    if RESERVED_HEADERS.contains(&header_name.as_str()) {
        return Err(CliError::invalid(format!(
            "--header {name:?} is reserved: mcp-remote sets it itself and it cannot be overridden"
        )));
    }
    let expanded =
        interpolate_env(value.trim(), env).map_err(|why| CliError::invalid(format!("--header {name}: {why}")))?;
    let mut header_value = HeaderValue::from_str(&expanded).map_err(|_| {
        CliError::invalid(format!("--header {name}: the value holds characters not allowed in a header"))
    })?;
    header_value.set_sensitive(true);
    Ok((header_name, header_value))
}

/// Replaces each `${NAME}` with the variable's value. An unset variable is an error, so a header
/// is never sent with a silently empty credential.
fn interpolate_env(value: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| "unclosed \"${\" in the value".to_string())?;
        let name = &after[..end];
        let valid = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            // Not named: a "${" inside a secret would otherwise print the secret.
            return Err("a \"${…}\" in the value is not a variable name (letters, digits and _)".to_string());
        }
        let substituted = env(name).ok_or_else(|| format!("environment variable {name} is not set"))?;
        out.push_str(&substituted);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Expands `${VAR}` in the string members of `--static-oauth-client-info`, as in headers, so a
/// client secret can come from the environment (a host entry's `env`) instead of the command line.
/// Errors name the member, never its value.
fn interpolate_client_info(
    mut info: serde_json::Map<String, serde_json::Value>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<serde_json::Map<String, serde_json::Value>, CliError> {
    for (key, value) in &mut info {
        if let serde_json::Value::String(text) = value {
            *text = interpolate_env(text, env)
                .map_err(|why| CliError::invalid(format!("--static-oauth-client-info \"{key}\": {why}")))?;
        }
    }
    Ok(info)
}

/// Parses a Go-style duration (`30s`, `2m`, `1m30s`, `1.5h`, `500ms`) or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return seconds_to_duration(seconds);
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or("missing unit after the last number (use s, m, h or ms)")?;
        let number: f64 =
            rest[..number_len].parse().map_err(|_| format!("{:?} is not a number", &rest[..number_len]))?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            unit => return Err(format!("unknown unit {unit:?} (use s, m, h or ms)")),
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    seconds_to_duration(total)
}

fn seconds_to_duration(seconds: f64) -> Result<Duration, String> {
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err("must be a positive duration".into());
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| "duration is too long".into())
}

/// Reads a flag that takes inline JSON or `@path` to a JSON file, which must hold an object.
fn json_object_argument(flag: &str, arg: &str) -> Result<serde_json::Map<String, serde_json::Value>, CliError> {
    let (text, source) = match arg.strip_prefix('@') {
        Some(path) => (
            std::fs::read_to_string(path)
                .map_err(|e| CliError::invalid(format!("{flag}: cannot read {path:?}: {e}")))?,
            format!("file {path:?}"),
        ),
        None => (arg.to_string(), "the argument".to_string()),
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(CliError::invalid(format!("{flag}: {source} must hold a JSON object"))),
        Err(e) => Err(CliError::invalid(format!("{flag}: {source} is not valid JSON: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Config, CliError> {
        let argv = std::iter::once("mcp-remote").chain(args.iter().copied());
        Config::from_args(argv, &env_of(env))
    }

    fn error_of(args: &[&str]) -> String {
        parse(args, &[]).unwrap_err().to_string()
    }

    #[test]
    fn minimal_invocation_uses_defaults() {
        let c = parse(&["https://example.com/mcp"], &[("MCP_REMOTE_CONFIG_DIR", "/tmp/x")]).unwrap();
        assert_eq!(c.server_url.as_str(), "https://example.com/mcp");
        assert_eq!(c.callback_port, 0);
        assert_eq!(c.callback_host, "127.0.0.1");
        assert_eq!(c.auth_timeout, Duration::from_secs(30));
        assert_eq!(c.retry_for, Duration::from_secs(10));
        assert_eq!(c.log_level, LogLevel::Info);
        assert_eq!(c.config_dir, PathBuf::from("/tmp/x"));
        assert!(c.headers.is_empty());
        assert_eq!(c.transport, crate::transport::TransportMode::HttpFirst);
    }

    #[test]
    fn a_stale_ssl_cert_file_is_skipped_but_a_bad_ca_file_is_refused() {
        let stale = [("MCP_REMOTE_CONFIG_DIR", "/tmp/x"), ("SSL_CERT_FILE", "${SSL_CERT_FILE}")];
        let c = parse(&["https://example.com/mcp"], &stale).unwrap();
        assert!(c.network.ca_files.is_empty());
        let why = c.network.unusable_ca_env.expect("the stale variable is reported");
        assert!(why.starts_with("SSL_CERT_FILE") && why.contains("${SSL_CERT_FILE}"), "{why}");
        let refused = parse(&["https://example.com/mcp", "--ca-file", "/nonexistent/ca.pem"], &stale).unwrap_err();
        assert!(refused.to_string().starts_with("--ca-file"), "{refused}");
    }

    fn invocation(args: &[&str], env: &[(&str, &str)]) -> Result<Invocation, CliError> {
        let argv = std::iter::once("mcp-remote").chain(args.iter().copied()).map(Into::into).collect();
        Invocation::from_args(argv, &env_of(env))
    }

    #[test]
    fn an_npm_proxy_command_line_is_taken_whole() {
        let dir = tempfile::tempdir().unwrap();
        let header_file = dir.path().join("headers");
        std::fs::write(&header_file, "# team key\nX-Team: ${TEAM}\n\nX-Other:2\n").unwrap();
        let Ok(Invocation::Proxy(c)) = invocation(
            &[
                "-y",
                "mcp-remote@latest",
                "https://example.com/mcp",
                "9696",
                "--header",
                "Authorization:${AUTH_HEADER}",
                "--header-file",
                header_file.to_str().unwrap(),
                "--transport",
                "http-first",
                "--ignore-tool",
                "delete*",
                "--auth-timeout",
                "60",
                "--authorize-param",
                "prompt=consent",
                "--protocol",
                "legacy",
                "--callback-path",
                "/oauth/callback",
                "--connect-timeout",
                "2.5",
                "--ping-interval",
                "15",
                "--ipv4",
                "--enable-proxy",
                "--disable-cookies",
                "--disable-resource-parameter",
                "--headers-timeout",
                "0",
                "--silent",
            ],
            &[("AUTH_HEADER", "Bearer t"), ("TEAM", "blue"), ("MCP_REMOTE_CONFIG_DIR", "/x")],
        ) else {
            panic!("not the proxy")
        };
        assert_eq!(c.server_url_arg, "https://example.com/mcp");
        assert_eq!(c.callback_port, 9696);
        assert_eq!(c.headers["authorization"], "Bearer t");
        assert_eq!(c.headers["x-team"], "blue");
        assert_eq!(c.headers["x-other"], "2");
        assert_eq!(c.ignore_tools, ["delete*"]);
        assert_eq!(c.auth_timeout, Duration::from_secs(60));
        assert_eq!(c.authorize_params, [("prompt".to_string(), "consent".to_string())]);
        assert!(!c.probe_modern && !c.send_resource && c.network.ipv4_only);
        assert_eq!(c.callback_path, "/oauth/callback");
        assert_eq!(c.network.connect_timeout, Duration::from_millis(2500));
        assert_eq!(c.keep_alive, Some(Duration::from_secs(15)));
        assert_eq!(c.log_level, LogLevel::Error);
    }

    #[test]
    fn npm_flags_that_cannot_mean_the_same_are_refused_clearly() {
        for (args, needle) in [
            (vec!["https://e.com", "--use-id-token"], "--use-id-token"),
            (vec!["https://e.com", "--authorize-param", "state=x"], "sets this parameter itself"),
            (vec!["https://e.com", "--authorize-param", "novalue"], "key=value"),
            (vec!["https://e.com", "--callback-path", "cb"], "--callback-path"),
            (vec!["https://e.com", "--protocol", "2027"], "--protocol"),
            (vec!["https://e.com", "--token-endpoint", "https://as/t"], "--client-credentials"),
            (vec!["https://e.com", "--auth-success-url", "https://done.example/?x=1"], "no query"),
            (vec!["https://e.com", "--connect-timeout", "soon"], "seconds"),
        ] {
            let e = invocation(&args, &[]).unwrap_err().to_string();
            assert!(e.contains(needle), "{args:?}: {e}");
        }
    }

    #[test]
    fn command_words_pick_the_command() {
        let env = [("MCP_REMOTE_CONFIG_DIR", "/cfg")];
        assert!(matches!(invocation(&["status", "--json"], &env), Ok(Invocation::Status { json: true, .. })));
        assert!(
            matches!(invocation(&["login", "https://e.com/mcp", "--device-code"], &env), Ok(Invocation::Login(c)) if c.grant == crate::auth::Grant::DeviceCode)
        );
        assert!(matches!(invocation(&["logout", "https://e.com/mcp"], &env), Ok(Invocation::Logout(_))));
        let Ok(Invocation::Client { call: Some(call), .. }) =
            invocation(&["client", "https://e.com/mcp", "--call", "echo", "--args", r#"{"message":"hi"}"#], &env)
        else {
            panic!("client with a call")
        };
        assert_eq!((call.name.as_str(), &call.arguments["message"]), ("echo", &serde_json::json!("hi")));
        assert!(matches!(invocation(&["import-npm", "--from", "/old"], &env), Ok(Invocation::ImportNpm { .. })));
    }

    #[test]
    fn transport_takes_the_npm_modes() {
        let c = parse(&["https://example.com/mcp", "--transport", "sse-only"], &[("MCP_REMOTE_CONFIG_DIR", "/x")]);
        assert_eq!(c.unwrap().transport, crate::transport::TransportMode::SseOnly);
        let e = error_of(&["https://example.com/mcp", "--transport", "ws"]);
        assert!(e.contains("--transport") && e.contains("sse-first"), "{e}");
    }

    #[test]
    fn port_and_all_flags() {
        let c = parse(
            &[
                "https://example.com/mcp",
                "8765",
                "--header",
                "X-Api-Key:abc",
                "--header",
                "Authorization: Bearer ${TOKEN}",
                "--debug",
                "--auth-timeout",
                "2m",
                "--retry-for",
                "0",
                "--resource",
                "https://example.com/mcp",
                "--host",
                "localhost",
                "--config-dir",
                "/cfg",
                "--static-oauth-client-info",
                r#"{"client_id":"abc","client_secret":"s"}"#,
                "--static-oauth-client-metadata",
                r#"{"client_name":"x"}"#,
            ],
            &[("TOKEN", "t0k"), ("MCP_REMOTE_CONFIG_DIR", "/ignored"), ("BROWSER", "/bin/true")],
        )
        .unwrap();
        assert_eq!(c.callback_port, 8765);
        assert_eq!(c.headers["x-api-key"], "abc");
        assert_eq!(c.headers["authorization"], "Bearer t0k");
        assert!(c.headers["authorization"].is_sensitive());
        assert!(c.has_user_authorization());
        assert_eq!(c.log_level, LogLevel::Debug);
        assert_eq!(c.auth_timeout, Duration::from_secs(120));
        assert_eq!(c.retry_for, Duration::ZERO);
        assert_eq!(c.config_dir, PathBuf::from("/cfg"));
        assert_eq!(c.browser, Some(PathBuf::from("/bin/true")));
        assert_eq!(c.static_client_info.unwrap()["client_id"], "abc");
        assert_eq!(c.static_client_metadata.unwrap()["client_name"], "x");
        assert_eq!(c.resource.as_deref(), Some("https://example.com/mcp"));
        assert_eq!(c.server_url_arg, "https://example.com/mcp");
    }

    #[test]
    fn reserved_headers_are_refused_case_insensitively() {
        for name in [
            "Mcp-Session-Id",
            "accept",
            "Content-Type",
            "CONTENT-LENGTH",
            "Host",
            "Connection",
            "Upgrade",
            "MCP-Protocol-Version",
        ] {
            let e = error_of(&["https://e.com", "--header", &format!("{name}: x")]);
            assert!(e.contains("reserved"), "{name}: {e}");
        }
    }

    #[test]
    fn header_errors_never_repeat_the_value() {
        let secret = "sk-live-0123456789";
        for (raw, says) in [
            (format!("Bearer {secret}"), "no colon"),
            (format!("Authorization Bearer {secret}: x"), "not a valid header name"),
            (format!("Authorization: Bearer {secret}\u{7}"), "not allowed in a header"),
            (format!("Authorization: Bearer {secret}${{"), "unclosed"),
            (format!("Authorization: Bearer ${{{secret}}}"), "not a variable name"),
        ] {
            let e = error_of(&["https://e.com", "--header", &raw]);
            assert!(e.contains(says), "{raw:?}: {e}");
            assert!(!e.contains("0123456789"), "the error repeats the value: {e}");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("headers");
        std::fs::write(&file, format!("# keys\nBearer {secret}\n")).unwrap();
        let e = error_of(&["https://e.com", "--header-file", file.to_str().unwrap()]);
        assert!(e.contains("line 2") && !e.contains("0123456789"), "{e}");
    }

    #[test]
    fn a_static_clients_secret_can_come_from_the_environment() {
        let info = r#"{"client_id":"abc","client_secret":"${CLIENT_SECRET}"}"#;
        let c = parse(&["https://e.com", "--static-oauth-client-info", info], &[("CLIENT_SECRET", "s3cr3t")]).unwrap();
        let info_read = c.static_client_info.unwrap();
        assert_eq!(
            (info_read["client_id"].as_str(), info_read["client_secret"].as_str()),
            (Some("abc"), Some("s3cr3t"))
        );
        let e = error_of(&["https://e.com", "--static-oauth-client-info", info]);
        assert!(e.contains("\"client_secret\"") && e.contains("CLIENT_SECRET is not set"), "{e}");
    }

    #[test]
    fn header_syntax_and_env_errors() {
        assert!(error_of(&["https://e.com", "--header", "NoColon"]).contains("Name: value"));
        assert!(error_of(&["https://e.com", "--header", "Bad Name: v"]).contains("not a valid header name"));
        assert!(error_of(&["https://e.com", "--header", "X: ${MISSING}"]).contains("MISSING is not set"));
        assert!(error_of(&["https://e.com", "--header", "X: ${OPEN"]).contains("unclosed"));
        let c = parse(&["https://e.com", "--header", "X: a${A}b$c${B}"], &[("A", "1"), ("B", "2")]).unwrap();
        assert_eq!(c.headers["x"], "a1b$c2");
    }

    #[test]
    fn http_needs_allow_http() {
        assert!(error_of(&["http://127.0.0.1:1/mcp"]).contains("--allow-http"));
        let c = parse(&["http://127.0.0.1:1/mcp", "--allow-http"], &[]).unwrap();
        assert_eq!(c.server_url.scheme(), "http");
        assert!(error_of(&["ftp://e.com"]).contains("https://"));
        assert!(error_of(&["not a url"]).contains("not valid"));
    }

    #[test]
    fn bad_values_are_one_clear_line() {
        for (args, needle) in [
            (vec!["https://e.com", "99999"], "port"),
            (vec!["https://e.com", "--host", "0.0.0.0"], "loopback"),
            (vec!["https://e.com", "--auth-timeout", "soon"], "--auth-timeout"),
            (vec!["https://e.com", "--static-oauth-client-info", "{}"], "client_id"),
            (vec!["https://e.com", "--static-oauth-client-info", "@/nonexistent/x.json"], "cannot read"),
            (vec!["https://e.com", "--static-oauth-client-metadata", "[1]"], "JSON object"),
            (vec!["https://e.com", "--resource", "relative"], "--resource"),
            (vec!["https://e.com", "--resource", "https://e.com/mcp#x"], "fragment"),
            (vec!["https://e.com", "--client-metadata-url", "http://e.com/c.json"], "https URL with a path"),
        ] {
            let e = error_of(&args);
            assert!(e.contains(needle), "{args:?}: {e}");
            assert!(!e.trim_end().contains('\n'), "{args:?}: more than one line: {e}");
        }
        assert!(parse(&["https://e.com", "--debug", "--silent"], &[]).is_err());
        assert!(parse(&[], &[]).is_err());
    }

    #[test]
    fn client_info_from_file() {
        let dir = std::env::temp_dir().join(format!("mcp-remote-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("client.json");
        std::fs::write(&file, r#"{"client_id":"from-file"}"#).unwrap();
        let arg = format!("@{}", file.display());
        let c = parse(&["https://e.com", "--static-oauth-client-info", &arg], &[]).unwrap();
        assert_eq!(c.static_client_info.unwrap()["client_id"], "from-file");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn durations_in_go_and_plain_forms() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        for bad in ["", "0", "-5", "5x", "m", "1m30", "nan"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_dir_falls_back_to_os_dir() {
        let c = parse(&["https://e.com"], &[]).unwrap();
        assert_eq!(Some(c.config_dir), default_config_dir());
    }
}
