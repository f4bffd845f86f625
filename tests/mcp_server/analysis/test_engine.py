from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from pytest import MonkeyPatch

from evals.simulator.generate import generate_scenario
from evals.simulator.quirks import Quirks
from mcp_server.backends.base import TelemetryBackend
from mcp_server.backends.local import LocalBackend
from mcp_server.scenario import Trigger, load_scenario_spec
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import TimeWindow
from tests.mcp_server.analysis.scopes import T0
from tests.mcp_server.analysis.synthetic import Fault, Options
from tests.mcp_server.engine_run import run_engine

THROTTLED = "ProvisionedThroughputExceededException: rate of requests exceeds the allowed throughput"


def test_throttled_dependency_ranks_its_caller_first_and_upstream_services_below(scenario_factory):
    directory, backend = scenario_factory(
        "throttle", Fault("dependency_errors", "inventory", message=THROTTLED)
    )
    result = run_engine(backend, load_scenario_spec(directory))
    top = result.hypotheses[0]
    assert top.service == "inventory"
    assert top.fault_type == FaultType.DEPENDENCY_THROTTLING
    assert {h.service for h in result.hypotheses[1:]} >= {"orders", "gateway", "web"}
    assert all(h.confidence < top.confidence for h in result.hypotheses[1:])


def test_every_finding_gets_its_id_once_in_its_step_and_hypotheses_cite_those_ids(scenario_factory):
    directory, backend = scenario_factory(
        "throttle", Fault("dependency_errors", "inventory", message=THROTTLED)
    )
    result = run_engine(backend, load_scenario_spec(directory))
    ids = {e.id for e in result.evidence}
    for step in result.steps:
        assert [e.id for e in step.all_evidence()] == [
            f"{step.step}-{i}" for i in range(1, len(step.all_evidence()) + 1)
        ]
    for h in result.hypotheses:
        for e in h.evidence:
            assert e.id in ids
            assert e.source_query


def test_onset_is_found_without_a_trigger_time(scenario_factory):
    directory, backend = scenario_factory(
        "throttle", Fault("dependency_errors", "inventory", message=THROTTLED)
    )
    result = run_engine(backend, load_scenario_spec(directory))
    assert result.scope.onset is not None
    assert abs((result.scope.onset - result.scope.window.start).total_seconds() - 11 * 60) <= 90


def test_renaming_services_and_metrics_does_not_change_the_ranking(scenario_factory):
    fault = Fault("errors", "orders")
    rename = {
        "web": "svc-a",
        "gateway": "svc-b",
        "orders": "svc-c",
        "users": "svc-d",
        "inventory": "svc-e",
        "system.cpu.utilization": "m1",
        "requests.served": "m2",
    }
    d1, b1 = scenario_factory("plain", fault)
    d2, b2 = scenario_factory("renamed", fault, Options(rename=rename))
    first = [(h.service, h.fault_type) for h in run_engine(b1, load_scenario_spec(d1)).hypotheses]
    second = [(h.service, h.fault_type) for h in run_engine(b2, load_scenario_spec(d2)).hypotheses]
    assert [(rename[s], f) for s, f in first] == second


def test_one_bad_host_is_named_as_a_single_host_failure(scenario_factory):
    directory, backend = scenario_factory("host", Fault("host_errors", "orders", rate=0.9))
    top = run_engine(backend, load_scenario_spec(directory)).hypotheses[0]
    assert top.service == "orders"
    assert top.fault_type == FaultType.SINGLE_HOST_FAILURE
    assert top.component == "orders-1"


def test_errors_are_found_without_span_status_or_trace_ids_in_logs(scenario_factory):
    options = Options(status_codes=False, trace_ids_in_logs=False)
    directory, backend = scenario_factory("no-status", Fault("errors", "inventory"), options)
    top = run_engine(backend, load_scenario_spec(directory)).hypotheses[0]
    assert (top.service, top.fault_type) == ("inventory", FaultType.ERROR_EXCEPTION)


