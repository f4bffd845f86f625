from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from mcp.server import MCPServer

from tests.mcp_server.scenario_fixture import ONSET
from tests.mcp_server.tools.calls import call, data, text

pytestmark = pytest.mark.anyio


async def test_a_failing_trace_shows_the_throttled_dynamodb_call_at_the_bottom_of_its_tree(
    checkout_server: MCPServer[Any],
) -> None:
    hits = data(await call(checkout_server, "search_traces", errors_only=True, limit=3))["hits"]
    assert len(hits) == 3
    assert all(h["error"] for h in hits)
    assert datetime.fromisoformat(hits[0]["start"]) >= ONSET

    result = await call(checkout_server, "get_trace", trace_id=hits[0]["trace_id"])
    trace = data(result)

    assert trace["root_service"] == "frontend"
    assert [(s["depth"], s["service"]) for s in trace["spans"]] == [
        (0, "frontend"),
        (1, "checkout"),
        (2, "cart"),
        (2, "payments"),
        (3, "payments"),
    ]
    deepest = trace["spans"][-1]
    assert deepest["peer"] == "DynamoDB:payments"
    assert deepest["exceptions"][0].startswith("ProvisionedThroughputExceededException")
    assert "      payments DynamoDB.PutItem -> DynamoDB:payments" in text(result)


async def test_search_by_operation_and_duration_returns_one_hit_per_trace(
    checkout_server: MCPServer[Any],
) -> None:
    hits = data(
        await call(
            checkout_server,
            "search_traces",
            service="payments",
            operation="DynamoDB.PutItem",
            min_duration_ms=40,
            order="slowest",
            limit=10,
        )
    )["hits"]

    assert len(hits) == 10
    assert len({h["trace_id"] for h in hits}) == 10
    durations = [h["duration_ms"] for h in hits]
    assert durations == sorted(durations, reverse=True)


async def test_get_trace_rejects_malformed_and_unknown_ids(checkout_server: MCPServer[Any]) -> None:
    malformed = await call(checkout_server, "get_trace", trace_id="abc")
    unknown = await call(checkout_server, "get_trace", trace_id="0" * 32)

    assert "is not 32 hex characters" in text(malformed)
    assert "no spans for trace" in text(unknown)


async def test_service_map_marks_the_external_dependency_and_its_errors(
    checkout_server: MCPServer[Any],
) -> None:
    edges = data(await call(checkout_server, "service_map", service="payments"))["edges"]

    by_pair = {(e["caller"], e["callee"]): e for e in edges}
    assert set(by_pair) == {("checkout", "payments"), ("payments", "DynamoDB:payments")}
    dynamodb = by_pair[("payments", "DynamoDB:payments")]
    assert dynamodb["external"] is True
    assert dynamodb["errors"] == by_pair[("checkout", "payments")]["errors"] > 0


async def test_hotspots_put_the_error_origin_at_the_dependency_not_the_callers(
    checkout_server: MCPServer[Any],
) -> None:
    hotspots = data(await call(checkout_server, "trace_hotspots"))

    (origin,) = hotspots["error_origins"]
    assert (origin["service"], origin["operation"], origin["peer"]) == (
        "payments",
        "DynamoDB.PutItem",
        "DynamoDB:payments",
    )
    assert datetime.fromisoformat(origin["first_seen"]) >= ONSET
    assert origin["baseline_rate_per_min"] == 0
    assert origin["rate_per_min"] > 10
    assert hotspots["scope"]["onset"] == "2026-01-01T10:15:00Z"
    slower = hotspots["latency_changes"][0]
    assert (slower["service"], slower["operation"]) == ("payments", "DynamoDB.PutItem")
    assert slower["incident_self_ms"] > 3 * slower["baseline_self_ms"]
    assert hotspots["latency"][0]["operation"] == "DynamoDB.PutItem"
    assert abs(sum(h["self_share"] for h in hotspots["latency"]) - 1.0) < 1e-6
