from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.commands.investigate import ask_for_answer, headline, parse_review_answer, render_event
from agent.events import finding, step_started
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


def test_the_summary_lists_causes_mitigations_in_order_and_the_coe_path(
    scenario_dir: Path, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    result = runner.invoke(
        app, ["investigate", "--data", str(scenario_dir), "--no-knowledge", "--report", str(reports)]
    )

    assert result.exit_code == 0, result.output
    summary = result.output.split("likely causes:")[1]
    assert summary.splitlines()[1].split()[:2] == ["#1", "payments"]
    assert "Mitigate, in this order:" in summary
    coe = summary.split("COE draft:")[1].split()[0]
    assert Path(coe).parent == reports and Path(coe).is_file()


def test_headline_drops_the_restated_service_and_fault_and_keeps_the_evidence() -> None:
    summary = (
        "visits: dependency throttling (errors name throttling). 494 failing spans start at visits. More."
    )

    assert headline("visits", summary) == "494 failing spans start at visits"
    assert headline("other", "Connection pool exhausted. Waits grew.") == "Connection pool exhausted"


def test_a_report_path_that_is_a_file_is_refused_before_investigating(
    scenario_dir: Path, tmp_path: Path
) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")

    result = runner.invoke(
        app, ["investigate", "--data", str(scenario_dir), "--no-knowledge", "--report", str(a_file)]
    )

    assert result.exit_code == 2
    assert "--report" in result.output and str(a_file) in result.output
    assert "▸ scope" not in result.output


def test_an_unwritable_json_path_is_a_clear_error_not_a_traceback(scenario_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")

    result = runner.invoke(
        app, ["investigate", "--data", str(scenario_dir), "--no-knowledge", "--json", str(blocker / "r.json")]
    )

    assert result.exit_code == 2
    assert "cannot create" in result.output and "Traceback" not in result.output


def test_investigating_a_missing_directory_names_the_path(tmp_path: Path) -> None:
    result = runner.invoke(app, ["investigate", "--data", str(tmp_path / "nope"), "--no-knowledge"])

    assert result.exit_code == 2
    assert "nope: not a directory" in result.output


def test_investigating_without_data_or_store_says_how_to_get_a_store() -> None:
    result = runner.invoke(app, ["investigate", "--no-knowledge"])

    assert result.exit_code == 2
    assert "no local store" in result.output and "sleuth import" in result.output


def test_an_answer_without_resume_is_refused(scenario_dir: Path) -> None:
    result = runner.invoke(app, ["investigate", "--data", str(scenario_dir), "--answer", "accept 1"])

    assert result.exit_code == 2
    assert "--answer goes with --resume" in result.output


def test_a_mistyped_service_is_refused_with_the_closest_name(scenario_dir: Path) -> None:
    result = runner.invoke(
        app, ["investigate", "--data", str(scenario_dir), "--service", "paymnts", "--no-knowledge"]
    )

    assert result.exit_code == 2
    assert "--service 'paymnts' is not in" in result.output and "did you mean 'payments'?" in result.output


def test_resuming_with_a_rank_that_is_not_on_the_list_is_refused(scenario_dir: Path) -> None:
    paused = runner.invoke(app, ["investigate", "--data", str(scenario_dir), "--no-knowledge", "--review"])
    investigation_id = paused.output.split("--resume ")[1].split()[0]

    result = runner.invoke(app, ["investigate", "--resume", investigation_id, "--answer", "reject 9"])

    assert result.exit_code == 2
    assert "reject 9: no hypothesis has that rank" in result.output


def test_a_mistyped_review_answer_is_asked_again_instead_of_ending_the_investigation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replies = iter(["acept 1", "reject 7", "reject 2"])
    monkeypatch.setattr("typer.prompt", lambda *args, **kwargs: next(replies))

    assert ask_for_answer([1, 2, 3]) == {"reject": [2]}


def test_a_postgres_checkpoint_url_is_not_mangled_into_a_local_path(
    scenario_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[object] = []

    def refuse(target: object = None) -> object:
        seen.append(target)
        raise SleuthError("stop here")

    monkeypatch.setattr("agent.commands.investigate.open_checkpointer", refuse)
    monkeypatch.chdir(tmp_path)

    result = runner.invoke(
        app, ["investigate", "--data", str(scenario_dir), "--checkpoints", "postgresql://db:5432/sleuth"]
    )

    assert result.exit_code == 2
    assert seen == ["postgresql://db:5432/sleuth"]
    assert not (tmp_path / "postgresql:").exists()


def test_log_text_that_looks_like_markup_is_printed_verbatim(capsys: pytest.CaptureFixture[str]) -> None:
    render_event(step_started("logs", "grouping [main] log lines"))
    render_event(finding("logs", "pattern [/a-z]+ ERROR [thread-1] surged"))

    out = capsys.readouterr().out
    assert "grouping [main] log lines" in out
    assert "pattern [/a-z]+ ERROR [thread-1] surged" in out


def test_investigating_the_same_scenario_into_the_same_store_twice_is_refused(
    scenario_dir: Path, tmp_path: Path
) -> None:
    args = [
        "investigate",
        "--data",
        str(scenario_dir),
        "--store",
        str(tmp_path / "s.duckdb"),
        "--no-knowledge",
    ]

    first = runner.invoke(app, args)
    again = runner.invoke(app, args)
    from_store = runner.invoke(app, ["investigate", "--store", str(tmp_path / "s.duckdb"), "--no-knowledge"])

    assert first.exit_code == 0, first.output
    assert again.exit_code == 2 and "drop --data to investigate the store" in again.output
    assert from_store.exit_code == 0, from_store.output
