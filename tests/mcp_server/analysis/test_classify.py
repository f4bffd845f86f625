"""Fault-type classification from the family of signals that explains a change."""

from __future__ import annotations

from typing import Any

from mcp_server.analysis.classify import Suspect, classify
from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.analysis.signals import Signal, SignalKind
from mcp_server.taxonomy import FaultType


def _signal(kind: SignalKind, value: float | None = None, service: str = "svc", **hints: Any) -> Signal:
    evidence = Evidence(kind=EvidenceKind.LATENCY, service=service, description="x", value=value)
    return Signal(service=service, kind=kind, strength=0.5, evidence=evidence, hints=hints)


def _slower_own_code() -> Signal:
    return _signal(SignalKind.SELF_LATENCY, operation="op", callee=None, edge=False)


def _stops_early() -> Signal:
    return _signal(SignalKind.STRUCTURE, structure="own", truncated=True)


def test_own_code_that_slows_and_stops_before_calls_it_used_to_make_is_an_exception():
    fault, _ = classify(Suspect("svc", signals=[_slower_own_code(), _stops_early()]))
    assert fault == FaultType.ERROR_EXCEPTION


def test_time_added_between_a_service_and_its_peers_is_a_network_delay_even_when_calls_change():
    gap = _signal(SignalKind.SELF_LATENCY, operation="op", callee="peer", edge=True)
    fault, _ = classify(Suspect("svc", signals=[gap, _stops_early()]))
    assert fault == FaultType.NETWORK_DELAY


def test_slower_own_code_with_an_unchanged_call_pattern_stays_latency_without_errors():
    fault, _ = classify(Suspect("svc", signals=[_slower_own_code()]))
    assert fault == FaultType.NETWORK_DELAY


def _cpu(level: float, settled: float | None) -> Signal:
    return _signal(
        SignalKind.METRIC, value=level, metric="pod cpu usage", unit="%", direction=1, settled=settled
    )


def test_a_cpu_that_settled_near_half_its_capacity_with_slower_code_is_saturation():
    # the median with the straddling minute (20%) would say "busy"; the minutes wholly after the
    # onset held it at 47%
    fault, _ = classify(Suspect("svc", signals=[_cpu(20.0, 47.0), _slower_own_code()]))
    assert fault == FaultType.CPU_SATURATION


def test_a_cpu_blip_that_settles_far_under_its_capacity_is_busy_not_saturated():
    fault, _ = classify(Suspect("svc", signals=[_cpu(14.0, 14.0), _slower_own_code()]))
    assert fault != FaultType.CPU_SATURATION


def _metric(name: str, direction: int = 1) -> Signal:
    return _signal(SignalKind.METRIC, metric=name, direction=direction)


def test_a_rising_throttled_request_count_is_dependency_throttling_even_beside_a_busier_cpu():
    signals = [_metric("aws.dynamodb.throttled_requests"), _metric("system.cpu.utilization")]
    fault, _ = classify(Suspect("svc", signals=signals))
    assert fault == FaultType.DEPENDENCY_THROTTLING


def test_a_throttled_cpu_quota_is_not_a_dependency_throttling():
    fault, _ = classify(Suspect("svc", signals=[_metric("container.cpu.throttled_time")]))
    assert fault != FaultType.DEPENDENCY_THROTTLING


def test_its_own_server_errors_rising_with_nothing_else_is_an_exception_and_client_errors_alone_are_not():
    fault, _ = classify(Suspect("svc", signals=[_metric("http.server.request.errors")]))
    assert fault == FaultType.ERROR_EXCEPTION
    fault, _ = classify(Suspect("svc", signals=[_metric("client.request.errors")]))
    assert fault != FaultType.ERROR_EXCEPTION


def test_callers_waiting_longer_on_a_service_whose_own_metrics_did_not_move_is_a_network_delay():
    slowed = _signal(SignalKind.EDGE, caller="caller", callee="svc", latency=True, errors=False, sparse=True)
    fault, _ = classify(Suspect("svc", signals=[slowed]))
    assert fault == FaultType.NETWORK_DELAY


def _skew(metric: str, member: str = "host-a", **hints: Any) -> Signal:
    return _signal(
        SignalKind.HOST_SKEW,
        dimension="host",
        member=member,
        metric=metric,
        zone_of={member: "zone-1"},
        **hints,
    )


def _cpu_on(host: str) -> Signal:
    return _signal(SignalKind.METRIC, value=0.94, metric="system.cpu.utilization", direction=1, host=host)


def test_latency_on_one_host_whose_own_cpu_saturated_is_cpu_saturation_not_a_failed_host():
    fault, _ = classify(Suspect("svc", signals=[_skew("latency"), _cpu_on("host-a")]))
    assert fault == FaultType.CPU_SATURATION


def test_latency_on_one_host_while_the_cpu_rose_on_another_stays_a_host_failure():
    fault, _ = classify(Suspect("svc", signals=[_skew("latency"), _cpu_on("host-b")]))
    assert fault == FaultType.SINGLE_HOST_FAILURE


def test_errors_on_one_host_stay_a_host_failure_even_beside_a_busy_cpu_there():
    fault, _ = classify(Suspect("svc", signals=[_skew("errors"), _cpu_on("host-a")]))
    assert fault == FaultType.SINGLE_HOST_FAILURE


def test_a_host_whose_own_few_failing_calls_cannot_connect_to_a_dependency_is_its_zone_impaired():
    cannot_connect = _skew(
        "latency",
        failure_peer="dynamodb",
        failure_text="ConnectTimeoutError Connection to appointments-table timed out. (connect timeout=1.0)",
    )
    disk_full = _skew("errors", failure_peer=None, failure_text="OSError [Errno 28] No space left on device")

    assert classify(Suspect("svc", signals=[cannot_connect]))[0] == FaultType.AZ_IMPAIRMENT
    assert classify(Suspect("svc", signals=[disk_full]))[0] == FaultType.SINGLE_HOST_FAILURE


def _errors_metric(name: str) -> Signal:
    return _signal(SignalKind.METRIC, value=0.05, metric=name, direction=1)


def test_a_service_whose_served_requests_fail_while_its_calls_do_not_throws_its_own_errors():
    fault, _ = classify(Suspect("svc", signals=[_errors_metric("http.server.request.errors")]))
    assert fault == FaultType.ERROR_EXCEPTION


def test_a_service_whose_calls_fail_too_is_not_called_the_thrower_from_metrics_alone():
    signals = [_errors_metric("http.server.request.errors"), _errors_metric("client.request.errors")]
    fault, _ = classify(Suspect("svc", signals=signals))
    assert fault != FaultType.ERROR_EXCEPTION
