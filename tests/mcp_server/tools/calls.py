"""Helpers for calling tools in process and reading their answers."""

from __future__ import annotations

from typing import Any

from mcp import Client
from mcp.server import MCPServer
from mcp.types import CallToolResult


async def call(server: MCPServer[Any], tool: str, /, **arguments: Any) -> CallToolResult:
    async with Client(server) as client:
        return await client.call_tool(tool, arguments)


def text(result: CallToolResult) -> str:
    block = result.content[0]
    assert block.type == "text"
    return block.text


def data(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    return result.structured_content
