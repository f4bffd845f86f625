from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.server import MCPServer
from mcp.types import CallToolResult

from mcp_server.backends.local import LocalBackend
from mcp_server.deps import ServerDeps
from mcp_server.server import build_server


@pytest.fixture(scope="session")
def checkout_server(checkout_backend: LocalBackend) -> MCPServer[ServerDeps]:
    return build_server(ServerDeps(backend=checkout_backend, description="checkout incident fixture"))


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
