"""The overview tools (list_services, audit_slos, count_logs) and what every tool now does alike:
traces counted with a cursor, windowed alarms, epoch seconds, unknown arguments refused,
rounded floats, untrusted text fenced, the server's version."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import pytest
from mcp import Client
from mcp.server import MCPServer

from mcp_server.backends.base import SpanQuery
from mcp_server.backends.local import LocalBackend
from mcp_server.telemetry import Span
from mcp_server.tool_calls import parse_tool_call
from tests.mcp_server.scenario_fixture import START
from tests.mcp_server.tools.calls import call, data, text

pytestmark = pytest.mark.anyio


async def test_list_services_names_each_service_with_how_much_telemetry_it_has(
    checkout_server: MCPServer[Any],
) -> None:
    services = {s["service"]: s for s in data(await call(checkout_server, "list_services"))["services"]}

    assert set(services) == {"cart", "checkout", "frontend", "payments"}
    assert services["payments"]["failed_spans"] > 0 and services["payments"]["metrics"] == 2
    assert services["checkout"]["slos"] == ["checkout-availability"]


async def test_audit_slos_traces_the_breaching_slo_to_the_throttled_dependency_below_it(
    checkout_server: MCPServer[Any],
) -> None:
    result = await call(checkout_server, "audit_slos")
    (item,) = data(result)["slos"]

    assert item["slo"]["name"] == "checkout-availability" and item["slo"]["breaching"]
    assert item["cause_service"] == "payments"
    assert "DynamoDB" in item["likely_cause"]
    assert item["alarms_fired"] == ["payments-dynamodb-throttles"]
    follow = parse_tool_call(item["next_call"])
    assert follow is not None and follow.tool == "trace_hotspots"
    assert follow.arguments["service"] == "payments"
    assert text(result).startswith("<untrusted-data")


async def test_count_logs_counts_by_service_and_severity_with_a_series_per_period(
    checkout_server: MCPServer[Any],
) -> None:
    out = data(await call(checkout_server, "count_logs", min_severity="ERROR", period_seconds=300))

    assert out["total"] == sum(g["count"] for g in out["groups"]) > 0
    assert all(g["severity"] in {"ERROR", "FATAL"} for g in out["groups"])
    top = out["groups"][0]
    assert sum(p["count"] for p in top["series"]) == top["count"]
    assert [p["time"] for p in top["series"]] == [
        "2026-01-01T10:15:00Z",
        "2026-01-01T10:20:00Z",
        "2026-01-01T10:25:00Z",
    ]


async def test_search_traces_limit_counts_traces_and_the_cursor_pages_through_them_without_repeats(
    checkout_server: MCPServer[Any], checkout_backend: LocalBackend
) -> None:
    failing = checkout_backend.query_spans(SpanQuery(errors_only=True, limit=10_000))
    first: dict[str, Span] = {}
    for span in sorted(failing, key=lambda s: (s.start_time_unix_nano, s.trace_id)):
        first.setdefault(span.trace_id, span)
    seen: list[str] = []
    arguments: dict[str, Any] = {"errors_only": True, "limit": 7}
    async with Client(checkout_server) as client:
        for _ in range(200):
            page = (await client.call_tool("search_traces", arguments)).structured_content
            assert page is not None
            assert len(page["hits"]) == 7 or not page["has_more"]
            seen += [h["trace_id"] for h in page["hits"]]
            if not page["next_page"]:
                break
            arguments = {**arguments, **page["next_page"]}

    assert len(first) > 20
    assert seen == list(first)  # every failing trace once, in the order of its first failure


async def test_audit_services_counts_only_alarms_that_fired_within_the_window(
    checkout_server: MCPServer[Any],
) -> None:
    def payments(out: dict[str, Any]) -> dict[str, Any]:
        return next(s for s in out["services"] if s["service"] == "payments")

    before = data(await call(checkout_server, "audit_services", end="2026-01-01T10:12:00Z"))
    whole = data(await call(checkout_server, "audit_services"))

    assert payments(before)["alarms_firing"] == []
    assert payments(whole)["alarms_firing"] == ["payments-dynamodb-throttles"]


async def test_epoch_seconds_read_like_the_same_iso_times(checkout_server: MCPServer[Any]) -> None:
    epoch = int(START.timestamp())
    iso = data(
        await call(checkout_server, "list_slos", start="2026-01-01T10:00:00Z", end="2026-01-01T10:20:00Z")
    )
    numeric = data(await call(checkout_server, "list_slos", start=epoch, end=epoch + 1200))
    textual = data(await call(checkout_server, "list_slos", start=str(epoch), end=str(epoch + 1200)))

    assert iso["window"] == numeric["window"] == textual["window"]
    assert iso["slos"] == numeric["slos"]


async def test_an_unknown_argument_is_refused_with_the_arguments_the_tool_takes(
    checkout_server: MCPServer[Any],
) -> None:
    result = await call(checkout_server, "list_slos", window="2026-01-01T10:00:00Z/2026-01-01T10:30:00Z")

    assert result.is_error
    assert "unknown argument(s) window for list_slos; it takes: end, service, start" in text(result)


async def test_floats_are_rounded_and_telemetry_text_is_marked_untrusted(
    checkout_server: MCPServer[Any],
) -> None:
    audit = data(await call(checkout_server, "audit_services"))
    logs = await call(checkout_server, "query_logs", min_severity="ERROR", limit=3)

    rates = [s["error_rate"] for s in audit["services"] if s["error_rate"]]
    assert rates and all(len(repr(r).lstrip("0.").replace(".", "")) <= 6 for r in rates)
    assert data(logs)["untrusted"] == ["records[].body", "records[].attributes"]
    body = text(logs)
    assert body.startswith('<untrusted-data source="telemetry" nonce="')
    assert body.count("</untrusted-data") == 1


async def test_the_server_reports_its_version_and_describes_time_forms_once(
    checkout_server: MCPServer[Any],
) -> None:
    async with Client(checkout_server) as client:
        info = client.server_info
        instructions = client.instructions
        tools = (await client.list_tools()).tools

    assert info is not None and info.version == version("sleuth")
    assert "epoch" in (instructions or "")
    descriptions = " ".join(
        str(s.get("description", "")) for t in tools for s in t.input_schema["properties"].values()
    )
    assert "ISO 8601" not in descriptions
