"""Faults as fault-injection tools leave them in one pod: CPU contention and a netem delay."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from evals.simulator import FaultSpec, ScenarioPlan, write_scenario
from evals.simulator.faults import FAULT_VARIANTS
from evals.simulator.generate import ScenarioGenerationError
from mcp_server.scenario import load_ground_truth
from mcp_server.taxonomy import FaultType
from tests.evals.simulator.reading import SpanRow, read_points, read_spans
from tests.evals.simulator.test_faults import onset_ns, split

SERVER, CLIENT = 2, 3


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@pytest.fixture(scope="module")
def pod_scenarios(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pods")
    plans = {
        "cpu": FaultSpec(FaultType.CPU_SATURATION, "customers", 0.5, host_index=1, variant="contention"),
        "net": FaultSpec(FaultType.NETWORK_DELAY, "vets", 0.5, variant="inbound"),
        "exc": FaultSpec(FaultType.ERROR_EXCEPTION, "customers", 0.5, host_index=2),
    }
    return {
        name: write_scenario(
            ScenarioPlan(name=name, faults=(spec,), seed=21, minutes=12, red_herrings=False), root / name
        )
        for name, spec in plans.items()
    }


def test_cpu_contention_pins_one_pods_cpu_and_slows_it_a_little_without_errors(
    pod_scenarios: dict[str, Path],
) -> None:
    directory = pod_scenarios["cpu"]
    truth = load_ground_truth(directory)
    assert truth is not None and truth.root_cause.host is not None
    bad = truth.root_cause.host
    late = onset_ns(directory) + 60 * 10**9
    cpu = read_points(directory, "system.cpu.utilization")
    assert min(p.value for p in cpu if p.host == bad and p.time > late) > 0.8
    assert max(p.value for p in cpu if p.host == bad and p.time <= onset_ns(directory)) < 0.6
    assert max(p.value for p in cpu if p.service == "customers" and p.host != bad) < 0.6
    spans = [s for s in read_spans(directory) if s.service == "customers" and s.kind == SERVER]
    before, after = split([s for s in spans if s.host == bad], late)
    slower = quantile([s.ms for s in after], 0.5) / quantile([s.ms for s in before], 0.5)
    assert 1.05 < slower < 3.0  # a little slower at the median ...
    assert (
        quantile([s.ms for s in after], 0.9) > quantile([s.ms for s in before], 0.9) + 25
    )  # ... throttled tail
    others_before, others_after = split([s for s in spans if s.host != bad], late)
    assert quantile([s.ms for s in others_after], 0.5) < 1.2 * quantile([s.ms for s in others_before], 0.5)
    assert not unexplained_errors(read_spans(directory), late)


def unexplained_errors(spans: list[SpanRow], after: int) -> list[SpanRow]:
    """Error spans after ``after`` in traces without a background transient error (the 0.15% every system has)."""
    transient = {s.trace_id for s in spans if "(transient)" in str(s.events)}
    return [s for s in spans if s.error and s.start >= after and s.trace_id not in transient]


def gaps(spans: list[SpanRow], callee: str) -> list[tuple[int, float]]:
    """(start, client span ms - server span ms) for every call into ``callee``."""
    by_id = {s.span_id: s for s in spans}
    return [
        (s.start, by_id[s.parent_id].ms - s.ms)
        for s in spans
        if s.service == callee
        and s.kind == SERVER
        and s.parent_id in by_id
        and by_id[s.parent_id].kind == CLIENT
    ]


def test_network_delay_grows_the_gap_between_callers_and_the_pod_by_the_delay_and_nothing_else(
    pod_scenarios: dict[str, Path],
) -> None:
    directory = pod_scenarios["net"]
    truth = load_ground_truth(directory)
    assert truth is not None
    delay = next(ms for ms in (100, 200, 500) if f"delay of {ms} ms" in truth.root_cause.detail)
    at = onset_ns(directory) + 5 * 10**9
    spans = read_spans(directory)
    rows = gaps(spans, "vets")
    before = [gap for start, gap in rows if start < at - 5 * 10**9]
    after = [gap for start, gap in rows if start >= at]
    assert statistics.median(before) < 2.0
    assert statistics.median(after) == pytest.approx(delay, rel=0.05)
    server_before, server_after = split([s for s in spans if s.service == "vets" and s.kind == SERVER], at)
    assert statistics.median(s.ms for s in server_after) < 1.2 * statistics.median(
        s.ms for s in server_before
    )
    own_calls = [
        gap for start, gap in gaps(spans, "customers") if start >= at
    ]  # vets calls nothing instrumented
    assert not own_calls or statistics.median(own_calls) < 2.0
    assert not unexplained_errors(spans, at)


def test_an_exception_injected_into_one_pod_fails_only_there(pod_scenarios: dict[str, Path]) -> None:
    directory = pod_scenarios["exc"]
    truth = load_ground_truth(directory)
    assert truth is not None and truth.root_cause.host is not None
    failing = {
        s.host
        for s in read_spans(directory)
        if s.service == "customers" and s.kind == SERVER and s.error and "NullPointer" in str(s.events)
    }
    assert failing == {truth.root_cause.host}


def test_a_variant_a_fault_type_does_not_have_is_refused_with_the_ones_it_has(tmp_path: Path) -> None:
    assert (FaultType.CPU_SATURATION, "contention") in FAULT_VARIANTS
    plan = ScenarioPlan(
        name="x",
        faults=(FaultSpec(FaultType.CPU_SATURATION, "customers", variant="steal"),),
        size="tiny",
        minutes=6,
    )
    with pytest.raises(ScenarioGenerationError, match="variants: contention"):
        write_scenario(plan, tmp_path / "x")
