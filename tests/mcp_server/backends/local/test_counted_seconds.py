"""A counter's points say how long they counted, so a coarse point read in fine buckets is no faster
than it was."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mcp_server.backends.base import MetricQuery
from mcp_server.backends.local import LocalBackend
from mcp_server.telemetry import TimeWindow

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
DELTA, CUMULATIVE = 1, 2


def _nanos(at: datetime) -> str:
    return str(int(at.timestamp() * 1e9))


def _counter(host: str, temporality: int, points: list[tuple[datetime, datetime, int]], **attrs: str) -> dict:
    return {
        "resource": {
            "attributes": [
                {"key": "service.name", "value": {"stringValue": "orders"}},
                {"key": "host.name", "value": {"stringValue": host}},
            ]
        },
        "scopeMetrics": [
            {
                "metrics": [
                    {
                        "name": "http.server.request.errors",
                        "unit": "{request}",
                        "sum": {
                            "aggregationTemporality": temporality,
                            "isMonotonic": True,
                            "dataPoints": [
                                {
                                    "attributes": [
                                        {"key": k, "value": {"stringValue": v}} for k, v in attrs.items()
                                    ],
                                    "startTimeUnixNano": _nanos(start),
                                    "timeUnixNano": _nanos(stamp),
                                    "asInt": str(value),
                                }
                                for start, stamp, value in points
                            ],
                        },
                    }
                ]
            }
        ],
    }


def _five_minute(values: list[int]) -> list[tuple[datetime, datetime, int]]:
    step = timedelta(minutes=5)
    return [(T0 + i * step, T0 + (i + 1) * step, v) for i, v in enumerate(values)]


def _backend(tmp_path: Path, resources: list[dict]) -> LocalBackend:
    (tmp_path / "scenario.yaml").write_text(
        "name: counted\nwindow: {start: '2026-01-01T10:00:00Z', end: '2026-01-01T10:15:00Z'}\n"
    )
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"resourceMetrics": resources}) + "\n")
    return LocalBackend.from_scenario(tmp_path)


WINDOW = TimeWindow(start=T0, end=T0 + timedelta(minutes=15, seconds=1))


def test_five_minute_delta_points_read_per_minute_say_they_counted_five_minutes_each_host_alike(
    tmp_path: Path,
):
    resources = [
        _counter("a", DELTA, _five_minute([3, 30, 60]), route="/x"),
        _counter("a", DELTA, _five_minute([0, 6, 12]), route="/y"),  # a second series on the same host
        _counter("b", DELTA, _five_minute([1, 1, 1])),
    ]
    with _backend(tmp_path, resources) as backend:
        buckets = backend.metric_buckets(WINDOW, 60, by_host=True)
        series = backend.query_metrics(
            MetricQuery(name="http.server.request.errors", window=WINDOW, statistic="rate", period_seconds=60)
        )

    by_host = {(b.host, b.bucket_start): (b.value, b.counted_seconds) for b in buckets}
    assert by_host[("a", T0 + timedelta(minutes=10))] == (36 / 60, 300.0)  # a rate over 60 s; it counted 300
    assert by_host[("b", T0 + timedelta(minutes=15))] == (1 / 60, 300.0)
    [total] = series
    assert [(p.value * 60, p.counted_seconds) for p in total.points] == [
        (4.0, 300.0),
        (37.0, 300.0),
        (73.0, 300.0),
    ]


def test_a_cumulative_counter_counted_the_time_since_its_point_before(tmp_path: Path):
    started = T0 - timedelta(hours=1)
    stamps = [T0 + timedelta(minutes=m) for m in (1, 2, 5)]  # a missed scrape between 2 and 5
    points = [(started, stamp, total) for stamp, total in zip(stamps, [10, 14, 26], strict=True)]
    with _backend(tmp_path, [_counter("a", CUMULATIVE, points)]) as backend:
        buckets = backend.metric_buckets(WINDOW, 60, by_host=True)

    assert [(b.bucket_start.minute, round(b.value * 60), b.counted_seconds) for b in buckets] == [
        (2, 4, 60.0),
        (5, 12, 180.0),
    ]
