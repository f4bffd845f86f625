"""Issue 18's reproduction: a password planted in a scenario's logs never reaches the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from evals.simulator import generate_scenario

PLANTED = "db_url=postgres://app:SuperSecretPw@db.internal/visits"


def _plant(logs: Path) -> int:
    """Put the connection string in front of every error line of visits; returns how many."""
    requests = [json.loads(line) for line in logs.read_text().splitlines() if line.strip()]
    planted = 0
    for request in requests:
        for resource in request["resourceLogs"]:
            names = [
                a["value"]["stringValue"]
                for a in resource["resource"]["attributes"]
                if a["key"] == "service.name"
            ]
            for scope in resource["scopeLogs"] if names == ["visits"] else []:
                for record in scope["logRecords"]:
                    if record.get("severityNumber", 0) >= 17:
                        record["body"]["stringValue"] = f"{PLANTED} {record['body']['stringValue']}"
                        planted += 1
    logs.write_text("".join(json.dumps(r) + "\n" for r in requests))
    return planted


def test_a_password_planted_in_the_logs_is_redacted_in_every_report_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SLEUTH_REASONER", raising=False)
    scenario = Path(generate_scenario("dependency_throttling", "visits", 7, tmp_path / "s3", size="tiny"))
    assert _plant(scenario / "logs.jsonl") > 0
    out = tmp_path / "rep"

    result = CliRunner().invoke(app, ["report", "--data", str(scenario), "--out", str(out), "--no-knowledge"])

    assert result.exit_code == 0, result.output
    written = {path.name: path.read_text(encoding="utf-8") for path in out.rglob("*") if path.is_file()}
    markdown = next(text for name, text in written.items() if name.endswith(".md") and "customer" not in name)
    assert "postgres://app:[REDACTED:password]@db.internal/visits" in markdown
    assert [name for name, text in written.items() if "SuperSecretPw" in text] == []
    assert "SuperSecretPw" not in result.output
