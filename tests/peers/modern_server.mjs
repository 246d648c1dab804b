// A real MCP server of the 2026-07-28 era, built with the TypeScript SDK v2
// (@modelcontextprotocol/server createMcpHandler + @modelcontextprotocol/node toNodeHandler).
//
// Usage: node modern_server.mjs [dual|reject] [PORT]      (PORT also from $PORT; 0 = any free port)
//   dual   - legacy: 'stateless': serves 2026-07-28 (per-request `_meta` envelope, server/discover)
//            AND the 2025 `initialize` handshake, statelessly (no Mcp-Session-Id; GET/DELETE -> 405).
//   reject - legacy: 'reject': modern only; a 2025 `initialize` gets HTTP 400 / -32022.
// Endpoint: http://127.0.0.1:PORT/mcp. After bind it prints exactly one line to stdout:
//   listening on http://127.0.0.1:PORT/mcp
// Tools:
//   echo(message)            -> text `message`
//   add(a, b)                -> text of a+b
//   confirm(question)        -> elicitation: 2026 era returns an `input_required` result
//                               (inputRequests.confirm = elicitation/create); the client retries
//                               with params.inputResponses.confirm = {action, content:{confirm}}
//   ask_llm(prompt)          -> sampling the same way (inputRequests.llm = sampling/createMessage)
//   region_echo(region, msg) -> `region` carries `x-mcp-header: Region`, so 2026-era calls must
//                               send a matching `Mcp-Param-Region` header
//   notify_tools_changed()   -> publishes notifications/tools/list_changed on open
//                               `subscriptions/listen` streams (2026 era only)
// On the 2025 leg (stateless, one fresh instance per POST) confirm/ask_llm cannot work: the SDK's
// legacy shim has no connection to send elicitation/sampling requests over, so they answer an
// isError result. echo/add/region_echo work in both eras.
import http from 'node:http';

import { createMcpHandler, fromJsonSchema, inputRequired, inputResponse, McpServer } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';

const args = process.argv.slice(2);
const mode = args.find(a => a === 'dual' || a === 'reject') ?? 'dual';
const port = Number(args.find(a => /^\d+$/.test(a)) ?? process.env.PORT ?? 0);

const obj = (properties, required = Object.keys(properties)) =>
    fromJsonSchema({ type: 'object', properties, required });
const text = s => ({ content: [{ type: 'text', text: String(s) }] });

function factory() {
    const server = new McpServer(
        { name: `modern-ts-test-server-${mode}`, version: '1.0.0' },
        { capabilities: { tools: { listChanged: true } } }
    );

    server.registerTool('echo', { description: 'Echo back the message.', inputSchema: obj({ message: { type: 'string' } }) },
        async ({ message }) => text(message));

    server.registerTool('add', { description: 'Add two numbers.', inputSchema: obj({ a: { type: 'number' }, b: { type: 'number' } }) },
        async ({ a, b }) => text(a + b));

    server.registerTool('confirm', { description: 'Ask the user to confirm (elicitation).', inputSchema: obj({ question: { type: 'string' } }) },
        async ({ question }, ctx) => {
            const answer = inputResponse(ctx.mcpReq.inputResponses, 'confirm');
            if (answer.kind !== 'elicit') {
                return inputRequired({
                    inputRequests: {
                        confirm: inputRequired.elicit({
                            message: question,
                            requestedSchema: { type: 'object', properties: { confirm: { type: 'boolean' } }, required: ['confirm'] }
                        })
                    }
                });
            }
            return text(answer.action === 'accept' ? `confirmed: ${JSON.stringify(answer.content)}` : `not confirmed: ${answer.action}`);
        });

    server.registerTool('ask_llm', { description: 'Ask the client LLM (sampling).', inputSchema: obj({ prompt: { type: 'string' } }) },
        async ({ prompt }, ctx) => {
            const answer = inputResponse(ctx.mcpReq.inputResponses, 'llm');
            if (answer.kind !== 'sampling') {
                return inputRequired({
                    inputRequests: {
                        llm: inputRequired.createMessage({
                            messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
                            maxTokens: 100
                        })
                    }
                });
            }
            const c = answer.result.content;
            return text(`llm said: ${Array.isArray(c) ? c.map(x => x.text).join('') : c.text}`);
        });

    server.registerTool('region_echo', {
        description: 'Echo with the region mirrored into the Mcp-Param-Region header.',
        inputSchema: obj({ region: { type: 'string', 'x-mcp-header': 'Region' }, message: { type: 'string' } })
    }, async ({ region, message }) => text(`${region}: ${message}`));

    // Publishes notifications/tools/list_changed to every open subscriptions/listen stream.
    server.registerTool('notify_tools_changed', { description: 'Publish a tools/list_changed event.' },
        async () => { handler.notify.toolsChanged(); return text('published'); });

    return server;
}

const handler = createMcpHandler(factory, {
    legacy: mode === 'reject' ? 'reject' : 'stateless',
    onerror: e => console.error(`[modern_server] ${e.message}`)
});
const nodeHandler = toNodeHandler(handler);

const httpServer = http.createServer((req, res) => {
    if (new URL(req.url, 'http://x').pathname !== '/mcp') {
        res.writeHead(404).end('not found');
        return;
    }
    nodeHandler(req, res);
});
httpServer.listen(port, '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${httpServer.address().port}/mcp`);
});
const stop = () => { handler.close().finally(() => process.exit(0)); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
