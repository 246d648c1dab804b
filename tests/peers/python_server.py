"""A real MCP server from the Python SDK (MCPServer, formerly FastMCP).

Usage: python_server.py PORT [--stateless] [--json] [--sse]
Tools: echo(message), add(a, b), ask_name() (asks the client for a name by elicitation).
Serves Streamable HTTP on /mcp (dual era: 2025 sessions and the stateless 2026-07-28 revision),
or with --sse the legacy HTTP+SSE transport (GET /sse, POST /messages/), on 127.0.0.1:PORT until
killed.
"""

import sys

from pydantic import BaseModel

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("python-sdk-test-server")


class Name(BaseModel):
    name: str


@server.tool()
def echo(message: str) -> str:
    """Echo back the message."""
    return message


@server.tool()
def add(a: float, b: float) -> str:
    """Add two numbers."""
    return f"{a + b:g}"


@server.tool()
async def ask_name(ctx: Context) -> str:
    """Ask the client for a name (a server-to-client elicitation request) and greet it."""
    answer = await ctx.elicit(message="What is your name?", schema=Name)
    if answer.action != "accept" or answer.data is None:
        return f"no name ({answer.action})"
    return f"hello {answer.data.name}"


if __name__ == "__main__":
    port = int(sys.argv[1])
    if "--sse" in sys.argv:
        server.run("sse", host="127.0.0.1", port=port)
    else:
        server.run(
            "streamable-http",
            host="127.0.0.1",
            port=port,
            stateless_http="--stateless" in sys.argv,
            json_response="--json" in sys.argv,
        )
