from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from evals.real_gate import breakdown, failures, main
from evals.render import write_json
from evals.results import CaseScore, EvalRun, MethodRun, RankedGuess, ScenarioResult, TruthSummary


def _case(name: str, day: str, fault: str, rank: int | None) -> ScenarioResult:
    score = CaseScore(
        rank=rank,
        top1=rank == 1,
        top3=rank is not None and rank <= 3,
        top5=rank is not None and rank <= 5,
        fault_type_correct=rank == 1,
        exact_top1=rank == 1,
        red_herring_first=False,
    )
    return ScenarioResult(
        scenario=name,
        path=name,
        tags=[f"day-{day}", "traces"],
        truth=TruthSummary(service="cart", fault_type=fault),
        runs={"sleuth": MethodRun(method="sleuth", ok=True, score=score)},
    )


def _run(*cases: ScenarioResult) -> EvalRun:
    return EvalRun(
        created_at=datetime.now(UTC),
        command="t",
        suite="s",
        reasoner="offline",
        methods=["sleuth"],
        scenarios=list(cases),
    )


def test_figures_are_reported_by_day_and_by_fault_type() -> None:
    table = breakdown(_run(_case("a", "2022-08-22", "cpu", 1), _case("b", "2022-08-23", "latency", 4)))
    assert table["overall"]["all"]["top1"] == 0.5
    assert table["day"]["2022-08-23"]["top5"] == 1.0
    assert table["fault_type"]["latency"]["top3"] == 0.0


def test_a_metrics_only_case_counts_as_ranked_only_when_its_ranking_is_not_empty() -> None:
    ranked, empty = _case("a", "2022-08-22", "cpu", 4), _case("b", "2022-08-22", "cpu", None)
    for case in (ranked, empty):
        case.tags.append("metrics-only")
    ranked.runs["sleuth"].top = [RankedGuess(rank=1, service="cart", fault_type="unknown", confidence=0.2)]
    table = breakdown(_run(ranked, empty))
    assert table["overall"]["all"]["metrics_only"] == 2
    assert table["overall"]["all"]["metrics_only_ranked"] == 0.5


def test_a_scenario_with_unreadable_ground_truth_counts_as_failed() -> None:
    broken = ScenarioResult(scenario="bad", path="bad", error="scenario.yaml: unknown fault_type 'gremlins'")
    assert failures(_run(_case("a", "2022-08-22", "cpu", 1), broken)) == [
        ("bad", "scenario.yaml: unknown fault_type 'gremlins'")
    ]


def test_the_gate_fails_when_a_figure_drops_below_its_floor(tmp_path: Path) -> None:
    run_path, floor = tmp_path / "run.json", tmp_path / "floor.json"
    write_json(_run(_case("a", "2022-08-22", "cpu", 1), _case("b", "2022-08-22", "cpu", 2)), run_path)
    floor.write_text(json.dumps({"top1": 0.5, "top3": 1.0}), encoding="utf-8")
    assert main([str(run_path), "--floor", str(floor)]) == 0
    floor.write_text(json.dumps({"top1": 0.6}), encoding="utf-8")
    assert main([str(run_path), "--floor", str(floor)]) == 1


def test_the_gate_fails_on_a_failed_scenario_even_above_the_floor(tmp_path: Path) -> None:
    run_path, floor = tmp_path / "run.json", tmp_path / "floor.json"
    write_json(
        _run(_case("a", "2022-08-22", "cpu", 1), ScenarioResult(scenario="x", path="x", error="bad truth")),
        run_path,
    )
    floor.write_text(json.dumps({"top1": 0.0}), encoding="utf-8")
    assert main([str(run_path), "--floor", str(floor)]) == 1


def test_the_results_table_is_written_between_markers_and_rewritten_in_place(tmp_path: Path) -> None:
    from evals.results_table import BEGIN, END, table, write

    real = tmp_path / "real.json"
    write_json(_run(_case("a", "2022-08-22", "cpu", 1)), real)
    readme = tmp_path / "README.md"
    readme.write_text("# x\n", encoding="utf-8")
    write(readme, table(tmp_path / "missing.json", real))
    write(readme, table(tmp_path / "missing.json", real))
    body = readme.read_text(encoding="utf-8")
    assert body.count(BEGIN) == 1 and body.count(END) == 1
    assert "| service top-1 | - | 1.00 |" in body
