"""The per-tag breakdown of a saved eval run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from evals.breakdown import breakdown_table, main
from evals.render import write_json
from evals.results import CaseScore, EvalRun, MethodRun, ScenarioResult, TruthSummary
from evals.scorers import summarize_method
from mcp_server.errors import SleuthError


def scenario(name: str, tags: list[str], fault: str, rank: int | None) -> ScenarioResult:
    score = CaseScore(
        rank=rank,
        top1=rank == 1,
        top3=rank is not None and rank <= 3,
        top5=rank is not None and rank <= 5,
        fault_type_correct=rank == 1,
        exact_top1=rank == 1,
        red_herring_first=rank != 1,
    )
    return ScenarioResult(
        scenario=name,
        path=f"/suite/{name}",
        tags=["simulated", "default", *tags],
        truth=TruthSummary(service="visits", fault_type=fault),
        runs={"sleuth": MethodRun(method="sleuth", ok=True, score=score)},
    )


def a_run() -> EvalRun:
    scenarios = [
        scenario("a", ["clean"], "error_exception", 1),
        scenario("b", ["hardened", "quirk-chronic-errors"], "network_delay", 4),
        scenario("c", ["hardened", "quirk-chronic-errors", "quirk-metrics-only"], "cpu_saturation", None),
        scenario("d", ["hardened", "quirk-metrics-only"], "cpu_saturation", 1),
    ]
    return EvalRun(
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        command="test",
        suite="builtin",
        reasoner="offline",
        methods=["sleuth"],
        scenarios=scenarios,
        summaries={"sleuth": summarize_method("sleuth", scenarios)},
    )


def row(table: str, group: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(f"| {group} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_each_quirk_tag_gets_a_row_scored_like_the_main_table() -> None:
    table = breakdown_table(a_run(), "sleuth")
    assert row(table, "all")[1:4] == ["4", "0.50", "0.50"]
    assert row(table, "classic")[1:3] == ["1", "1.00"]
    assert row(table, "hardened")[1:3] == ["3", "0.33"]
    chronic = row(table, "quirk-chronic-errors")
    assert chronic[1:3] == ["2", "0.00"] and chronic[6:8] == ["2", "1"]  # both herrings first, one unranked
    assert row(table, "hardened/cpu_saturation")[1:3] == ["2", "0.50"]
    assert "| simulated |" not in table


def test_a_prefix_keeps_only_the_matching_tags() -> None:
    table = breakdown_table(a_run(), "sleuth", ["quirk-metrics"])
    groups = {line.split("|")[1].strip() for line in table.splitlines()[2:]}
    assert groups == {
        "all",
        "classic",
        "hardened",
        "quirk-metrics-only",
        "hardened/network_delay",
        "hardened/cpu_saturation",
    }


def test_an_unknown_method_or_file_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SleuthError, match="method 'agent' is not in this run; it has sleuth"):
        breakdown_table(a_run(), "agent")
    assert main([str(tmp_path / "missing.json")]) == 2
    assert "no eval results at" in capsys.readouterr().err
    write_json(a_run(), tmp_path / "run.json")
    assert main([str(tmp_path / "run.json")]) == 0
    assert "| quirk-chronic-errors | 2 |" in capsys.readouterr().out
