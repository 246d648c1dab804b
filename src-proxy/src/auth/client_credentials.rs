//! Sign-in with no person at all: the client credentials grant (RFC 6749 §4.4,
//! `--client-credentials`), for servers that serve machines. The client is the user's
//! (`--static-oauth-client-info`) and proves who it is with its secret (`client_secret_basic`
//! or `client_secret_post`, as the server supports) or with a JWT signed by its private key
//! (`private_key_jwt`, RFC 7523 §2.2, `--client-private-key`). There is no refresh token: a new
//! token is asked for the same way when the old one expires.

use super::client::{self, TokenAuth};
use super::discovery::Discovery;
use super::{tokens_from, Auth, AuthError};
use crate::store::Tokens;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use oauth2::Scope;
use serde::Serialize;
use std::path::Path;
use tracing::info;

/// RFC 7523's assertion type for client authentication.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How long an assertion is valid: long enough for clock skew, short enough to be useless later.
const ASSERTION_LIFETIME_SECS: u64 = 300;

/// A private key that signs client assertions. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct ClientKey {
    key: EncodingKey,
    algorithm: Algorithm,
    key_id: Option<String>,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl ClientKey {
    /// Reads a PEM private key (PKCS#8, or PKCS#1 for RSA). `algorithm` is a JWS name (`ES256`,
    /// `RS256`, `PS256`, `EdDSA` …); without one it follows the key: ES256, RS256 or EdDSA.
    pub fn from_pem(pem: &[u8], algorithm: Option<&str>, key_id: Option<String>) -> Result<Self, String> {
        let algorithm = algorithm
            .map(|name| {
                name.parse::<Algorithm>()
                    .map_err(|_| format!("{name:?} is not a JWS algorithm (ES256, RS256, PS256, EdDSA …)"))
            })
            .transpose()?;
        let key = match algorithm {
            Some(Algorithm::ES256 | Algorithm::ES384) => EncodingKey::from_ec_pem(pem).map(|k| (k, algorithm)),
            Some(Algorithm::EdDSA) => EncodingKey::from_ed_pem(pem).map(|k| (k, algorithm)),
            Some(Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) => {
                return Err("HMAC algorithms sign with a shared secret, not a private key: use client_secret".into())
            }
            Some(_) => EncodingKey::from_rsa_pem(pem).map(|k| (k, algorithm)),
            None => EncodingKey::from_ec_pem(pem)
                .map(|k| (k, Some(Algorithm::ES256)))
                .or_else(|_| EncodingKey::from_rsa_pem(pem).map(|k| (k, Some(Algorithm::RS256))))
                .or_else(|_| EncodingKey::from_ed_pem(pem).map(|k| (k, Some(Algorithm::EdDSA)))),
        };
        let (key, algorithm) = key.map_err(|e| format!("not a PEM private key for the algorithm: {e}"))?;
        Ok(Self { key, algorithm: algorithm.expect("set on every path"), key_id })
    }

    /// Reads the key from a file (see [`Self::from_pem`]).
    pub fn from_file(path: &Path, algorithm: Option<&str>, key_id: Option<String>) -> Result<Self, String> {
        let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::from_pem(&pem, algorithm, key_id).map_err(|why| format!("{}: {why}", path.display()))
    }

    /// A client assertion for `client_id`, addressed to `audience` (the authorization server's issuer).
    pub fn assertion(&self, client_id: &str, audience: &str) -> Result<String, AuthError> {
        #[derive(Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            sub: &'a str,
            aud: &'a str,
            iat: u64,
            exp: u64,
            jti: String,
        }
        let now = crate::store::unix_now();
        let claims = Claims {
            iss: client_id,
            sub: client_id,
            aud: audience,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
            jti: oauth2::CsrfToken::new_random().secret().clone(),
        };
        let mut header = Header::new(self.algorithm);
        header.kid = self.key_id.clone();
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| {
            AuthError::Token(format!("cannot sign the client assertion with the {:?} key: {e}", self.algorithm))
        })
    }
}

