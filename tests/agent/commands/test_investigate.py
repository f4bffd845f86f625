from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.commands.investigate import parse_review_answer
from mcp_server.errors import SleuthError

runner = CliRunner()


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SLEUTH_REASONER", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)


def test_investigate_writes_the_hypothesis_contract_as_json(scenario_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    result = runner.invoke(
        app, ["investigate", "--data", str(scenario_dir), "--json", str(out), "--no-knowledge"]
    )

    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert {"scenario", "window", "hypotheses", "timings"} <= set(written)
    top = written["hypotheses"][0]
    assert {"rank", "service", "fault_type", "confidence", "summary", "evidence"} <= set(top)
    assert (top["rank"], top["service"]) == (1, "payments")
    assert "payments" in result.output


def test_review_pauses_and_resume_with_an_answer_finishes_the_same_investigation(
    scenario_dir: Path, tmp_path: Path
) -> None:
    paused = runner.invoke(app, ["investigate", "--data", str(scenario_dir), "--no-knowledge", "--review"])
    assert paused.exit_code == 0, paused.output
    investigation_id = paused.output.split("--resume ")[1].split()[0]

    out = tmp_path / "resumed.json"
    resumed = runner.invoke(app, ["investigate", "--resume", investigation_id, "--answer", "accept 1",
                                  "--json", str(out), "--no-knowledge"])  # fmt: skip

    assert resumed.exit_code == 0, resumed.output
    written = json.loads(out.read_text())
    assert written["id"] == investigation_id
    assert "accepted by reviewer" in written["hypotheses"][0]["flags"]


def test_an_unknown_reasoner_is_a_clear_error_not_a_traceback(scenario_dir: Path) -> None:
    result = runner.invoke(
        app, ["investigate", "--data", str(scenario_dir), "--reasoner", "gpt", "--no-knowledge"]
    )

    assert result.exit_code == 2
    assert "unknown reasoner 'gpt'" in result.output
    assert "Traceback" not in result.output


def test_a_missing_scenario_directory_names_the_path(tmp_path: Path) -> None:
    result = runner.invoke(app, ["investigate", "--data", str(tmp_path / "nope"), "--no-knowledge"])

    assert result.exit_code == 2
    assert "nope" in result.output


def test_resuming_an_unknown_investigation_says_so() -> None:
    result = runner.invoke(app, ["investigate", "--resume", "inv-missing", "--no-knowledge"])

    assert result.exit_code == 2
    assert "inv-missing" in result.output


def test_review_answers_parse_from_short_commands_and_json() -> None:
    assert parse_review_answer("reject 2, 3") == {"reject": [2, 3]}
    assert parse_review_answer("look payments pool exhausted") == {
        "add_evidence": [{"service": "payments", "text": "pool exhausted"}]
    }
    assert parse_review_answer('{"accept": [1]}') == {"accept": [1]}
    assert parse_review_answer("") == {}
    with pytest.raises(SleuthError, match="accept N"):
        parse_review_answer("approve everything")
