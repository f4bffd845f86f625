from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.server import MCPServer
from mcp.types import TextResourceContents

from mcp_server.backends.local import LocalBackend
from mcp_server.deps import ServerDeps
from mcp_server.server import build_server
from tests.mcp_server.tools.calls import call, data, text

pytestmark = pytest.mark.anyio


async def test_runbook_search_finds_the_dynamodb_throttling_sop_and_points_at_the_whole_document(
    checkout_server: MCPServer[Any],
) -> None:
    hits = data(
        await call(
            checkout_server, "search_runbooks", query="DynamoDB ProvisionedThroughputExceededException"
        )
    )["hits"]

    assert hits[0]["doc_id"] == "sop-dynamodb-throttling"
    assert hits[0]["type"] == "sop"
    async with Client(checkout_server) as client:
        document = await client.read_resource(hits[0]["resource"])
    (contents,) = document.contents
    assert isinstance(contents, TextResourceContents)
    assert contents.text.startswith("# DynamoDB throttling")


async def test_past_incident_search_returns_only_coes(checkout_server: MCPServer[Any]) -> None:
    hits = data(await call(checkout_server, "search_past_incidents", query="throttling retries", limit=3))[
        "hits"
    ]

    assert 0 < len(hits) <= 3
    assert {h["type"] for h in hits} == {"coe"}


async def test_an_unknown_fault_type_or_empty_query_is_an_error(checkout_server: MCPServer[Any]) -> None:
    bad_fault = await call(checkout_server, "search_runbooks", query="throttling", fault_type="gremlins")
    empty = await call(checkout_server, "search_runbooks", query="  ")

    assert "unknown fault_type 'gremlins'; known: " in text(bad_fault)
    assert "query is empty" in text(empty)


async def test_without_a_knowledge_store_the_knowledge_tools_are_not_offered(
    checkout_backend: LocalBackend,
) -> None:
    async with Client(build_server(ServerDeps(backend=checkout_backend))) as client:
        names = {t.name for t in (await client.list_tools()).tools}

    assert "list_slos" in names
    assert not names & {"search_runbooks", "search_past_incidents", "investigate", "draft_incident_report"}
