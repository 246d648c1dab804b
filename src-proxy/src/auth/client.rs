//! Who the proxy is to an authorization server, in the spec's order: the user's pre-registered
//! client (`--static-oauth-client-info`), a Client ID Metadata Document URL when the server
//! supports those (`--client-metadata-url`), a registration kept from before for the same issuer
//! and redirect URI, else RFC 7591 dynamic registration (`--static-oauth-client-metadata` on
//! top of our defaults), else an error that says how to register by hand.

use super::discovery::{Discovery, ServerMetadata};
use super::AuthError;
use crate::store::Client;
use serde_json::{json, Map, Value};

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAuth {
    /// `client_secret_basic`: HTTP Basic with id and secret.
    Basic,
    /// `client_secret_post`: id and secret in the form body.
    Post,
    /// `none`: a public client; only the id, in the body.
    None,
}

/// The method a client uses: what it registered with, else what the server supports.
pub fn token_auth(client: &Client, server: &ServerMetadata) -> TokenAuth {
    match client.token_endpoint_auth_method.as_deref() {
        Some("client_secret_basic") if client.client_secret.is_some() => return TokenAuth::Basic,
        Some("client_secret_post") if client.client_secret.is_some() => return TokenAuth::Post,
        Some("none") => return TokenAuth::None,
        _ => {}
    }
    if client.client_secret.is_none() {
        return TokenAuth::None;
    }
    match server.token_endpoint_auth_methods_supported.as_deref() {
        // RFC 8414: absent means client_secret_basic.
        None => TokenAuth::Basic,
        Some(methods) if methods.iter().any(|m| m == "client_secret_basic") => TokenAuth::Basic,
        Some(methods) if methods.iter().any(|m| m == "client_secret_post") => TokenAuth::Post,
        Some(_) => TokenAuth::Basic,
    }
}

/// The method to ask for when registering: public (`none`) when the server allows it or says
/// nothing, else the first secret-based method it lists.
fn registration_auth_method(server: &ServerMetadata) -> &'static str {
    match server.token_endpoint_auth_methods_supported.as_deref() {
        None => "none",
        Some(methods) if methods.iter().any(|m| m == "none") => "none",
        Some(methods) if methods.iter().any(|m| m == "client_secret_basic") => "client_secret_basic",
        Some(methods) if methods.iter().any(|m| m == "client_secret_post") => "client_secret_post",
        Some(_) => "none",
    }
}

/// The client given on the command line.
pub fn static_client(info: &Map<String, Value>) -> Result<Client, AuthError> {
    serde_json::from_value(Value::Object(info.clone()))
        .map_err(|e| AuthError::Registration(format!("--static-oauth-client-info is not a client: {e}")))
}

/// A Client ID Metadata Document client: the document's URL is the client id.
pub fn metadata_document_client(url: &str, redirect_uri: &str) -> Client {
    Client {
        client_id: url.to_string(),
        client_secret: None,
        token_endpoint_auth_method: Some("none".into()),
        redirect_uris: vec![redirect_uri.to_string()],
        extra: Map::new(),
    }
}

/// The grant type of RFC 8628.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// What a client is registered for.
#[derive(Debug, Clone, Copy)]
pub enum Registration<'a> {
    /// The authorization code flow, redirected to this loopback URI.
    Redirect(&'a str),
    /// The device authorization grant: no redirect at all.
    Device,
}

