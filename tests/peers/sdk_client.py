"""Plays Claude Desktop with the Python SDK's stdio client: spawns mcp-remote and runs
initialize -> tools/list -> tools/call echo through it.

Usage: sdk_client.py MCP_REMOTE_BINARY SERVER_URL
Prints one JSON line with what it saw; exits non-zero on any failure.
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client


async def main(binary: str, url: str) -> None:
    params = StdioServerParameters(
        command=binary,
        args=[url, "--allow-http"],
        # The SDK passes only an allow-list of variables unless told otherwise.
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
             "MCP_REMOTE_CONFIG_DIR": os.environ.get("MCP_REMOTE_CONFIG_DIR", "/tmp/mcp-remote-sdk-client")},
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            names = sorted(t.name for t in tools.tools)
            assert "echo" in names, f"no echo tool in {names}"
            result = await session.call_tool("echo", {"message": "hello through mcp-remote"})
            text = result.content[0].text
            assert not result.is_error, f"echo failed: {text}"
            assert "hello through mcp-remote" in text, f"unexpected echo result {text!r}"
            print(json.dumps({
                "server": init.server_info.name,
                "protocolVersion": init.protocol_version,
                "tools": len(names),
                "echo": text,
            }))


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2]), timeout=60))
