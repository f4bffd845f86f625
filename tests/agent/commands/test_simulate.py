"""``sleuth simulate`` and ``sleuth suite generate`` from the command line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from agent.cli import app
from mcp_server.scenario import load_ground_truth

runner = CliRunner()


def test_simulate_writes_a_scenario_with_the_requested_fault(tmp_path: Path) -> None:
    out = tmp_path / "incident"
    args = ["simulate", "--fault", "error_exception", "--service", "billing", "--seed", "3"]
    result = runner.invoke(app, [*args, "--out", str(out), "--size", "tiny", "--minutes", "8"])
    assert result.exit_code == 0, result.output
    truth = load_ground_truth(out)
    assert truth is not None and (truth.root_cause.service, truth.root_cause.fault_type.value) == (
        "billing",
        "error_exception",
    )


def test_simulate_with_a_rename_uses_the_new_service_name(tmp_path: Path) -> None:
    out = tmp_path / "renamed"
    args = ["simulate", "--fault", "error_exception", "--service", "billing", "--rename", "billing=invoicing"]
    result = runner.invoke(app, [*args, "--out", str(out), "--size", "tiny", "--minutes", "6"])
    assert result.exit_code == 0, result.output
    truth = load_ground_truth(out)
    assert truth is not None and truth.root_cause.service == "invoicing"


def test_simulate_explains_an_impossible_fault_and_exits_2(tmp_path: Path) -> None:
    args = ["simulate", "--fault", "cache_failure", "--service", "customers", "--out", str(tmp_path / "x")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "cache" in result.output and "vets" in result.output
    assert "Traceback" not in result.output


def test_simulate_rejects_an_unknown_fault_and_a_malformed_rename(tmp_path: Path) -> None:
    unknown = runner.invoke(
        app, ["simulate", "--fault", "gremlins", "--service", "visits", "--out", str(tmp_path)]
    )
    assert unknown.exit_code == 2 and "dependency_throttling" in unknown.output
    bad = [
        "simulate",
        "--fault",
        "error_exception",
        "--service",
        "visits",
        "--rename",
        "visits",
        "--out",
        "x",
    ]
    malformed = runner.invoke(app, bad)
    assert malformed.exit_code == 2 and "OLD=NEW" in malformed.output


def test_simulate_refuses_to_replace_a_directory_that_is_not_a_scenario(tmp_path: Path) -> None:
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "todo.txt").write_text("keep me")
    args = ["simulate", "--fault", "error_exception", "--service", "billing", "--size", "tiny"]

    result = runner.invoke(app, [*args, "--out", str(precious)])

    assert result.exit_code == 2
    assert f"--out {precious}: exists and is not a scenario directory (holds todo.txt)" in result.output
    assert (precious / "todo.txt").read_text() == "keep me"


def test_simulate_rewrites_a_scenario_it_wrote_before(tmp_path: Path) -> None:
    out = tmp_path / "incident"
    args = [
        "simulate",
        "--fault",
        "error_exception",
        "--service",
        "billing",
        "--size",
        "tiny",
        "--minutes",
        "6",
    ]

    first = runner.invoke(app, [*args, "--out", str(out)])
    again = runner.invoke(app, [*args, "--out", str(out), "--seed", "2"])

    assert first.exit_code == 0 and again.exit_code == 0, again.output


def test_simulate_refuses_a_window_longer_than_a_day_instead_of_running_for_an_hour(tmp_path: Path) -> None:
    args = ["simulate", "--fault", "error_exception", "--service", "billing", "--minutes", "100000"]

    result = runner.invoke(app, [*args, "--out", str(tmp_path / "x")])

    assert result.exit_code == 2
    assert "--minutes 100000: at most 1440" in result.output


def test_suite_generate_refuses_a_file_as_out_and_zero_workers(tmp_path: Path) -> None:
    a_file = tmp_path / "suite"
    a_file.write_text("x")

    as_file = runner.invoke(app, ["suite", "generate", "--quick", "--out", str(a_file)])
    no_workers = runner.invoke(
        app, ["suite", "generate", "--quick", "--out", str(tmp_path / "s"), "--workers", "0"]
    )

    assert as_file.exit_code == 2 and f"--out {a_file}: is a file" in as_file.output
    assert no_workers.exit_code == 2 and "--workers 0" in no_workers.output
