from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--transport", "carrier-pigeon"], "unknown transport 'carrier-pigeon'; use one of: stdio, http"),
        (["--store", "{tmp}/missing.duckdb"], "no local store at"),
        (
            ["--data", "{tmp}", "--store", "{tmp}/x.duckdb"],
            "give either --data DIR or --store PATH, not both",
        ),
        (["--data", "{tmp}/nowhere"], "not a directory"),
        (["--no-redact-rule", "phone"], "unknown redaction rule(s) phone"),
        (["--max-output-chars", "10"], "--max-output-chars must be at least 2000"),
        (["--backend", "carrier"], "unknown backend 'carrier'; choose one of: local, aws"),
        (["--backend", "aws", "--data", "{tmp}"], "--data and --store serve the local backend"),
    ],
)
def test_bad_mcp_options_exit_2_with_one_clear_line(
    tmp_path: Path, arguments: list[str], complaint: str
) -> None:
    result = runner.invoke(app, ["mcp", *(a.replace("{tmp}", str(tmp_path)) for a in arguments)])

    assert result.exit_code == 2, result.output
    assert complaint in " ".join(result.output.split())
    assert "Traceback" not in result.output
