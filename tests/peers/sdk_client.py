"""Plays Claude Desktop with the Python SDK's stdio client (a 2025-era client, as Claude Desktop
is): spawns mcp-remote and runs initialize -> tools/list -> tools/call echo through it, then, when
asked, calls a tool that makes the server send a request back to the client (elicitation,
sampling or roots), which this client answers.

Usage: sdk_client.py MCP_REMOTE_BINARY SERVER_URL [ASKING_TOOL_JSON] [-- EXTRA_MCP_REMOTE_ARGS...]
ASKING_TOOL_JSON is {"name": ..., "arguments": {...}}.
Prints one JSON line with what it saw; exits non-zero on any failure.
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, types
from mcp.client.stdio import StdioServerParameters, stdio_client

ASKED: list[str] = []


async def on_sampling(context, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
    ASKED.append("sampling/createMessage")
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text="sampled by the stdio client"),
        model="stdio-client-model",
        stop_reason="endTurn",
    )


async def on_elicitation(context, params: types.ElicitRequestParams) -> types.ElicitResult:
    """Accepts, filling each field of the requested form: strings with "Claude", numbers with 1,
    booleans with true."""
    ASKED.append("elicitation/create")
    schema = getattr(params, "requested_schema", None) or {}
    filled = {"string": "Claude", "boolean": True, "integer": 1, "number": 1}
    content = {name: filled.get(field.get("type"), "Claude") for name, field in schema.get("properties", {}).items()}
    return types.ElicitResult(action="accept", content=content)


async def on_roots(context) -> types.ListRootsResult:
    ASKED.append("roots/list")
    return types.ListRootsResult(roots=[types.Root(uri="file:///tmp/stdio-client-root", name="root")])


async def main(binary: str, url: str, asking_tool: dict | None, extra: list[str]) -> None:
    params = StdioServerParameters(
        command=binary,
        args=[url, "--allow-http", *extra],
        # The SDK passes only an allow-list of variables unless told otherwise.
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
             "MCP_REMOTE_CONFIG_DIR": os.environ.get("MCP_REMOTE_CONFIG_DIR", "/tmp/mcp-remote-sdk-client")},
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, sampling_callback=on_sampling,
                                 elicitation_callback=on_elicitation, list_roots_callback=on_roots) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            names = sorted(t.name for t in tools.tools)
            assert "echo" in names, f"no echo tool in {names}"
            result = await session.call_tool("echo", {"message": "hello through mcp-remote"})
            text = result.content[0].text
            assert not result.is_error, f"echo failed: {text}"
            assert "hello through mcp-remote" in text, f"unexpected echo result {text!r}"
            summary = {
                "server": init.server_info.name,
                "protocolVersion": init.protocol_version,
                "tools": len(names),
                "echo": text,
            }
            if asking_tool is not None:
                asked = await session.call_tool(asking_tool["name"], asking_tool.get("arguments", {}))
                assert not asked.is_error, f"{asking_tool['name']} failed: {asked.content}"
                summary["asked"] = ASKED
                summary["askingResult"] = " ".join(c.text for c in asked.content if c.type == "text")
            print(json.dumps(summary))


if __name__ == "__main__":
    args = sys.argv[1:]
    extra = args[args.index("--") + 1:] if "--" in args else []
    positional = args[:args.index("--")] if "--" in args else args
    tool = json.loads(positional[2]) if len(positional) > 2 else None
    asyncio.run(asyncio.wait_for(main(positional[0], positional[1], tool, extra), timeout=60))