impl Auth {
    /// Asks the token endpoint for a token as the client itself.
    pub(super) async fn client_credentials(
        &self,
        discovery: &Discovery,
        scope: Option<String>,
    ) -> Result<Tokens, AuthError> {
        let mut client = self.static_client_for(discovery)?.ok_or_else(|| {
            AuthError::Registration(
                "--client-credentials needs the client: pass --static-oauth-client-info '{\"client_id\":\"…\",\"client_secret\":\"…\"}' \
                 (or a client_id with --client-private-key)"
                    .into(),
            )
        })?;
        if self.settings.client_key.is_some() {
            // The key replaces any secret: the id goes in the body with the assertion.
            client.client_secret = None;
            client.token_endpoint_auth_method = Some("private_key_jwt".into());
        } else if client.client_secret.is_none() {
            return Err(AuthError::Registration(
                "--client-credentials needs a client_secret in --static-oauth-client-info, or --client-private-key"
                    .into(),
            ));
        }
        let oauth = self.token_client(discovery, &client)?;
        let resource = self.resource(discovery);
        let mut request = oauth.exchange_client_credentials();
        if let Some(resource) = &resource {
            request = request.add_extra_param("resource", resource.clone());
        }
        if let Some(scope) = &scope {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if let Some(key) = &self.settings.client_key {
            let audience = discovery.server.issuer.as_deref().unwrap_or(&discovery.issuer);
            request = request
                .add_extra_param("client_assertion_type", JWT_BEARER)
                .add_extra_param("client_assertion", key.assertion(&client.client_id, audience)?);
        } else if client::token_auth(&client, &discovery.server) == TokenAuth::Basic {
            request = request.add_extra_param("client_id", client.client_id.clone());
        }
        let response = request.request_async(self.token_http().await?).await.map_err(super::token_error)?;
        info!("obtained a token with the client credentials grant");
        Ok(tokens_from(&response, scope, &discovery.issuer, resource.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A P-256 key made for this test only (openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256).
    const EC_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg4lJZKJn2VsQvVtIz
ihr7UxgWBBFQt7NTpWXwy3ixaVWhRANCAAR3iJdRpgMqoyKxryDfR31Os8uUNuMz
SJUg5Xbmq3DrtqyzxFd9MB6aeOqQdhuNgZgYwXwEkzv5zQnLbToV0Lmd
-----END PRIVATE KEY-----
";

    #[test]
    fn an_assertion_names_the_client_and_the_issuer() {
        let key = match ClientKey::from_pem(EC_KEY.as_bytes(), None, Some("k1".into())) {
            Ok(key) => key,
            Err(why) => panic!("{why}"),
        };
        assert_eq!(key.algorithm, Algorithm::ES256);
        let jwt = key.assertion("client-1", "https://as.example").unwrap();
        let [header, claims, _signature] = jwt.split('.').collect::<Vec<_>>()[..] else { panic!("{jwt}") };
        use base64::Engine;
        let decode = |part: &str| -> serde_json::Value {
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
        };
        let (header, claims) = (decode(header), decode(claims));
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], "k1");
        assert_eq!(claims["iss"], "client-1");
        assert_eq!(claims["sub"], "client-1");
        assert_eq!(claims["aud"], "https://as.example");
        assert!(claims["exp"].as_u64().unwrap() > claims["iat"].as_u64().unwrap());
        assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
        assert!(!format!("{key:?}").contains("MIG"), "Debug shows no key material");
    }

    #[test]
    fn keys_that_do_not_fit_are_refused_with_a_reason() {
        assert!(ClientKey::from_pem(b"nothing", None, None).is_err());
        assert!(ClientKey::from_pem(EC_KEY.as_bytes(), Some("RS256"), None).is_err());
        assert!(ClientKey::from_pem(EC_KEY.as_bytes(), Some("HS256"), None).unwrap_err().contains("client_secret"));
        assert!(ClientKey::from_pem(EC_KEY.as_bytes(), Some("XX1"), None).unwrap_err().contains("not a JWS"));
    }
}
