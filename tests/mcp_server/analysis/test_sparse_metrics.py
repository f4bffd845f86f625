"""Changes in series too short to test on their own: judged against their peers' moves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from mcp_server.analysis.signals import Scope
from mcp_server.analysis.sparse_metrics import closed_window, degraded_edges, sparse_changes
from mcp_server.backends.base import MetricQuery
from mcp_server.telemetry import MetricDescriptor, MetricKind, MetricSeries, SeriesPoint, TimeWindow
from tests.mcp_server.analysis.scopes import T0

FIVE = timedelta(minutes=5)
END = T0 + 3 * FIVE
ONSET = T0 + timedelta(minutes=7, seconds=30)
SCOPE = Scope(
    window=TimeWindow(start=T0, end=END),
    onset=ONSET,
    onset_source="default",
    baseline=TimeWindow(start=T0, end=ONSET),
    incident=TimeWindow(start=ONSET, end=END),
    bucket_seconds=60,
    services=["gateway", "orders", "stock", "users"],
)


def _series(
    service: str,
    values: Sequence[float],
    name: str = "q7.busy",
    kind: MetricKind = MetricKind.GAUGE,
    unit: str = "",
    **attributes: str,
) -> MetricSeries:
    # five-minute points, each stamped at the end of its interval
    points = [SeriesPoint(time=T0 + (i + 1) * FIVE, value=v) for i, v in enumerate(values)]
    return MetricSeries(
        name=name, service=service, kind=kind, unit=unit, points=points, attributes=attributes
    )


QUIET = [[0.30, 0.31, 0.29], [0.32, 0.30, 0.31], [0.29, 0.30, 0.30], [0.31, 0.29, 0.32], [0.30, 0.32, 0.31]]


def test_a_series_that_moved_far_more_than_its_peers_is_a_change():
    peers = [_series(f"s{i}", v) for i, v in enumerate(QUIET)]
    found = sparse_changes([*peers, _series("hot", [0.30, 0.45, 0.92])], ONSET)
    assert [(s.service, round(b, 2)) for s, b, _, _ in found] == [("hot", 0.30)]
    assert found[0][3] > 3


def test_a_counter_that_moved_by_a_handful_of_events_is_no_change_however_far_its_ratio_went():
    # rates per second over sixty-second buckets: 1/60 is one event
    still = [_series(f"s{i}", [0, 0, 0], name="errors", kind=MetricKind.SUM) for i in range(5)]
    one_event = _series("noisy", [0, 0, 1 / 60], name="errors", kind=MetricKind.SUM)
    many = _series("failing", [0, 0, 12 / 60], name="errors", kind=MetricKind.SUM)
    found = sparse_changes([*still, one_event, many], ONSET, seconds_per_value=60)
    assert [s.service for s, *_ in found] == ["failing"]


def test_a_counter_with_too_few_peers_that_leapt_from_zero_is_a_change_by_its_own_count_test():
    leapt = _series("orders", [0, 3 / 60, 132 / 60], name="throttled", kind=MetricKind.SUM)
    stayed = _series("stock", [0, 0, 0], name="throttled", kind=MetricKind.SUM)
    found = sparse_changes([leapt, stayed], ONSET, seconds_per_value=60)
    assert [s.service for s, *_ in found] == ["orders"]
    assert found[0][3] > 10


def test_a_gauge_with_too_few_peers_is_never_a_change():
    found = sparse_changes([_series("orders", [1, 1, 50]), _series("stock", [1, 1, 1])], ONSET)
    assert found == []


def test_the_closed_window_keeps_the_point_stamped_at_the_window_end_and_nothing_later():
    window = closed_window(SCOPE.window)
    assert window.contains(END)
    assert not window.contains(END + FIVE)


class _PeerMetrics:
    """A backend holding one client-side latency metric, split by the peer each call names."""

    def __init__(self, series: list[MetricSeries], key: str = "peer.service") -> None:
        self.series = series
        self.key = key
        self.queries: list[MetricQuery] = []

    def list_metrics(self) -> list[MetricDescriptor]:
        return [
            MetricDescriptor(
                name="client.wait",
                service=s,
                kind=MetricKind.GAUGE,
                unit="ms",
                attribute_keys=[self.key],
            )
            for s in sorted({x.service for x in self.series})
        ]

    def query_metrics(self, query: MetricQuery) -> list[MetricSeries]:
        self.queries.append(query)
        return [s for s in self.series if s.name == query.name]


def _calls(caller: str, peer: str, values: Sequence[float], key: str = "peer.service") -> MetricSeries:
    return _series(caller, values, name="client.wait", unit="ms", **{key: peer})


def _steady_calls(key: str = "peer.service") -> list[MetricSeries]:
    return [
        _calls("gateway", "users", [12, 13, 12], key),
        _calls("gateway", "stock", [20, 19, 21], key),
        _calls("orders", "users", [11, 12, 12], key),
        _calls("users", "users-db", [5, 5, 6], key),
    ]


def test_calls_that_slowed_far_more_than_other_calls_are_a_latency_edge_charged_to_the_callee():
    backend = _PeerMetrics([*_steady_calls(), _calls("gateway", "orders", [15, 520, 525])])
    signals = degraded_edges(backend, SCOPE)  # type: ignore[arg-type]
    assert [(s.service, s.hints["caller"], s.hints["latency"]) for s in signals] == [
        ("orders", "gateway", True)
    ]
    assert backend.queries[0].group_by == ["peer.service"]
    assert backend.queries[0].window.contains(END)


def test_calls_to_a_dependency_no_service_stands_for_are_charged_to_the_caller():
    backend = _PeerMetrics([*_steady_calls(), _calls("stock", "stock-table", [15, 520, 525])])
    signals = degraded_edges(backend, SCOPE)  # type: ignore[arg-type]
    assert [(s.service, s.hints["external"]) for s in signals] == [("stock", True)]


def test_calls_that_got_faster_are_no_degraded_edge():
    backend = _PeerMetrics([*_steady_calls(), _calls("gateway", "orders", [500, 20, 15])])
    assert degraded_edges(backend, SCOPE) == []  # type: ignore[arg-type]


def test_calls_named_by_the_current_service_peer_name_convention_are_an_edge_too():
    key = "service.peer.name"
    backend = _PeerMetrics([*_steady_calls(key), _calls("gateway", "orders", [15, 520, 525], key)], key)
    signals = degraded_edges(backend, SCOPE)  # type: ignore[arg-type]
    assert [(s.service, s.hints["caller"]) for s in signals] == [("orders", "gateway")]
    assert backend.queries[0].group_by == [key]
