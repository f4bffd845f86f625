"""Each fault shows the symptoms a real one does, where it would, and nowhere else."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from evals.simulator import FAULT_CLASSES
from evals.simulator.faults import FaultSetupError
from evals.simulator.faults.base import FaultSpec
from evals.simulator.generate import ScenarioPlan, write_scenario
from mcp_server.scenario import load_ground_truth
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import ChangeEvent, ChangeKind, to_nanos
from tests.evals.simulator.conftest import ScenarioFactory
from tests.evals.simulator.reading import SpanRow, read_logs, read_points, read_spans

SERVER, CLIENT = 2, 3


def onset_ns(directory: Path) -> int:
    truth = load_ground_truth(directory)
    assert truth is not None and truth.onset is not None
    return to_nanos(truth.onset)


def changes(directory: Path) -> list[ChangeEvent]:
    return [
        ChangeEvent.model_validate_json(line)
        for line in (directory / "changes.jsonl").read_text().splitlines()
    ]


def errors(spans: list[SpanRow], **where: object) -> list[SpanRow]:
    return [s for s in spans if s.error and all(getattr(s, k) == v for k, v in where.items())]


def split(spans: list[SpanRow], at: int) -> tuple[list[SpanRow], list[SpanRow]]:
    return [s for s in spans if s.start < at], [s for s in spans if s.start >= at]


def test_every_taxonomy_fault_except_unknown_has_a_simulation() -> None:
    assert set(FAULT_CLASSES) == set(FaultType) - {FaultType.UNKNOWN}


def test_a_fault_that_cannot_happen_on_a_service_is_refused_with_a_hint(tmp_path: Path) -> None:
    plan = ScenarioPlan(
        name="x", faults=(FaultSpec(FaultType.DEPENDENCY_THROTTLING, "customers"),), size="tiny"
    )
    with pytest.raises(FaultSetupError, match="visits"):
        write_scenario(plan, tmp_path / "x")


def test_dependency_throttling_fails_dynamodb_calls_and_retries_amplify_them(
    simulated: ScenarioFactory,
) -> None:
    directory = simulated("dependency_throttling", "visits")
    at = onset_ns(directory)
    spans = read_spans(directory)
    before, after = split(spans, at)
    throttled = [s for s in errors(after, service="visits") if s.name.startswith("DynamoDB.")]
    assert throttled and all(
        s.events[0]["exception.type"].endswith("ProvisionedThroughputExceededException") for s in throttled
    )
    assert not [s for s in errors(before) if s.name.startswith("DynamoDB.")]
    assert not [s for s in errors(spans, service="appointments") if s.name.startswith("DynamoDB.")]

    def calls_per_request(rows: list[SpanRow]) -> float:
        dynamo = sum(1 for s in rows if s.service == "visits" and s.name.startswith("DynamoDB."))
        served = sum(1 for s in rows if s.service == "visits" and s.kind == SERVER)
        return dynamo / served

    assert calls_per_request(after) > 1.5 * calls_per_request(before)
    points = read_points(directory, "aws.dynamodb.throttled_requests")
    assert sum(p.value for p in points if p.time <= at) == 0
    assert (
        sum(p.value for p in points if p.time > at and p.attributes["aws.dynamodb.table_name"] == "Visits")
        > 0
    )
    assert any(
        "ProvisionedThroughputExceededException" in row.body and row.severity == "WARN"
        for row in read_logs(directory)
    )


def test_bad_deployment_errors_start_on_the_hosts_running_the_new_version(simulated: ScenarioFactory) -> None:
    directory = simulated("bad_deployment", "customers")
    at = onset_ns(directory)
    deploy = [c for c in changes(directory) if c.service == "customers"]
    assert len(deploy) == 1 and deploy[0].kind == ChangeKind.DEPLOYMENT and to_nanos(deploy[0].time) < at
    spans = read_spans(directory)
    failing = [
        s for s in errors(spans, service="customers", kind=SERVER) if "(transient)" not in str(s.events)
    ]
    assert failing and {s.version for s in failing} == {deploy[0].version}
    assert all(s.start >= at for s in failing)
    assert {s.version for s in spans if s.service == "customers" and s.start < at} == {
        deploy[0].previous_version
    }


def test_config_change_makes_the_service_time_out_on_its_dependency_without_a_deploy(
    simulated: ScenarioFactory,
) -> None:
    directory = simulated("config_change", "payments")
    at = onset_ns(directory)
    change = [c for c in changes(directory) if c.service == "payments"]
    assert len(change) == 1 and change[0].kind == ChangeKind.CONFIG and to_nanos(change[0].time) < at
    spans = read_spans(directory)
    timeouts = [s for s in errors(spans, service="payments", kind=CLIENT)]
    assert timeouts and all(
        s.start >= at and s.attributes["peer.service"] == "payment-provider" for s in timeouts
    )
    assert {s.version for s in spans if s.service == "payments"} == {"1.4.6"}


def test_cpu_saturation_pins_the_services_cpu_and_slows_it_while_others_stay_idle(
    simulated: ScenarioFactory,
) -> None:
    directory = simulated("cpu_saturation", "customers")
    at = onset_ns(directory)
    cpu = read_points(directory, "system.cpu.utilization")
    late = at + 4 * 60 * 10**9
    assert min(p.value for p in cpu if p.service == "customers" and p.time > late) > 0.85
    assert max(p.value for p in cpu if p.service == "customers" and p.time <= at) < 0.6
    assert max(p.value for p in cpu if p.service not in ("customers", "reports-batch")) < 0.7
    spans = [s for s in read_spans(directory) if s.service == "customers" and s.kind == SERVER]
    before, after = split(spans, late)
    assert sorted(s.ms for s in after)[len(after) // 2] > 4 * sorted(s.ms for s in before)[len(before) // 2]


def test_memory_leak_grows_memory_before_the_oom_restarts(simulated: ScenarioFactory) -> None:
    directory = simulated("memory_leak", "visits", minutes=26, onset_fraction=0.35)
    at = onset_ns(directory)
    memory = read_points(directory, "process.memory.usage")
    restarts = read_points(directory, "k8s.container.restarts")
    host = sorted({p.host or "" for p in memory if p.service == "visits"})[0]
    series = sorted((p.time, p.value) for p in memory if p.host == host)
    restart_times = sorted(p.time for p in restarts if p.host == host and p.value >= 1)
    assert restart_times, "the leaking host is OOM-killed within the window"
    climb = [v for t, v in series if at < t < restart_times[0]]
    assert len(climb) >= 3 and climb[-1] > 1.3 * climb[0]
    flat = [v for t, v in series if t <= at]
    assert max(flat) < 1.1 * min(flat)
    gc = read_points(directory, "runtime.gc.pause.duration")
    assert max(p.value for p in gc if p.host == host) > 5 * max(
        p.value for p in gc if p.host == host and p.time <= at
    )
    ooms = [row for row in read_logs(directory) if "OutOfMemoryError" in row.body and row.service == "visits"]
    assert ooms and min(row.time for row in ooms) > at + 4 * 60 * 10**9
    assert not [p for p in restarts if p.service != "visits" and p.value > 0]


def test_network_delay_only_adds_latency_and_leaves_no_errors_or_error_logs(
    simulated: ScenarioFactory,
) -> None:
    directory = simulated("network_delay", "customers")
    at = onset_ns(directory)
    spans = read_spans(directory)
    before, after = split([s for s in spans if s.service == "customers" and s.kind == SERVER], at)
    assert sorted(s.ms for s in after)[len(after) // 2] > sorted(s.ms for s in before)[len(before) // 2] + 100
    late = [s for s in errors(spans) if s.start >= at]
    assert not [s for s in late if "imeout" in str(s.attributes.get("error.type", ""))]
    transient = {
        s.trace_id for s in spans if s.events and "(transient)" in s.events[0].get("exception.message", "")
    }
    assert {s.trace_id for s in late if s.service != "reports-batch"} <= transient  # only background noise
    logs = [row for row in read_logs(directory) if row.service == "customers" and row.time >= at]
    assert not [row for row in logs if row.severity == "ERROR" and "(transient)" not in row.body]


def test_connection_pool_exhaustion_fails_requests_while_the_database_stays_healthy(
    simulated: ScenarioFactory,
) -> None:
    directory = simulated("connection_pool_exhaustion", "customers")
    at = onset_ns(directory)
    spans = read_spans(directory)
    failing = errors(spans, service="customers", kind=SERVER)
    assert failing and all(
        "Connection is not available" in s.events[0]["exception.message"]
        for s in failing
        if s.start >= at + 60 * 10**9
    )
    assert not [s for s in errors(spans, service="customers", kind=CLIENT)]
    pending = read_points(directory, "db.client.connection.pending_requests")
    assert max(p.value for p in pending if p.service == "customers" and p.time <= at) == 0
    assert max(p.value for p in pending if p.service == "customers" and p.time > at + 60 * 10**9) > 10
    assert max(p.value for p in pending if p.service != "customers") == 0


def test_a_slow_downstream_makes_callers_time_out_and_retry_into_a_storm(simulated: ScenarioFactory) -> None:
    directory = simulated("downstream_timeout_retry_storm", "customers")
    at = onset_ns(directory)
    spans = read_spans(directory)
    served = [s for s in spans if s.service == "customers" and s.kind == SERVER]
    calls = [s for s in spans if s.kind == SERVER and s.service in ("frontend",)]
    before, after = split(served, at + 120 * 10**9)
    front_before, front_after = split(calls, at + 120 * 10**9)
    assert len(after) / len(front_after) > 1.3 * len(before) / len(front_before)
    retried = [
        s
        for s in spans
        if s.attributes.get("peer.service") == "customers" and s.attributes.get("http.request.resend_count")
    ]
    assert retried and all(s.start >= at for s in retried if s.error)
    timeouts = [s for s in errors(spans, kind=CLIENT) if s.attributes.get("peer.service") == "customers"]
    assert any(
        "timed out" in s.attributes.get("error.type", "") or "Timeout" in s.attributes.get("error.type", "")
        for s in timeouts
    )


def test_single_host_failure_errors_on_one_host_that_gets_more_than_its_share(
    simulated: ScenarioFactory,
) -> None:
    directory = simulated("single_host_failure", "visits")
    at = onset_ns(directory)
    truth = load_ground_truth(directory)
    assert truth is not None and truth.root_cause.host
    spans = [s for s in read_spans(directory) if s.service == "visits" and s.kind == SERVER]
    failing_hosts = Counter(s.host for s in spans if s.error and s.start >= at)
    assert failing_hosts.most_common(1)[0][0] == truth.root_cause.host
    other = sum(n for h, n in failing_hosts.items() if h != truth.root_cause.host)
    assert other <= 2
    share = Counter(s.host for s in spans if s.start >= at)
    assert share[truth.root_cause.host] / sum(share.values()) > 1.4 / len(share)
    health = [
        row
        for row in read_logs(directory)
        if row.host == truth.root_cause.host and "GET /health 200" in row.body
    ]
    assert [row for row in health if row.time > at]


def test_az_impairment_errors_only_on_the_hosts_in_one_zone(simulated: ScenarioFactory) -> None:
    directory = simulated("az_impairment", "customers")
    truth = load_ground_truth(directory)
    assert truth is not None and truth.root_cause.availability_zone
    failing = [
        s
        for s in read_spans(directory)
        if s.error and s.service == "customers" and s.start >= onset_ns(directory)
    ]
    assert failing and {s.az for s in failing if s.kind == CLIENT} == {truth.root_cause.availability_zone}


def test_an_expired_certificate_fails_callers_handshakes_and_starves_the_service(
    simulated: ScenarioFactory,
) -> None:
    directory = simulated("certificate_expiry", "customers")
    at = onset_ns(directory)
    spans = read_spans(directory)
    handshakes = [
        s
        for s in errors(spans, kind=CLIENT)
        if s.attributes.get("peer.service") == "customers" and s.start >= at
    ]
    assert handshakes and all(
        "certificate" in s.attributes["error.type"].lower() or "SSL" in s.attributes["error.type"]
        for s in handshakes
    )
    assert not [s for s in spans if s.service == "customers" and s.kind == SERVER and s.start >= at + 10**9]
    assert [
        row
        for row in read_logs(directory)
        if row.service == "customers" and row.severity == "WARN" and row.time >= at
    ]


def test_cache_failure_fails_cache_calls_and_shifts_load_to_the_database(simulated: ScenarioFactory) -> None:
    directory = simulated("cache_failure", "vets")
    at = onset_ns(directory)
    spans = [s for s in read_spans(directory) if s.service == "vets"]
    before, _ = split(spans, at)
    _, after = split(spans, at + 30 * 10**9)
    assert [s for s in after if s.error and s.attributes.get("db.system") == "redis"]
    assert not [s for s in before if s.error and s.attributes.get("db.system") == "redis"]

    def sql_per_request(rows: list[SpanRow]) -> float:  # queries that only run on a cache miss
        sql = sum(1 for s in rows if s.attributes.get("db.sql.table") == "vets")
        return sql / sum(1 for s in rows if s.kind == SERVER and s.name == "GET /api/vets")

    assert sql_per_request(after) > 3 * sql_per_request(before)
    ratio = read_points(directory, "cache.hit_ratio")
    assert max(p.value for p in ratio if p.service == "vets" and p.time > at + 90 * 10**9) < 0.2
    assert min(p.value for p in ratio if p.service == "auth") > 0.7


def test_error_exception_throws_in_one_operation_without_any_change(simulated: ScenarioFactory) -> None:
    directory = simulated("error_exception", "visits")
    at = onset_ns(directory)
    failing = [s for s in errors(read_spans(directory), service="visits", kind=SERVER) if s.start >= at]
    assert len({s.name for s in failing if s.events}) == 1
    assert all(s.events[0]["exception.stacktrace"] for s in failing if s.events)
    assert not [c for c in changes(directory) if c.service == "visits"]
    assert [
        row
        for row in read_logs(directory)
        if row.service == "visits" and row.severity == "ERROR" and row.trace_id
    ]


def test_incorrect_response_shows_as_caller_failures_while_the_service_reports_no_errors(
    simulated: ScenarioFactory,
) -> None:
    directory = simulated("incorrect_response", "customers")
    at = onset_ns(directory)
    spans = read_spans(directory)
    served = [s for s in spans if s.service == "customers" and s.kind == SERVER and s.start >= at]
    assert [s for s in served if s.attributes["http.response.status_code"] == 404]
    assert not [s for s in served if s.error]
    caller_failures = [
        s for s in errors(spans, kind=CLIENT) if s.attributes.get("peer.service") == "customers"
    ]
    assert caller_failures and all(
        s.attributes.get("http.response.status_code") == 404 for s in caller_failures
    )
    assert not [row for row in read_logs(directory) if row.service == "customers" and row.severity == "ERROR"]
