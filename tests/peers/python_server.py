"""A real MCP server from the Python SDK (MCPServer, formerly FastMCP) over Streamable HTTP.

Usage: python_server.py PORT [--stateless] [--json]
Tools: echo(message), add(a, b). Serves /mcp on 127.0.0.1:PORT until killed.
"""

import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("python-sdk-test-server")


@server.tool()
def echo(message: str) -> str:
    """Echo back the message."""
    return message


@server.tool()
def add(a: float, b: float) -> str:
    """Add two numbers."""
    return f"{a + b:g}"


if __name__ == "__main__":
    port = int(sys.argv[1])
    server.run(
        "streamable-http",
        host="127.0.0.1",
        port=port,
        stateless_http="--stateless" in sys.argv,
        json_response="--json" in sys.argv,
    )
