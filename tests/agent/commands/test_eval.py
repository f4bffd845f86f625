import json

from typer.testing import CliRunner

from agent.cli import app
from tests.evals.scenario_fixtures import write_scenario
from tests.shared_knowledge import KNOWLEDGE_DIR

runner = CliRunner()


def test_eval_on_a_suite_directory_writes_json_html_and_markdown(tmp_path, monkeypatch):
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(KNOWLEDGE_DIR))  # not the checkout's own .data
    write_scenario(tmp_path / "suite" / "one")
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "eval",
            "--suite",
            str(tmp_path / "suite"),
            "--workers",
            "1",
            "--json",
            str(out / "r.json"),
            "--html",
            str(out / "r.html"),
            "--markdown",
            str(out / "r.md"),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "r.json").read_text())
    assert data["summaries"]["most_errors"]["top1"] == 1.0
    assert (out / "r.html").read_text().startswith("<!doctype html>")
    assert "most errors wins" in (out / "r.md").read_text()


def test_eval_on_a_missing_suite_names_the_directory_and_exits_2(tmp_path):
    result = runner.invoke(app, ["eval", "--suite", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "nope" in result.output


def test_eval_refuses_recording_an_offline_run(tmp_path):
    write_scenario(tmp_path / "suite" / "one")
    result = runner.invoke(
        app, ["eval", "--suite", str(tmp_path / "suite"), "--record", str(tmp_path / "rec")]
    )
    assert result.exit_code == 2
    assert "--record and --replay need an LLM reasoner" in result.output


def test_eval_on_a_file_instead_of_a_suite_directory_says_so(tmp_path):
    a_file = tmp_path / "suite.yaml"
    a_file.write_text("x")
    result = runner.invoke(app, ["eval", "--suite", str(a_file)])
    assert result.exit_code == 2
    assert f"--suite {a_file}: no such directory" in result.output


def test_an_unwritable_json_output_is_refused_before_the_suite_runs(tmp_path):
    write_scenario(tmp_path / "suite" / "one")
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    result = runner.invoke(
        app, ["eval", "--suite", str(tmp_path / "suite"), "--json", str(blocker / "r.json"), "--workers", "1"]
    )
    assert result.exit_code == 2
    assert "cannot create" in result.output and "Traceback" not in result.output
    assert "most errors" not in result.output


def test_replaying_from_a_missing_directory_is_refused_before_any_scenario_fails(tmp_path):
    write_scenario(tmp_path / "suite" / "one")
    result = runner.invoke(
        app,
        [
            "eval",
            "--suite",
            str(tmp_path / "suite"),
            "--reasoner",
            "anthropic",
            "--replay",
            str(tmp_path / "none"),
        ],
    )
    assert result.exit_code == 2
    assert f"--replay {tmp_path / 'none'}: no such directory" in result.output


def test_recording_into_a_file_and_negative_workers_are_refused(tmp_path):
    write_scenario(tmp_path / "suite" / "one")
    a_file = tmp_path / "rec"
    a_file.write_text("x")
    suite = ["eval", "--suite", str(tmp_path / "suite")]
    recorded = runner.invoke(app, [*suite, "--reasoner", "anthropic", "--record", str(a_file)])
    negative = runner.invoke(app, [*suite, "--workers", "-1"])
    assert recorded.exit_code == 2 and f"--record {a_file}: is a file" in recorded.output
    assert negative.exit_code == 2 and "--workers -1" in negative.output
