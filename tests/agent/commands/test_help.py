"""Every command's --help is readable: Rich markup must not eat bracketed text in option help."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from agent.cli import app

runner = CliRunner()

COMMANDS = [
    ["investigate"],
    ["import"],
    ["store"],
    ["simulate"],
    ["suite", "generate"],
    ["eval"],
    ["knowledge", "search"],
    ["knowledge", "ingest"],
    ["knowledge", "add-coe"],
    ["aws", "check"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_keeps_every_default_and_env_hint_visible(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    # what is left when markup swallows "[default: ...]" before a full stop: "store ."
    assert re.search(r" \.(\s|$)", text) is None
    assert "(default" in text or command == ["knowledge", "add-coe"] or "[default" in text


def test_investigate_help_names_the_store_default_and_the_reasoner_choice() -> None:
    result = runner.invoke(app, ["investigate", "--help"], env={"COLUMNS": "200"})

    text = " ".join(result.output.split())
    assert "$SLEUTH_DATA_DIR/store.duckdb" in text
    assert "$SLEUTH_REASONER" in text
