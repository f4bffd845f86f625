from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.server import MCPServer
from mcp.types import TextResourceContents

from tests.mcp_server.tools.calls import call, data, text

pytestmark = pytest.mark.anyio


async def test_investigate_ranks_the_throttled_payments_dependency_first_with_cited_evidence(
    checkout_server: MCPServer[Any],
) -> None:
    result = await call(checkout_server, "investigate")
    out = data(result)

    top = out["hypotheses"][0]
    assert top["service"] == "payments"
    assert top["fault_type"] == "dependency_throttling"
    assert top["evidence"] and all(e["description"] for e in top["evidence"])
    assert out["investigation_id"]
    assert "1. payments" in text(result)


async def test_a_report_is_drafted_from_the_latest_investigation_and_readable_as_a_resource(
    checkout_server: MCPServer[Any],
) -> None:
    async with Client(checkout_server) as client:
        investigation = (
            await client.call_tool("investigate", {"question": "checkout fails"})
        ).structured_content
        assert investigation is not None
        report = (await client.call_tool("draft_incident_report", {})).structured_content
        assert report is not None
        resource = await client.read_resource(report["resource"])

    assert report["investigation_id"] == investigation["investigation_id"]
    assert report["title"] == "payments incident"
    (contents,) = resource.contents
    assert isinstance(contents, TextResourceContents)
    assert contents.text.startswith("# payments incident")


async def test_an_unknown_investigation_id_names_only_this_sessions_investigations(
    checkout_server: MCPServer[Any],
) -> None:
    async with Client(checkout_server) as client:
        mine = (await client.call_tool("investigate", {})).structured_content
        assert mine is not None
        result = await client.call_tool("draft_incident_report", {"investigation_id": "nope"})

    assert result.is_error
    assert f"unknown investigation 'nope'; this session's: {mine['investigation_id']}" in text(result)


async def test_evidence_names_the_exact_tool_call_that_reproduces_it(checkout_server: MCPServer[Any]) -> None:
    out = data(await call(checkout_server, "investigate"))

    calls = [e["call"] for h in out["hypotheses"] for e in h["evidence"]]
    assert calls and all(c is not None for c in calls), [
        e["source_query"] for h in out["hypotheses"] for e in h["evidence"]
    ]
    async with Client(checkout_server) as client:
        for c in calls:
            assert {"start", "end"} <= set(c["arguments"]) or c["tool"] in {
                "search_runbooks",
                "search_past_incidents",
            }
            rerun = await client.call_tool(c["tool"], c["arguments"])
            assert not rerun.is_error, (c, text(rerun))
