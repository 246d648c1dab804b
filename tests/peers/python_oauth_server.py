"""An OAuth-protected MCP server from the Python SDK: authorization server and resource server in one.

Usage: python_oauth_server.py PORT [--access-ttl SECONDS] [--log FILE] [--sse] [--hang-first-refresh]

Serves on 127.0.0.1:PORT until killed:
  /mcp                                       Streamable HTTP MCP endpoint (Bearer token required)
  /.well-known/oauth-protected-resource/mcp  RFC 9728 protected resource metadata
  /.well-known/oauth-authorization-server    RFC 8414 authorization server metadata
  /register /authorize /token                RFC 7591 registration, auto-approving authorize, token
With --sse the MCP endpoint is the legacy HTTP+SSE transport instead: GET /sse, POST /messages/,
protected the same way (resource metadata at /.well-known/oauth-protected-resource/sse).
Tools: echo(message), whoami() (the client_id of the bearer token), expire_token() (ends the
caller's access token now, as if its lifetime had run out, so tests need not wait for expiry).

Everything OAuth is the SDK's own handlers (PKCE S256, redirect_uri and client binding, client
authentication); the in-memory provider below adds: auto-approval, single-use codes, access tokens
that expire after --access-ttl (default 3600 s), and refresh-token rotation (each refresh returns a
new access token and a new refresh token; the old refresh token is then rejected with invalid_grant).

With --log FILE, one JSON line per event is appended and flushed:
  {"event": "register"|"authorize"|"token"|"refresh"|"refresh_rejected"|"mcp_401", "client_id": ...}
plus, for some events, a non-secret "reason". Token values are never logged. With
--hang-first-refresh the first refresh logs "refresh_started" and never answers (nor rotates).
Readiness: uvicorn logs "Uvicorn running on" to stderr.
"""

import argparse
import anyio
import json
import secrets
import time

import uvicorn
from starlette.datastructures import Headers

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

SCOPE = "mcp"
CODE_TTL = 300


class EventLog:
    def __init__(self, path: str | None):
        self.file = open(path, "a", encoding="utf-8") if path else None

    def __call__(self, event: str, client_id: str | None, **extra: str) -> None:
        if self.file:
            self.file.write(json.dumps({"event": event, "client_id": client_id, **extra}) + "\n")
            self.file.flush()


