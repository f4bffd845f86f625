"""The local store's span statistics count requests (traces) beside spans."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import pytest

from evals.simulator import FaultSpec, ScenarioPlan, write_scenario
from mcp_server.backends.base import MAX_LIMIT, SpanQuery, SpanStatsQuery
from mcp_server.backends.local import LocalBackend
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import from_nanos

WIDTH = 60
PLAN = ScenarioPlan(
    name="span-stats",
    faults=(FaultSpec(FaultType.ERROR_EXCEPTION, "visits", onset_fraction=0.5),),
    seed=9,
    size="tiny",
    minutes=10,
    red_herrings=False,
)


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> LocalBackend:
    directory = write_scenario(PLAN, tmp_path_factory.mktemp("span-stats") / "scenario")
    return LocalBackend.from_scenario(directory)


def _failed_traces(backend: LocalBackend, service: str) -> dict[datetime, set[str]]:
    window = backend.time_range()
    assert window is not None
    spans = backend.query_spans(SpanQuery(window=window, service=service, errors_only=True, limit=MAX_LIMIT))
    assert len(spans) < MAX_LIMIT
    by_bucket: dict[datetime, set[str]] = defaultdict(set)
    for span in spans:
        start = span.start_time_unix_nano // (WIDTH * 10**9) * WIDTH * 10**9
        by_bucket[from_nanos(start)].add(span.trace_id)
    return by_bucket


def test_a_failed_request_counts_once_however_many_of_its_spans_failed(backend: LocalBackend) -> None:
    window = backend.time_range()
    assert window is not None
    query = SpanStatsQuery(window=window, bucket_seconds=WIDTH, group_by=["service"], count_traces=True)
    buckets = backend.span_stats(query)
    services = {str(b.group["service"]) for b in buckets}

    for service in services:
        counted = {b.bucket_start: b.error_traces for b in buckets if b.group["service"] == service}
        assert {t: n for t, n in counted.items() if n} == {
            t: len(ids) for t, ids in _failed_traces(backend, service).items()
        }, service
    # a failed call fails the callee's server span, the caller's client span and the caller's own
    # server span: spans overcount the requests that failed
    assert sum(b.errors for b in buckets) > sum(b.error_traces or 0 for b in buckets) > 0
    for b in buckets:
        assert b.traces is not None and b.error_traces is not None
        assert b.error_traces <= min(b.errors, b.traces) and b.traces <= b.count


def test_traces_are_counted_only_when_asked_for(backend: LocalBackend) -> None:
    window = backend.time_range()
    assert window is not None
    buckets = backend.span_stats(SpanStatsQuery(window=window, bucket_seconds=WIDTH, group_by=["service"]))

    assert buckets and all(b.traces is None and b.error_traces is None for b in buckets)
    assert all(b.with_outcome is not None for b in buckets)  # the cheap count comes every time
