"""The built-in suite's composition, its cache, the demo plan and renames."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

from evals.scenarios.demo import DEMO_PLAN
from evals.scenarios.suite import (
    FINGERPRINT_FILE,
    GATED_HARDENED,
    _prune,
    ensure_plans,
    quick_plans,
    renamed,
    suite_plans,
)
from evals.simulator import FaultSpec, ScenarioPlan, write_scenario
from evals.simulator.quirks import Quirks
from mcp_server.scenario import load_ground_truth, load_scenario_spec
from mcp_server.taxonomy import FaultType
from tests.evals.simulator.reading import read_points, read_spans


def test_the_suite_covers_every_fault_on_several_services_with_varied_setups() -> None:
    plans = suite_plans()
    assert len(plans) >= 40
    assert len({p.name for p in plans}) == len(plans)
    per_fault = Counter(p.faults[0].fault for p in plans if len(p.faults) == 1)
    assert set(per_fault) == set(FaultType) - {FaultType.UNKNOWN}
    assert min(per_fault.values()) >= 3
    for fault in per_fault:
        assert len({p.faults[0].service for p in plans if p.faults[0].fault == fault}) >= 2
    assert {p.trigger for p in plans} == {"alarm", "slo", "question"}
    assert {p.red_herrings for p in plans} == {True, False}
    assert min(p.minutes or 30 for p in plans) <= 20 and max(p.minutes or 30 for p in plans) >= 45
    assert sum(1 for p in plans if len(p.faults) == 2) >= 3


def test_suite_names_say_nothing_about_the_fault() -> None:
    for plan in suite_plans():
        assert not any(f.value in plan.name for f in FaultType)
        assert not any(f.value in tag for f in FaultType for tag in plan.tags)


def test_the_quick_subset_has_one_classic_scenario_per_fault_and_the_gated_hardened_ones() -> None:
    classic = [plan for plan in quick_plans() if "hardened" not in plan.tags]
    assert len(classic) == len({plan.faults[0].fault for plan in classic}) == len(FaultType) - 1
    hardened = {plan.name for plan in quick_plans() if "hardened" in plan.tags}
    assert hardened == set(GATED_HARDENED)


def test_ensure_plans_reuses_a_cached_scenario_and_regenerates_a_changed_one(tmp_path: Path) -> None:
    plan = ScenarioPlan(
        name="one", faults=(FaultSpec(FaultType.ERROR_EXCEPTION, "billing"),), size="tiny", minutes=6
    )
    [path] = ensure_plans([plan], tmp_path, workers=1)
    marker = path / FINGERPRINT_FILE
    first = marker.read_text()
    (path / "traces.jsonl").write_text("")  # a cached scenario is not rewritten ...
    ensure_plans([plan], tmp_path, workers=1)
    assert (path / "traces.jsonl").read_text() == ""
    changed = replace(plan, seed=plan.seed + 1)  # ... a changed plan is
    ensure_plans([changed], tmp_path, workers=1)
    assert marker.read_text() != first and (path / "traces.jsonl").stat().st_size > 0


def test_the_demo_is_visits_throttling_with_an_slo_trigger_and_an_earlier_unrelated_deploy(
    tmp_path: Path,
) -> None:
    plan = replace(DEMO_PLAN, size="tiny", minutes=24)
    directory = write_scenario(plan, tmp_path / "demo")
    spec = load_scenario_spec(directory)
    truth = load_ground_truth(directory)
    assert truth is not None and truth.onset is not None
    assert (truth.root_cause.service, truth.root_cause.fault_type) == (
        "visits",
        FaultType.DEPENDENCY_THROTTLING,
    )
    assert spec.trigger.kind.value == "slo" and spec.trigger.slo == "visits-availability"
    assert any("retries" in factor for factor in truth.contributing_factors)
    deploys = [
        line for line in (directory / "changes.jsonl").read_text().splitlines() if '"customers"' in line
    ]
    assert len(deploys) == 1
    assert any("customers" in herring for herring in truth.red_herrings)


def test_renaming_a_service_and_a_metric_changes_only_names(tmp_path: Path) -> None:
    plan = ScenarioPlan(
        name="r", faults=(FaultSpec(FaultType.CPU_SATURATION, "visits"),), size="tiny", minutes=8
    )
    original = write_scenario(plan, tmp_path / "a")
    other = renamed(plan, {"visits": "bookings", "system.cpu.utilization": "host.cpu.busy"})
    directory = write_scenario(replace(other, name=plan.name), tmp_path / "b")
    truth = load_ground_truth(directory)
    assert truth is not None and truth.root_cause.service == "bookings"
    before = read_spans(original)
    after = read_spans(directory)
    assert [(s.trace_id, s.span_id, s.start, s.end, s.error) for s in before] == [
        (s.trace_id, s.span_id, s.start, s.end, s.error) for s in after
    ]
    assert {s.service for s in after} == {s.service for s in before} - {"visits"} | {"bookings"}
    assert [p.value for p in read_points(original, "system.cpu.utilization")] == [
        p.value for p in read_points(directory, "host.cpu.busy")
    ]
    assert not read_points(directory, "system.cpu.utilization")


def test_pruning_removes_only_scenarios_the_suite_generated_and_no_longer_lists(tmp_path: Path) -> None:
    for name in ("kept", "stale"):
        (tmp_path / name).mkdir()
        (tmp_path / name / FINGERPRINT_FILE).write_text("x")
    (tmp_path / "mine").mkdir()  # a user's own scenario: no fingerprint
    _prune(tmp_path, {"kept"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept", "mine"]


def test_hardened_scenarios_cover_every_quirk_and_tag_each_one_they_use() -> None:
    hardened = [plan for plan in suite_plans() if "hardened" in plan.tags]
    assert len(hardened) >= 25
    every = Quirks(
        chronic_errors=1,
        partial_coverage=True,
        previous_incident=True,
        mixed_precision=True,
        signals="metrics",
        metric_period_s=300,
        extra_deployments=1,
    ).tags()
    used = {tag for plan in hardened for tag in plan.quirks.tags()}
    assert set(every) <= used
    assert {"quirk-spans-bare", "quirk-spans-no-status", "quirk-spans-mixed"} <= used
    assert all(plan.quirks.tags() for plan in hardened)
    assert any(plan.faults[0].host_index is not None for plan in hardened)
    assert {plan.faults[0].variant for plan in hardened} >= {"contention", "inbound"}
    # several deployments also where none of them is the cause
    assert any(
        plan.quirks.extra_deployments and plan.faults[0].fault != FaultType.BAD_DEPLOYMENT
        for plan in hardened
    )


def test_a_hardened_plan_writes_its_quirk_tags_into_the_scenario(tmp_path: Path) -> None:
    plan = next(plan for plan in suite_plans() if "like-nezha" in plan.tags)
    directory = write_scenario(replace(plan, size="tiny"), tmp_path / "h")
    tags = load_scenario_spec(directory).tags
    assert "hardened" in tags and set(plan.quirks.tags()) <= set(tags)