class InMemoryProvider:
    """An `OAuthAuthorizationServerProvider` that approves every authorization request at once."""

    def __init__(self, resource: str, access_ttl: float, log: EventLog, hang_first_refresh: bool = False):
        self.hang_next_refresh = hang_first_refresh
        self.resource = resource
        self.access_ttl = access_ttl
        self.log = log
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.access_deadline: dict[str, float] = {}  # exact expiry; AccessToken.expires_at is whole seconds
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.rotated: set[str] = set()  # refresh tokens already exchanged once

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        self.clients[client_info.client_id] = client_info
        self.log("register", client_info.client_id, auth_method=str(client_info.token_endpoint_auth_method))

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if params.resource is not None and params.resource.rstrip("/") != self.resource:
            raise AuthorizeError("invalid_target", f"unknown resource {params.resource!r}; use {self.resource}")
        code = secrets.token_urlsafe(32)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or (client.scope or SCOPE).split(),
            expires_at=time.time() + CODE_TTL,
            client_id=client.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=self.resource,  # the one resource this server protects (checked above)
        )
        self.log("authorize", client.client_id)
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(self, client: OAuthClientInformationFull, code: str) -> AuthorizationCode | None:
        found = self.codes.get(code)
        return found if found and found.client_id == client.client_id else None

    def _issue(self, client_id: str, scopes: list[str], resource: str | None) -> OAuthToken:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        deadline = time.time() + self.access_ttl
        self.access_tokens[access] = AccessToken(
            token=access, client_id=client_id, scopes=scopes, expires_at=int(deadline) + 1, resource=resource
        )
        self.access_deadline[access] = deadline
        self.refresh_tokens[refresh] = RefreshToken(token=refresh, client_id=client_id, scopes=scopes, resource=resource)
        return OAuthToken(
            access_token=access,
            expires_in=int(self.access_ttl),
            scope=" ".join(scopes),
            refresh_token=refresh,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        if self.codes.pop(authorization_code.code, None) is None:  # single use
            raise TokenError("invalid_grant", "authorization code already used")
        self.log("token", client.client_id)
        return self._issue(client.client_id, authorization_code.scopes, authorization_code.resource)

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        found = self.refresh_tokens.get(refresh_token)
        if found is None or found.client_id != client.client_id:
            reason = "reused" if refresh_token in self.rotated else "unknown" if found is None else "wrong_client"
            self.log("refresh_rejected", client.client_id, reason=reason)
            return None
        return found

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        if self.hang_next_refresh:
            # A refresh that never completes, so a test can kill the client in the middle of it.
            self.hang_next_refresh = False
            self.log("refresh_started", client.client_id)
            await anyio.sleep_forever()
        if self.refresh_tokens.pop(refresh_token.token, None) is None:  # rotation: the old one dies here
            self.log("refresh_rejected", client.client_id, reason="reused")
            raise TokenError("invalid_grant", "refresh token already used")
        self.rotated.add(refresh_token.token)
        self.log("refresh", client.client_id)
        return self._issue(client.client_id, scopes, refresh_token.resource)

    def find_access_token(self, token: str) -> AccessToken | None:
        """The token's record even if expired (for logging only)."""
        return self.access_tokens.get(token)

    async def load_access_token(self, token: str) -> AccessToken | None:
        found = self.access_tokens.get(token)
        if found is None or time.time() >= self.access_deadline[token]:
            return None
        return found

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        self.access_tokens.pop(token.token, None)
        self.refresh_tokens.pop(token.token, None)


class Log401:
    """ASGI wrapper: records each 401 from /mcp as an `mcp_401` event."""

    def __init__(self, app, provider: InMemoryProvider, log: EventLog):
        self.app, self.provider, self.log = app, provider, log

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/mcp"):
            return await self.app(scope, receive, send)

        async def watch(message):
            if message["type"] == "http.response.start" and message["status"] == 401:
                header = Headers(scope=scope).get("authorization", "")
                if not header.lower().startswith("bearer "):
                    self.log("mcp_401", None, reason="missing")
                else:
                    known = self.provider.find_access_token(header[7:])
                    self.log("mcp_401", known.client_id if known else None, reason="expired" if known else "unknown")
            await send(message)

        await self.app(scope, receive, watch)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--access-ttl", type=float, default=3600.0)
    parser.add_argument("--log")
    parser.add_argument("--sse", action="store_true")
    parser.add_argument("--hang-first-refresh", action="store_true")
    args = parser.parse_args()

    issuer = f"http://127.0.0.1:{args.port}"
    resource = f"{issuer}/sse" if args.sse else f"{issuer}/mcp"
    log = EventLog(args.log)
    provider = InMemoryProvider(resource, args.access_ttl, log, args.hang_first_refresh)

    server = MCPServer(
        "python-sdk-oauth-test-server",
        auth_server_provider=provider,
        auth=AuthSettings(
            issuer_url=issuer,  # a string, so no trailing slash is added
            resource_server_url=resource,
            required_scopes=[SCOPE],
            client_registration_options=ClientRegistrationOptions(
                enabled=True, valid_scopes=[SCOPE], default_scopes=[SCOPE]
            ),
            validate_token_resource=True,
        ),
    )

    @server.tool()
    def echo(message: str) -> str:
        """Echo back the message."""
        return message

    @server.tool()
    def whoami() -> str:
        """The client_id the bearer token was issued to."""
        token = get_access_token()
        return token.client_id if token else ""

    @server.tool()
    def expire_token() -> str:
        """Ends the caller's access token now; the next request with it gets 401."""
        token = get_access_token()
        if token is None:
            return "no token"
        provider.access_deadline[token.token] = 0.0
        return "expired"

    app = Log401(server.sse_app() if args.sse else server.streamable_http_app(), provider, log)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()
