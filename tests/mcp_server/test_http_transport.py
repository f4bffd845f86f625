"""Streamable HTTP beyond loopback: Host/Origin checked, a bearer token, investigations per token."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import MCPServer

from mcp_server.errors import SleuthError
from mcp_server.http_transport import HttpGuard
from tests.mcp_server.tools.calls import text

pytestmark = pytest.mark.anyio
ALICE = "alice-token-0123456789"
BOB = "bob-token-9876543210ab"


def test_listening_beyond_loopback_without_a_token_is_refused_with_how_to_set_one() -> None:
    with pytest.raises(SleuthError, match="set SLEUTH_MCP_TOKEN"):
        HttpGuard.build("0.0.0.0", [], [], None)
    with pytest.raises(SleuthError, match="at least 16 characters"):
        HttpGuard.build("0.0.0.0", [], [], "short")


@asynccontextmanager
async def serving(server: MCPServer[Any], guard: HttpGuard) -> AsyncIterator[str]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    app = guard.wrap(server.streamable_http_app(transport_security=guard.transport_security()))
    web = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(web.serve, [listener])
        try:
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            web.should_exit = True
    listener.close()


@asynccontextmanager
async def client(url: str, token: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        Client(streamable_http_client(url, http_client=http)) as connected,
    ):
        yield connected


async def test_without_the_token_or_from_a_foreign_host_the_endpoint_refuses(
    checkout_server: MCPServer[Any],
) -> None:
    guard = HttpGuard.build("0.0.0.0", ["sleuth.internal:*"], [], f"{ALICE},{BOB}")
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    with anyio.fail_after(60):
        async with serving(checkout_server, guard) as url, httpx2.AsyncClient() as http:
            anonymous = await http.post(url, json=body, headers=headers)
            wrong = await http.post(
                url, json=body, headers={**headers, "Authorization": "Bearer nope-nope-nope-nope"}
            )
            rebound = await http.post(
                url,
                json=body,
                headers={**headers, "Authorization": f"Bearer {ALICE}", "Host": "evil.example:80"},
            )
            foreign_origin = await http.post(
                url,
                json=body,
                headers={**headers, "Authorization": f"Bearer {ALICE}", "Origin": "http://evil.example"},
            )

    assert (anonymous.status_code, wrong.status_code) == (401, 401)
    assert rebound.status_code == 421
    assert foreign_origin.status_code == 403


async def test_each_token_sees_only_its_own_investigations(checkout_server: MCPServer[Any]) -> None:
    guard = HttpGuard.build("0.0.0.0", [], [], f"{ALICE},{BOB}")
    with anyio.fail_after(120):
        async with serving(checkout_server, guard) as url:
            async with client(url, ALICE) as alice:
                mine = (await alice.call_tool("investigate", {})).structured_content
                assert mine is not None
            async with client(url, BOB) as bob:
                latest = await bob.call_tool("draft_incident_report", {})
                guessed = await bob.call_tool(
                    "draft_incident_report", {"investigation_id": mine["investigation_id"]}
                )
            async with client(url, ALICE) as alice:
                drafted = await alice.call_tool("draft_incident_report", {})

    assert latest.is_error and "no investigation has run in this session yet" in text(latest)
    assert guessed.is_error and mine["investigation_id"] not in text(guessed).split("this session's")[-1]
    assert not drafted.is_error
    assert drafted.structured_content is not None
    assert drafted.structured_content["investigation_id"] == mine["investigation_id"]
