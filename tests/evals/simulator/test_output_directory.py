from __future__ import annotations

from pathlib import Path

import pytest

from evals.simulator.generate import ScenarioGenerationError, generate_scenario


def test_the_simulator_never_deletes_a_directory_that_is_not_a_scenario(tmp_path: Path) -> None:
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "todo.txt").write_text("keep me")

    with pytest.raises(ScenarioGenerationError, match="not a scenario directory"):
        generate_scenario("error_exception", "visits", 1, precious, size="tiny", minutes=10)

    assert (precious / "todo.txt").read_text() == "keep me"


def test_the_simulator_regenerates_over_its_own_scenario(tmp_path: Path) -> None:
    out = tmp_path / "scenario"
    generate_scenario("error_exception", "visits", 1, out, size="tiny", minutes=10)
    first = (out / "traces.jsonl").read_bytes()

    generate_scenario("error_exception", "visits", 1, out, size="tiny", minutes=10)

    assert (out / "traces.jsonl").read_bytes() == first
