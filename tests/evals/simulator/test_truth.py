"""The ground truth a correct COE is scored against, derived from what the simulator wrote."""

from __future__ import annotations

from pathlib import Path

import yaml

from evals.simulator import FaultSpec, ScenarioPlan, write_scenario
from evals.simulator.quirks import Quirks
from evals.simulator.truth import KeyEvidence, carried_key_evidence
from mcp_server.scenario import GroundTruth, load_ground_truth
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import Alarm, AlarmState
from tests.evals.simulator.conftest import ScenarioFactory


def _alarm(directory: Path, name: str) -> Alarm:
    raw = yaml.safe_load((directory / "alarms.yaml").read_text(encoding="utf-8"))["alarms"]
    return Alarm.model_validate(next(a for a in raw if a["name"] == name))


def test_an_alarm_triggered_scenario_was_detected_when_its_trigger_alarm_fired(simulated: ScenarioFactory):
    directory = simulated("bad_deployment", "customers", red_herrings=True)
    truth = load_ground_truth(directory)
    trigger = yaml.safe_load((directory / "scenario.yaml").read_text(encoding="utf-8"))["trigger"]

    assert truth is not None and truth.onset is not None and truth.detected_at is not None
    assert truth.detected_by == trigger["alarm"]
    assert truth.detected_at.isoformat().replace("+00:00", "Z") == trigger["time"].replace("+00:00", "Z")
    assert truth.detected_at > truth.onset
    assert truth.customer_facing_service == "frontend"
    assert truth.key_metric == "http.server.request.errors" and truth.key_terms  # the new version


def test_a_question_scenario_is_detected_by_the_first_page_on_the_customer_facing_service(
    simulated: ScenarioFactory,
):
    directory = simulated("bad_deployment", "customers", trigger="question")
    truth = load_ground_truth(directory)

    assert truth is not None and truth.onset is not None
    onset = truth.onset
    pages = {}
    for name in ("frontend-5xx-errors", "frontend-availability-burn-rate", "frontend-latency-burn-rate"):
        fired = [t.time for t in _alarm(directory, name).history if t.new_state == AlarmState.ALARM]
        pages.update({name: min(t for t in fired if t >= onset)} if any(t >= onset for t in fired) else {})
    first = min(pages, key=lambda name: pages[name])
    assert "frontend-5xx-errors" in pages  # a threshold alarm and a burn alert both paged
    assert truth.detected_at == pages[first]
    assert first.startswith(truth.detected_by or "?")  # the alarm, or the SLO of the burn alert


def test_a_question_scenario_without_a_paging_alarm_is_detected_when_the_entry_slo_burns(
    simulated: ScenarioFactory,
):
    truth = load_ground_truth(simulated("error_exception", "visits", trigger="question"))

    assert truth is not None and truth.onset is not None and truth.detected_at is not None
    assert truth.detected_by == "frontend-availability"
    assert truth.detected_at > truth.onset and truth.detected_at.second == 0  # the end of a burning minute


def test_az_and_memory_faults_name_their_zone_and_their_metric(simulated: ScenarioFactory):
    az = load_ground_truth(simulated("az_impairment", "appointments"))
    leak = load_ground_truth(simulated("memory_leak", "visits"))
    renamed = load_ground_truth(
        simulated("memory_leak", "visits", rename=(("process.memory.usage", "mem.rss"),))
    )

    assert az is not None and az.affected_zone is not None and az.key_terms == [az.affected_zone]
    assert az.affected_zone == az.root_cause.availability_zone
    assert leak is not None and leak.key_metric == "process.memory.usage" and leak.affected_zone is None
    assert renamed is not None and renamed.key_metric == "mem.rss"


def _tiny_truth(directory: Path, fault: FaultType, quirks: Quirks) -> GroundTruth:
    """The ground truth of a tiny 20-minute scenario of ``fault`` on visits, written to ``directory``."""
    plan = ScenarioPlan(
        name=directory.name,
        faults=(FaultSpec(fault, "visits", onset_fraction=0.5),),
        seed=7,
        size="tiny",
        minutes=20,
        red_herrings=False,
        quirks=quirks,
    )
    truth = load_ground_truth(write_scenario(plan, directory))
    assert truth is not None
    return truth


def _error_exception(tmp_path: Path, quirks: Quirks) -> GroundTruth:
    name = "metrics" if quirks.signals == "metrics" else "all"
    return _tiny_truth(tmp_path / name, FaultType.ERROR_EXCEPTION, quirks)


def test_an_exception_is_key_evidence_only_where_the_telemetry_names_it(tmp_path: Path):
    full = _error_exception(tmp_path, Quirks())
    metrics_only = _error_exception(tmp_path, Quirks(signals="metrics"))

    assert full.key_terms == ["java.lang.NullPointerException"] and full.key_metric is None
    # no span and no log line names the exception: the report is scored on its error counter's step
    assert metrics_only.key_terms == [] and metrics_only.key_metric == "http.server.request.errors"


def test_a_metrics_only_scenario_keeps_its_key_metric(tmp_path: Path):
    truth = _tiny_truth(tmp_path / "leak", FaultType.MEMORY_LEAK, Quirks(signals="metrics"))

    assert truth.key_metric == "process.memory.usage"


def test_only_the_names_a_fault_wrote_are_checked_against_the_records_not_the_words_describing_it():
    nothing_written: list[str] = []

    words = carried_key_evidence(KeyEvidence(terms=["latency", "duration"]), nothing_written)
    names = carried_key_evidence(KeyEvidence(terms=["KeyError"], named=True), nothing_written)
    held = carried_key_evidence(KeyEvidence(terms=["KeyError"], named=True), ["failed: KeyError: 'slot_id'"])

    assert words.terms == ["latency", "duration"]
    assert names.terms == [] and held.terms == ["KeyError"]


def test_a_fallback_metric_stands_in_only_when_no_record_names_the_fault_and_a_record_holds_it():
    key = KeyEvidence(terms=["KeyError"], named=True, fallback_metric="http.server.request.errors")
    counter = ['{"name": "http.server.request.errors"}']

    assert carried_key_evidence(key, counter).metric == "http.server.request.errors"
    assert carried_key_evidence(key, [*counter, "failed: KeyError: 'slot_id'"]).metric is None
    assert carried_key_evidence(key, []).metric is None
