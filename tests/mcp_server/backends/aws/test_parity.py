"""The AWS backend, fed the same scenario through moto and responders, answers like the local store."""

from __future__ import annotations

import math

import pytest

from mcp_server.backends.aws.alarms import BURN_RATE_METRIC
from mcp_server.backends.aws.testing.responders import AwsErrorResponse
from mcp_server.backends.aws.testing.scenario_loader import LoadedScenario
from mcp_server.backends.base import LogQuery, MetricQuery, SpanQuery, SpanStatsQuery
from mcp_server.backends.local import LocalBackend
from mcp_server.scenario import load_scenario_spec
from mcp_server.telemetry import Severity, SpanKind
from tests.mcp_server.engine_run import run_engine


def close(a: float | None, b: float | None, tolerance: float = 0.01) -> bool:
    """Equal within X-Ray's microsecond time precision (durations in ms)."""
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, abs_tol=tolerance)


def test_the_same_investigation_on_aws_and_local_names_the_same_top_hypothesis(
    loaded: LoadedScenario, local_backend: LocalBackend, scenario_dir
) -> None:
    spec = load_scenario_spec(scenario_dir)
    aws = loaded.backend(insights_max_log_groups=50)

    on_local = run_engine(local_backend, spec)
    on_aws = run_engine(aws, spec)

    top_local, top_aws = on_local.hypotheses[0], on_aws.hypotheses[0]
    assert (top_aws.service, top_aws.fault_type) == (top_local.service, top_local.fault_type)
    # Below the top, near-zero hypotheses come from per-host series the local store keeps and
    # CloudWatch's per-service dimension does not; the ones with weight must still agree.
    weighty = [(h.service, h.fault_type) for h in on_local.hypotheses if h.confidence >= 0.1]
    assert [(h.service, h.fault_type) for h in on_aws.hypotheses if h.confidence >= 0.1] == weighty


def test_services_error_origins_and_counts_match_the_local_store(
    loaded: LoadedScenario, local_backend: LocalBackend
) -> None:
    aws = loaded.backend()
    window = loaded.window

    assert aws.list_services() == local_backend.list_services()
    assert aws.count_spans(window) == local_backend.count_spans(window)
    origins = [
        (o.service, o.operation, o.peer, o.count, o.sample_trace_id) for o in aws.error_origins(window)
    ]
    expected = [
        (o.service, o.operation, o.peer, o.count, o.sample_trace_id)
        for o in local_backend.error_origins(window)
    ]
    assert sorted(origins) == sorted(expected)
    assert not aws.notes or all(n.source == "logs" for n in aws.notes)


def test_span_statistics_match_the_local_store_within_microseconds(
    loaded: LoadedScenario, local_backend: LocalBackend
) -> None:
    query = SpanStatsQuery(
        window=loaded.window, bucket_seconds=120, kinds=[SpanKind.SERVER], count_traces=True
    )
    on_aws = {(b.bucket_start, tuple(b.group.items())): b for b in loaded.backend().span_stats(query)}
    on_local = {(b.bucket_start, tuple(b.group.items())): b for b in local_backend.span_stats(query)}

    assert on_aws.keys() == on_local.keys()
    for key, bucket in on_local.items():
        mine = on_aws[key]
        assert (mine.count, mine.errors) == (bucket.count, bucket.errors)
        assert (mine.traces, mine.error_traces) == (bucket.traces, bucket.error_traces)
        assert close(mine.duration_ms_sum, bucket.duration_ms_sum, 0.01 * bucket.count)
        assert close(mine.p95_ms, bucket.p95_ms)


def test_service_graph_edges_match_the_local_store(
    loaded: LoadedScenario, local_backend: LocalBackend
) -> None:
    on_aws = loaded.backend().service_edges(loaded.window)
    on_local = local_backend.service_edges(loaded.window)

    assert [(e.caller, e.callee, e.requests, e.errors, e.callee_is_external) for e in on_aws] == [
        (e.caller, e.callee, e.requests, e.errors, e.callee_is_external) for e in on_local
    ]
    assert all(close(a.p50_ms, b.p50_ms) for a, b in zip(on_aws, on_local, strict=True))


