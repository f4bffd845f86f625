"""The flow an on-call engineer follows from their IDE, on the seeded demo incident:
list SLOs -> the breaching one -> its failing operation -> traces with errors -> the throttled dependency."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server import MCPServer

from evals.scenarios.demo import ensure_demo
from mcp_server.backends.local import LocalBackend
from mcp_server.deps import ServerDeps
from mcp_server.server import build_server

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MCPServer[ServerDeps]]:
    backend = LocalBackend.from_scenario(ensure_demo(tmp_path_factory.mktemp("demo")))
    yield build_server(ServerDeps(backend=backend, description="demo incident"))
    backend.close()


async def _call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def test_from_the_breaching_slo_to_the_throttled_dynamodb_table(demo_server: MCPServer[Any]) -> None:
    with anyio.fail_after(60):
        async with Client(demo_server) as client:
            slos = await _call(client, "list_slos")
            breaching = slos["slos"][0]
            assert breaching["breaching"] is True

            slo = await _call(client, "get_slo", name=breaching["name"])
            operation = slo["operations"][0]
            assert operation["breaching"] is True

            traces = await _call(
                client,
                "search_traces",
                service=breaching["service"],
                operation=operation["operation"],
                errors_only=True,
                start=slo["first_bad_bucket"],
                limit=8,
            )
            assert traces["hits"]
            where_failures_start: Counter[str] = Counter()
            exceptions = []
            for hit in traces["hits"]:
                trace = await _call(client, "get_trace", trace_id=hit["trace_id"])
                deepest = max((s for s in trace["spans"] if s["error"]), key=lambda s: s["depth"])
                where_failures_start[deepest["peer"] or deepest["service"]] += 1
                exceptions += deepest["exceptions"]

            hotspots = await _call(client, "trace_hotspots", service=breaching["service"], limit=3)

    assert breaching["service"] == "visits"
    assert slo["first_bad_bucket"] is not None
    dependency, count = where_failures_start.most_common(1)[0]
    assert dependency == "DynamoDB:Visits"
    assert count > len(traces["hits"]) / 2  # background noise aside, the requests fail at the table
    assert any("ProvisionedThroughputExceededException" in e for e in exceptions)
    top_origin = hotspots["error_origins"][0]
    assert (top_origin["service"], top_origin["peer"]) == ("visits", "DynamoDB:Visits")
