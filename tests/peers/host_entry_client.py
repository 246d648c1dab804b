"""Runs one MCP host's server entry the way that host would: the entry's command with its
arguments (and its env, if any) exactly as written in the host's config file, driven by the
Python SDK's stdio client through initialize -> tools/list.

Usage: host_entry_client.py ENTRY_JSON
ENTRY_JSON is the entry as the host's file holds it: {"command": ..., "args": [...], "env": {...}}.
Prints one JSON line {"tools": [names]}; exits non-zero on any failure.
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client


async def main(entry: dict) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    env.update(entry.get("env") or {})
    params = StdioServerParameters(command=entry["command"], args=entry.get("args", []), env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            print(json.dumps({"tools": sorted(t.name for t in tools.tools)}), flush=True)


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(json.loads(sys.argv[1])), timeout=60))
