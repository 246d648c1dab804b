//! Sign-in with no browser on this machine: the device authorization grant (RFC 8628,
//! `--device-code`). The proxy asks the authorization server for a code, tells the person on
//! stderr where to enter it (and hands the link to `BROWSER` when that names a program), then
//! polls the token endpoint at the interval the server sets, slowing down when it says so,
//! until the person approves, refuses, or the code expires. `resource` goes with both requests,
//! so the token is for this MCP server.

use super::client::{self, Registration};
use super::discovery::Discovery;
use super::{browser, tokens_from, Auth, AuthError};
use crate::store::{self, Tokens};
use oauth2::{
    DeviceAuthorizationUrl, DeviceCodeErrorResponseType, RequestTokenError, Scope, StandardDeviceAuthorizationResponse,
};
use tracing::info;

impl Auth {
    /// The whole device flow, from the code to the tokens.
    pub(super) async fn sign_in_with_device_code(
        &self,
        discovery: &Discovery,
        scope: Option<String>,
    ) -> Result<Tokens, AuthError> {
        let endpoint = discovery.server.device_authorization_endpoint.clone().ok_or_else(|| {
            AuthError::Discovery(format!(
                "the authorization server {} offers no device authorization endpoint (RFC 8628): sign in without --device-code",
                discovery.issuer
            ))
        })?;
        let client = self.device_client(discovery).await?;
        let endpoint = DeviceAuthorizationUrl::new(endpoint)
            .map_err(|e| AuthError::Discovery(format!("device_authorization_endpoint is not a URL: {e}")))?;
        let oauth = self.token_client(discovery, &client)?.set_device_authorization_url(endpoint);
        let resource = self.resource(discovery);
        let mut request = oauth.exchange_device_code();
        if let Some(resource) = &resource {
            request = request.add_extra_param("resource", resource.clone());
        }
        if let Some(scope) = &scope {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let details: StandardDeviceAuthorizationResponse =
            request.request_async(self.token_http().await?).await.map_err(super::token_error)?;
        self.person_asked();
        self.tell_the_person(&details, &discovery.issuer);
        let mut polling = oauth.exchange_device_access_token(&details);
        if let Some(resource) = &resource {
            polling = polling.add_extra_param("resource", resource.clone());
        }
        let response = polling.request_async(self.token_http().await?, tokio::time::sleep, None).await.map_err(
            |error| match error {
                RequestTokenError::ServerResponse(response) => {
                    let description = response.error_description().map(|d| format!(": {d}")).unwrap_or_default();
                    match response.error() {
                        DeviceCodeErrorResponseType::AccessDenied => {
                            AuthError::Denied(format!("access_denied{description}"))
                        }
                        DeviceCodeErrorResponseType::ExpiredToken => AuthError::Timeout(details.expires_in()),
                        other => AuthError::Token(format!("{}{description}", other.as_ref())),
                    }
                }
                RequestTokenError::Request(e) => AuthError::Network(e.to_string()),
                RequestTokenError::Parse(e, _) => AuthError::Token(format!("the token response is not valid: {e}")),
                RequestTokenError::Other(e) => AuthError::Token(e),
            },
        )?;
        info!("signed in with a device code");
        Ok(tokens_from(&response, scope, &discovery.issuer, resource.as_deref()))
    }

    /// Says on stderr who asks for the code, where to go and what to type; `BROWSER`, when set,
    /// gets the link that carries the code. The issuer is named, so a person can tell a page that
    /// asks for the code from one that should not.
    fn tell_the_person(&self, details: &StandardDeviceAuthorizationResponse, issuer: &str) {
        let uri = details.verification_uri().as_str();
        let code = details.user_code().secret();
        let minutes = details.expires_in().as_secs().div_ceil(60);
        eprintln!(
            "mcp-remote: to sign in to {} at the authorization server {issuer}, open {uri} on any device and enter the code {code} (valid for {minutes} min)",
            crate::logging::redacted_url(&self.settings.server_url)
        );
        let complete = details.verification_uri_complete().map(|u| u.secret().clone());
        if let super::Opener::System { browser: Some(program) } = &self.settings.opener {
            // It prints the link it opens.
            let link = complete.unwrap_or_else(|| uri.to_string());
            if let Ok(link) = reqwest::Url::parse(&link) {
                if let Err(error) = browser::open(&link, Some(program)) {
                    info!(%error, "BROWSER could not open the verification link");
                }
            }
        } else if let Some(complete) = &complete {
            eprintln!("mcp-remote: or open {complete}");
        }
    }

    /// The client for the device grant: the user's, else one registered for it before with this
    /// issuer, else a new registration (kept apart from the redirect-based one).
    async fn device_client(&self, discovery: &Discovery) -> Result<store::Client, AuthError> {
        if let Some(client) = self.static_client_for(discovery)? {
            return Ok(client);
        }
        let key = self.client_key(discovery);
        let mut clients = self.dir.clients()?;
        if let Some(kept) = clients.get(&key) {
            return Ok(kept);
        }
        let client = client::register(
            &self.guarded().await?.http,
            discovery,
            Registration::Device,
            self.settings.client_metadata.as_ref(),
        )
        .await?;
        clients.set(&key, &client);
        self.write(|dir, clients| dir.save_clients(clients), &clients).await?;
        info!("registered a client for the device authorization grant");
        Ok(client)
    }
}