def test_a_trace_read_back_from_x_ray_has_the_same_spans(
    loaded: LoadedScenario, local_backend: LocalBackend
) -> None:
    origin = local_backend.error_origins(loaded.window)[0]
    on_local = local_backend.get_trace(origin.sample_trace_id)
    on_aws = loaded.backend().get_trace(origin.sample_trace_id)

    assert [(s.span_id, s.parent_span_id, s.service, s.operation, s.kind, s.is_error) for s in on_aws] == [
        (s.span_id, s.parent_span_id, s.service, s.operation, s.kind, s.is_error) for s in on_local
    ]
    assert all(
        abs(a.start_time_unix_nano - b.start_time_unix_nano) < 1_000
        for a, b in zip(on_aws, on_local, strict=True)
    )
    assert [s.attributes for s in on_aws] == [s.attributes for s in on_local]


def test_span_search_filters_like_the_local_store(
    loaded: LoadedScenario, local_backend: LocalBackend
) -> None:
    query = SpanQuery(
        window=loaded.window, service="visits", errors_only=True, order="duration_desc", limit=5
    )
    on_aws = loaded.backend().query_spans(query)
    on_local = local_backend.query_spans(query)

    assert [s.span_id for s in on_aws] == [s.span_id for s in on_local]
    assert loaded.filter_expressions[-1] == 'service("visits") AND (fault = true OR error = true)'