def test_a_deployment_on_the_failing_service_makes_it_a_bad_deployment_and_an_unrelated_one_does_not(
    scenario_factory,
):
    directory, backend = scenario_factory("deploy", Fault("errors", "inventory", deploy=True))
    result = run_engine(backend, load_scenario_spec(directory))
    assert (result.hypotheses[0].service, result.hypotheses[0].fault_type) == (
        "inventory",
        FaultType.BAD_DEPLOYMENT,
    )
    # users deployed 9 minutes before onset; it only sees less traffic, so it stays a weak suspect
    users = [h for h in result.hypotheses if h.service == "users"]
    assert all(h.fault_type != FaultType.BAD_DEPLOYMENT and h.confidence < 0.1 for h in users)
    assert result.mitigations[0].kind == "rollback" and result.mitigations[0].applicable


def test_slow_service_is_ranked_by_its_own_added_time_not_its_callers(scenario_factory):
    directory, backend = scenario_factory("slow", Fault("latency", "users", extra_ms=200.0))
    result = run_engine(backend, load_scenario_spec(directory))
    assert result.hypotheses[0].service == "users"


def test_a_quiet_system_yields_no_confident_hypothesis(scenario_factory):
    directory, backend = scenario_factory("quiet", Fault("none", "orders"))
    result = run_engine(backend, load_scenario_spec(directory))
    assert all(h.confidence < 0.3 for h in result.hypotheses)


def test_the_trigger_time_bounds_the_onset_search(scenario_factory):
    directory, backend = scenario_factory(
        "throttle", Fault("dependency_errors", "inventory", message=THROTTLED)
    )
    spec = load_scenario_spec(directory)
    trigger = spec.trigger.model_copy(
        update={"time": spec.window.start + (spec.window.end - spec.window.start) * 0.75}
    )
    result = run_engine(backend, spec, trigger=trigger)
    assert trigger.time is not None
    assert result.scope.onset <= trigger.time
    assert result.hypotheses[0].service == "inventory"


def test_without_traces_the_service_whose_errors_others_name_ranks_first(scenario_factory):
    directory, backend = scenario_factory(
        "logs-only", Fault("errors", "inventory"), Options(write_traces=False)
    )
    result = run_engine(backend, load_scenario_spec(directory))
    assert (result.hypotheses[0].service, result.hypotheses[0].fault_type) == (
        "inventory",
        FaultType.ERROR_EXCEPTION,
    )
    assert any("no spans" in note for note in result.notes)


class _Services:
    def list_services(self) -> list[str]:
        return ["checkout"]


def _scoped_with_onset(monkeypatch: MonkeyPatch, detected: datetime, trigger: datetime) -> datetime:
    from mcp_server.analysis import engine, onset

    estimate = onset.OnsetEstimate(detected, 0.9)
    monkeypatch.setattr(engine.onset, "detect_onset", lambda *args, **kwargs: estimate)
    window = TimeWindow(start=T0, end=T0 + timedelta(minutes=30))
    scoped = engine.scope(cast(TelemetryBackend, _Services()), trigger=Trigger(time=trigger), window=window)
    return scoped.onset


def test_an_onset_dated_in_the_triggers_own_bucket_moves_to_the_bucket_before_it(
    monkeypatch: MonkeyPatch,
) -> None:
    alarm = T0 + timedelta(minutes=15)  # fired on the minutes before 12:15, so it began by 12:14

    assert _scoped_with_onset(monkeypatch, alarm, alarm) == T0 + timedelta(minutes=14)
    assert _scoped_with_onset(monkeypatch, alarm, alarm + timedelta(seconds=20)) == alarm


def test_an_onset_before_the_triggers_bucket_stands(monkeypatch: MonkeyPatch) -> None:
    detected = T0 + timedelta(minutes=12, seconds=30)

    assert _scoped_with_onset(monkeypatch, detected, T0 + timedelta(minutes=15)) == detected


@pytest.mark.parametrize(("detail", "noted"), [("bare", True), ("no_status", False)])
def test_traces_that_never_say_how_a_request_ended_are_noted_as_blind_to_failures(
    tmp_path: Path, detail: str, noted: bool
) -> None:
    # bare spans: no status, kind, attributes or events, and no logs to flag a failure with;
    # no_status spans still carry their HTTP status
    data = generate_scenario(
        "cpu_saturation", "visits", 21, tmp_path / detail, size="tiny", quirks=Quirks(span_detail=detail)
    )
    (data / "logs.jsonl").write_text("", encoding="utf-8")
    with LocalBackend.from_scenario(data) as backend:
        notes = run_engine(backend, load_scenario_spec(data)).notes

    assert any("failed requests are invisible in the traces" in n for n in notes) == noted
