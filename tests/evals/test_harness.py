from dataclasses import dataclass

import pytest

from evals.baselines import MostErrors
from evals.harness import discover_scenarios, evaluate_scenario, quick_subset, run_suite
from evals.outcome import Outcome
from mcp_server.backends.base import SpanQuery, TelemetryBackend
from mcp_server.errors import SleuthError
from mcp_server.scenario import ScenarioSpec
from tests.evals.scenario_fixtures import write_scenario

SECRET = "SECRET-ROOT-CAUSE-LABEL"


@dataclass(frozen=True)
class Crashes:
    name: str = "crashes"

    def run(self, backend: TelemetryBackend, spec: ScenarioSpec) -> Outcome:
        raise RuntimeError("the method fell over")


@dataclass(frozen=True)
class LooksForGroundTruth:
    """Fails if anything the investigation can reach mentions the ground truth."""

    name: str = "snoop"

    def run(self, backend: TelemetryBackend, spec: ScenarioSpec) -> Outcome:
        visible = spec.model_dump_json()
        stored = backend.scenario_spec() if hasattr(backend, "scenario_spec") else None
        visible += stored.model_dump_json() if stored else ""
        visible += "".join(span.model_dump_json() for span in backend.query_spans(SpanQuery(limit=1000)))
        if SECRET in visible or "ground_truth" in visible or "error_exception" in visible:
            raise AssertionError("the investigation could see the ground truth")
        return MostErrors().run(backend, spec)


def test_a_crashing_method_is_recorded_as_a_failure_and_the_other_methods_still_run(tmp_path):
    directory = write_scenario(tmp_path / "s")
    result = evaluate_scenario(directory, [Crashes(), MostErrors()])
    assert result.runs["crashes"].ok is False
    assert result.runs["crashes"].error.startswith("RuntimeError: the method fell over at test_harness.py:")
    assert result.runs["most_errors"].score.top1 is True


def test_methods_never_see_the_ground_truth(tmp_path):
    directory = write_scenario(tmp_path / "s", secret=SECRET)
    result = evaluate_scenario(directory, [LooksForGroundTruth()])
    assert result.runs["snoop"].error is None
    assert result.runs["snoop"].score.rank == 1


def test_a_broken_scenario_fails_every_method_and_the_suite_goes_on(tmp_path):
    good = write_scenario(tmp_path / "a-good")
    broken = write_scenario(tmp_path / "b-broken")
    (broken / "traces.jsonl").write_text("{not json\n", encoding="utf-8")
    run = run_suite([good, broken], [MostErrors()])
    assert [s.error is None for s in run.scenarios] == [True, False]
    assert "traces.jsonl" in run.scenarios[1].error
    summary = run.summaries["most_errors"]
    assert (summary.scenarios, summary.failures, summary.top1) == (2, 1, 0.5)


def test_two_worker_processes_give_the_same_scores_as_one(tmp_path):
    directories = [write_scenario(tmp_path / f"s{i}", name=f"s{i}") for i in range(3)]
    seen = []
    parallel = run_suite(directories, [MostErrors()], workers=2, on_result=lambda r: seen.append(r.scenario))
    serial = run_suite(directories, [MostErrors()], workers=1)
    assert [s.scenario for s in parallel.scenarios] == ["s0", "s1", "s2"]
    assert sorted(seen) == ["s0", "s1", "s2"]
    assert parallel.summaries["most_errors"].top1 == serial.summaries["most_errors"].top1 == 1.0


def test_quick_subset_keeps_one_scenario_per_fault_type(tmp_path):
    write_scenario(tmp_path / "a", fault_type="error_exception")
    write_scenario(tmp_path / "b", fault_type="error_exception")
    write_scenario(tmp_path / "c", fault_type="cpu_saturation")
    subset = quick_subset(discover_scenarios(tmp_path))
    assert [path.name for path in subset] == ["a", "c"]


def test_discovering_an_empty_directory_says_what_was_expected(tmp_path):
    with pytest.raises(SleuthError, match="no scenarios under"):
        discover_scenarios(tmp_path)