/// RFC 7591 dynamic registration of a native client.
pub async fn register(
    http: &reqwest::Client,
    discovery: &Discovery,
    registration: Registration<'_>,
    overrides: Option<&Map<String, Value>>,
) -> Result<Client, AuthError> {
    let Some(endpoint) = discovery.server.registration_endpoint.as_deref() else {
        let needs = match registration {
            Registration::Redirect(uri) => format!("with redirect URI {uri}"),
            Registration::Device => format!("for the grant type {DEVICE_CODE_GRANT}"),
        };
        return Err(AuthError::Registration(format!(
            "the authorization server {} offers no dynamic registration: register a client by hand \
             {needs} and pass it as --static-oauth-client-info '{{\"client_id\":\"…\",\"client_secret\":\"…\"}}'",
            discovery.issuer
        )));
    };
    let requested_method = registration_auth_method(&discovery.server);
    let mut metadata = match registration {
        Registration::Redirect(redirect_uri) => json!({
            "client_name": "mcp-remote",
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": requested_method,
            "application_type": "native",
        }),
        // RFC 8628 §3.1: no redirect; `response_types` empty, or servers default it to `code`,
        // which would need a redirect URI.
        Registration::Device => json!({
            "client_name": "mcp-remote",
            "grant_types": [DEVICE_CODE_GRANT, "refresh_token"],
            "response_types": [],
            "token_endpoint_auth_method": requested_method,
            "application_type": "native",
        }),
    };
    if let (Some(overrides), Value::Object(map)) = (overrides, &mut metadata) {
        for (key, value) in overrides {
            map.insert(key.clone(), value.clone());
        }
    }
    let response = http
        .post(endpoint)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(metadata.to_string())
        .send()
        .await
        .map_err(|e| AuthError::Network(crate::transport::describe_network_error(&crate::network::redacted(e))))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| AuthError::Network(crate::transport::describe_network_error(&crate::network::redacted(e))))?;
    if !status.is_success() {
        return Err(AuthError::Registration(format!(
            "dynamic client registration failed with HTTP {status}: {}",
            String::from_utf8_lossy(&body).chars().take(300).collect::<String>()
        )));
    }
    let mut client: Client = serde_json::from_slice(&body)
        .map_err(|e| AuthError::Registration(format!("the registration response is not a client: {e}")))?;
    if client.token_endpoint_auth_method.is_none() {
        let sent = metadata.get("token_endpoint_auth_method").and_then(Value::as_str).unwrap_or(requested_method);
        client.token_endpoint_auth_method = Some(sent.to_string());
    }
    if let (true, Registration::Redirect(redirect_uri)) = (client.redirect_uris.is_empty(), registration) {
        client.redirect_uris = vec![redirect_uri.to_string()];
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(methods: Option<&[&str]>) -> ServerMetadata {
        let mut value = json!({ "authorization_endpoint": "https://as/a", "token_endpoint": "https://as/t" });
        if let Some(methods) = methods {
            value["token_endpoint_auth_methods_supported"] = json!(methods);
        }
        serde_json::from_value(value).unwrap()
    }

    fn client(secret: Option<&str>, method: Option<&str>) -> Client {
        Client {
            client_id: "c".into(),
            client_secret: secret.map(str::to_owned),
            token_endpoint_auth_method: method.map(str::to_owned),
            redirect_uris: vec![],
            extra: Map::new(),
        }
    }

    #[test]
    fn token_auth_follows_the_client_then_the_server() {
        assert_eq!(token_auth(&client(Some("s"), Some("client_secret_post")), &server(None)), TokenAuth::Post);
        assert_eq!(token_auth(&client(None, None), &server(Some(&["client_secret_basic"]))), TokenAuth::None);
        assert_eq!(token_auth(&client(Some("s"), None), &server(None)), TokenAuth::Basic);
        assert_eq!(token_auth(&client(Some("s"), None), &server(Some(&["client_secret_post"]))), TokenAuth::Post);
        assert_eq!(token_auth(&client(Some("s"), Some("none")), &server(None)), TokenAuth::None);
    }

    #[test]
    fn registration_prefers_a_public_client() {
        assert_eq!(registration_auth_method(&server(None)), "none");
        assert_eq!(registration_auth_method(&server(Some(&["client_secret_post", "none"]))), "none");
        assert_eq!(
            registration_auth_method(&server(Some(&["client_secret_post", "client_secret_basic"]))),
            "client_secret_basic"
        );
        assert_eq!(registration_auth_method(&server(Some(&["client_secret_post"]))), "client_secret_post");
    }

    #[test]
    fn static_client_needs_an_id() {
        let mut info = Map::new();
        info.insert("client_id".into(), json!("abc"));
        info.insert("client_secret".into(), json!("s"));
        let c = static_client(&info).unwrap();
        assert_eq!(c.client_id, "abc");
        assert_eq!(c.client_secret.as_deref(), Some("s"));
        assert!(static_client(&Map::new()).is_err());
    }
}