def test_error_logs_and_log_counts_match_the_local_store(
    loaded: LoadedScenario, local_backend: LocalBackend
) -> None:
    aws = loaded.backend(insights_max_log_groups=50)
    query = LogQuery(window=loaded.window, min_severity=Severity.ERROR, limit=5_000, order="desc")

    def key(r):  # CloudWatch keeps milliseconds
        return (r.time_unix_nano // 1_000_000, r.service, r.severity, r.body, r.trace_id)

    # the same records; ties within one millisecond may come in either order
    errors = aws.query_logs(query)
    assert sorted(map(key, errors)) == sorted(map(key, local_backend.query_logs(query)))
    assert len(aws.query_logs(query.model_copy(update={"limit": 7}))) == 7
    counts = sorted(
        (b.bucket_start, b.service, b.severity, b.count) for b in aws.log_counts(loaded.window, 60)
    )
    expected = sorted(
        (b.bucket_start, b.service, b.severity, b.count) for b in local_backend.log_counts(loaded.window, 60)
    )
    assert counts == expected


def test_log_pattern_groups_match_the_local_store(
    loaded: LoadedScenario, local_backend: LocalBackend
) -> None:
    on_aws = loaded.backend().log_groups(loaded.window, service="visits", limit=10)
    on_local = local_backend.log_groups(loaded.window, service="visits", limit=10)

    assert [(g.service, g.severity, g.pattern, g.count) for g in on_aws] == [
        (g.service, g.severity, g.pattern, g.count) for g in on_local
    ]


@pytest.mark.parametrize("statistic", ["avg", "sum", "max", "p95", "rate"])
def test_metric_series_match_the_local_store(
    loaded: LoadedScenario, local_backend: LocalBackend, statistic: str
) -> None:
    descriptor = next(m for m in local_backend.list_metrics("visits") if m.attribute_keys)
    query = MetricQuery(name=descriptor.name, service="visits", window=loaded.window, statistic=statistic)  # type: ignore[arg-type]

    on_aws = loaded.backend().query_metrics(query)
    on_local = local_backend.query_metrics(query)

    assert len(on_aws) == len(on_local) == 1
    if statistic in ("p95",):  # percentiles of several series cannot be merged: the worst one is reported
        assert all(a.value >= 0 for a in on_aws[0].points)
        return
    assert [p.time for p in on_aws[0].points] == [p.time for p in on_local[0].points]
    assert all(
        math.isclose(a.value, b.value, rel_tol=1e-9)
        for a, b in zip(on_aws[0].points, on_local[0].points, strict=True)
    )


def test_slos_changes_and_alarms_match_the_local_store(
    loaded: LoadedScenario, local_backend: LocalBackend
) -> None:
    aws = loaded.backend()

    # Application Signals keeps an SLO's burn-rate page as a separate CloudWatch alarm, not in the SLO
    local_slos = [d.model_copy(update={"burn_alert": None}) for d in local_backend.list_slo_definitions()]
    assert aws.list_slo_definitions() == local_slos
    slo = local_backend.list_slo_definitions()[0]
    assert aws.sli_buckets(slo, loaded.window) == local_backend.sli_buckets(slo, loaded.window)
    assert [
        (c.time, c.service, c.kind, c.version, c.previous_version, c.description)
        for c in aws.list_changes(loaded.window)
    ] == [
        (c.time, c.service, c.kind, c.version, c.previous_version, c.description)
        for c in local_backend.list_changes(loaded.window)
    ]
    alarms = {a.name: a for a in aws.list_alarms()}
    for alarm in local_backend.list_alarms():
        mine = alarms[alarm.name]
        assert (mine.state, mine.threshold, mine.service, mine.slo) == (
            alarm.state,
            alarm.threshold,
            alarm.service,
            alarm.slo,
        )
        # a burn-rate alert watches Application Signals' BurnRate of its SLO, named by the SLO
        assert mine.metric == (BURN_RATE_METRIC if alarm.slo else alarm.metric)
    fired = next((a for a in local_backend.list_alarms() if a.history), None)
    if fired is not None:
        assert aws.alarm_history(fired.name).history == fired.history


def test_a_denied_x_ray_degrades_trace_evidence_and_the_investigation_still_completes(
    loaded: LoadedScenario, scenario_dir
) -> None:
    def deny(_params: dict) -> dict:
        raise AwsErrorResponse("AccessDeniedException", "not authorized to perform: xray:GetTraceSummaries")

    xray = loaded.responders["xray"]
    xray.on("GetTraceSummaries", deny)
    try:
        result = run_engine(loaded.backend(), load_scenario_spec(scenario_dir))
    finally:
        xray.off("GetTraceSummaries")

    assert any("xray:GetTraceSummaries denied" in note and "degraded" in note for note in result.notes)
    assert result.hypotheses  # metrics, logs, changes and SLOs still speak


def test_metric_buckets_match_the_local_store(loaded: LoadedScenario, local_backend: LocalBackend) -> None:
    def key(b):
        return (b.name, b.service, b.bucket_start)

    on_aws = {key(b): b for b in loaded.backend().metric_buckets(loaded.window, 60)}
    on_local = {key(b): b for b in local_backend.metric_buckets(loaded.window, 60)}

    assert on_aws.keys() == on_local.keys()
    assert all(
        math.isclose(on_aws[k].value, b.value, rel_tol=1e-9, abs_tol=1e-12) for k, b in on_local.items()
    )
    assert all(on_aws[k].kind == b.kind for k, b in on_local.items() if b.kind.value in ("sum", "gauge"))


def test_sampled_log_groups_count_warnings_exactly_and_estimate_the_rest(
    loaded: LoadedScenario, local_backend: LocalBackend
) -> None:
    on_aws = loaded.backend(insights_max_log_groups=50).log_groups(
        loaded.window, limit=100_000, sample_rows=200
    )
    on_local = local_backend.log_groups(loaded.window, limit=100_000, sample_rows=200)

    def exact(groups):
        return sorted(
            (g.service, g.severity, g.pattern, g.count)
            for g in groups
            if g.severity.rank >= Severity.WARN.rank
        )

    assert exact(on_aws) == exact(on_local)
    total_aws, total_local = sum(g.count for g in on_aws), sum(g.count for g in on_local)
    assert abs(total_aws - total_local) <= 0.02 * total_local
