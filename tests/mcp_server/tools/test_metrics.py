from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server import MCPServer

from mcp_server.backends.local import LocalBackend
from mcp_server.deps import ServerDeps
from mcp_server.server import build_server
from mcp_server.telemetry import to_nanos
from tests.mcp_server.scenario_fixture import START
from tests.mcp_server.tools.calls import call, data, text

pytestmark = pytest.mark.anyio


async def test_list_metrics_shows_each_metric_with_the_keys_it_can_be_grouped_by(
    checkout_server: MCPServer[Any],
) -> None:
    metrics = data(await call(checkout_server, "list_metrics", name_contains="dynamodb"))["metrics"]

    assert metrics == [
        {
            "name": "aws.dynamodb.throttled_requests",
            "service": "payments",
            "kind": "gauge",
            "unit": "{request}",
            "description": "",
            "attribute_keys": ["table"],
            "point_count": 30,
        }
    ]


async def test_query_metrics_returns_the_series_with_its_range_and_last_value(
    checkout_server: MCPServer[Any],
) -> None:
    result = data(
        await call(
            checkout_server,
            "query_metrics",
            name="aws.dynamodb.throttled_requests",
            statistic="max",
            group_by=["table"],
        )
    )

    (series,) = result["series"]
    assert series["attributes"] == {"table": "payments"}
    assert series["min"] == 0
    assert series["max"] > 20
    assert len(series["points"]) == 30
    assert result["period_seconds"] == 60


async def test_a_period_finer_than_the_data_is_raised_to_its_interval_and_the_answer_says_so(
    checkout_server: MCPServer[Any],
) -> None:
    result = data(
        await call(checkout_server, "query_metrics", name="process.cpu.utilization", period_seconds=1)
    )

    assert (result["period_seconds"], result["requested_period_seconds"]) == (60, 1)
    assert result["data_interval_seconds"] == 60
    assert "period raised from 1s to 60s (the data has one point every 60s)" in result["message"]


@pytest.fixture(scope="module")
def counter_server(checkout_incident_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The checkout incident plus a cumulative request counter: 2 requests/s, one point a minute."""
    directory = tmp_path_factory.mktemp("counter")
    shutil.copytree(checkout_incident_dir, directory, dirs_exist_ok=True)
    points = [
        {"timeUnixNano": str(to_nanos(START + timedelta(minutes=m))), "asInt": str(120 * m)}
        for m in range(30)
    ]
    counter = {
        "resourceMetrics": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
                "scopeMetrics": [
                    {
                        "metrics": [
                            {
                                "name": "http.server.requests",
                                "unit": "{request}",
                                "sum": {
                                    "dataPoints": points,
                                    "aggregationTemporality": 2,
                                    "isMonotonic": True,
                                },
                            }
                        ]
                    }
                ],
            }
        ]
    }
    with (directory / "metrics.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps(counter) + "\n")
    with LocalBackend.from_scenario(directory) as backend:
        yield build_server(ServerDeps(backend=backend))


async def test_a_rate_over_one_minute_counter_points_is_per_second_and_never_four_times_too_high(
    counter_server: MCPServer[Any],
) -> None:
    rate = data(
        await call(
            counter_server, "query_metrics", name="http.server.requests", statistic="rate", period_seconds=15
        )
    )
    total = data(
        await call(
            counter_server, "query_metrics", name="http.server.requests", statistic="sum", period_seconds=15
        )
    )

    (series,) = rate["series"]
    assert rate["period_seconds"] == 60 and rate["unit"] == series["unit"] == "{request}/s"
    assert {p["value"] for p in series["points"]} == {2.0}
    (sums,) = total["series"]
    assert total["unit"] == "{request} per 60s"
    assert {p["value"] for p in sums["points"]} == {120.0}


async def test_out_of_range_arguments_are_refused_with_the_bounds_the_schema_declares(
    checkout_server: MCPServer[Any],
) -> None:
    async with Client(checkout_server) as client:
        tools = {t.name: t.input_schema for t in (await client.list_tools()).tools}
        too_many = await client.call_tool(
            "query_metrics", {"name": "process.cpu.utilization", "max_series": 60}
        )
        too_long = await client.call_tool(
            "query_metrics", {"name": "process.cpu.utilization", "period_seconds": 100_000}
        )
        hour = await client.call_tool(
            "query_metrics", {"name": "process.cpu.utilization", "period_seconds": 3600}
        )

    assert tools["query_metrics"]["properties"]["max_series"]["maximum"] == 50
    assert "max_series=60 is out of range; use 1..50" in text(too_many)
    assert "period_seconds=100000 is out of range; use 1..86400" in text(too_long)
    assert data(hour)["period_seconds"] == 3600


async def test_an_unknown_metric_is_an_error_listing_the_known_ones(checkout_server: MCPServer[Any]) -> None:
    result = await call(checkout_server, "query_metrics", name="cpu")

    assert result.is_error
    assert "known metrics: aws.dynamodb.throttled_requests, process.cpu.utilization" in text(result)


async def test_active_alarms_show_the_firing_alarm_and_since_when(checkout_server: MCPServer[Any]) -> None:
    alarms = data(await call(checkout_server, "get_active_alarms"))["alarms"]

    assert [(a["name"], a["state"], a["since"]) for a in alarms] == [
        ("payments-dynamodb-throttles", "ALARM", "2026-01-01T10:16:00Z")
    ]
    assert alarms[0]["condition"] == "max(aws.dynamodb.throttled_requests) > 5 for 2x60s"


async def test_alarm_history_lists_state_changes_oldest_first(checkout_server: MCPServer[Any]) -> None:
    history = data(await call(checkout_server, "get_alarm_history", name="payments-dynamodb-throttles"))

    assert [(t["old_state"], t["new_state"]) for t in history["transitions"]] == [
        ("INSUFFICIENT_DATA", "OK"),
        ("OK", "ALARM"),
    ]
    unknown = await call(checkout_server, "get_alarm_history", name="cpu")
    assert unknown.is_error
    assert "known alarms: cart-cpu-high, payments-dynamodb-throttles" in text(unknown)


async def test_anomaly_detection_finds_the_throttling_metric_jumping_at_the_onset(
    checkout_server: MCPServer[Any],
) -> None:
    result = data(await call(checkout_server, "detect_metric_anomalies", service="payments"))

    top = result["anomalies"][0]
    assert (top["metric"], top["direction"]) == ("aws.dynamodb.throttled_requests", "up")
    assert top["baseline"] == 0
    assert top["onset"] == "2026-01-01T10:15:00Z"
    assert result["scope"]["onset_source"] == "detected"


async def test_a_given_onset_splits_the_window_and_one_outside_it_is_refused(
    checkout_server: MCPServer[Any],
) -> None:
    given = data(await call(checkout_server, "detect_metric_anomalies", onset="2026-01-01T10:15:00Z"))
    outside = await call(checkout_server, "detect_metric_anomalies", onset="-2h")

    assert given["scope"]["baseline"] == {"start": "2026-01-01T10:00:00Z", "end": "2026-01-01T10:15:00Z"}
    assert given["scope"]["onset_source"] == "given"
    assert "is outside the window 2026-01-01T10:00:00Z .. 2026-01-01T10:30:00Z" in text(outside)


async def test_grouping_by_an_attribute_no_point_carries_says_which_keys_exist(
    checkout_server: MCPServer[Any],
) -> None:
    result = data(
        await call(
            checkout_server, "query_metrics", name="aws.dynamodb.throttled_requests", group_by=["tabel"]
        )
    )

    assert "no point carries attribute 'tabel'; this metric's keys: table" in result["message"]
