"""``sleuth investigate --json`` writes the same bytes as before the result was typed end to end.

The golden file was written by the code that still carried the trigger, windows, SLOs, alarms
and changes as dicts (commit cc2472f), on the checkout incident of the MCP tests (an SLO
trigger, three SLOs, an alarm, two changes). Only the investigation id and the timings differ
between runs; both are blanked in the file and in the new output. When the ranking changes on
purpose, rewrite the file with ``SLEUTH_UPDATE_GOLDEN=1 pytest tests/agent/commands/test_investigate_json.py``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from tests.mcp_server.scenario_fixture import write_checkout_incident

GOLDEN = Path(__file__).parent / "golden" / "checkout-incident.result.json"


def blank_run_specifics(text: str) -> str:
    text = re.sub(r'"id": "inv-[^"]*"', '"id": "<id>"', text)
    return re.sub(r'"timings": \{[^}]*\}', '"timings": {}', text)


def test_the_json_result_is_byte_for_byte_what_the_untyped_result_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(tmp_path / "data"))
    incident = write_checkout_incident(tmp_path / "incident")
    out = tmp_path / "result.json"

    ran = CliRunner().invoke(
        app,
        ["investigate", "--data", str(incident), "--json", str(out), "--no-knowledge", "--reasoner", "offline",
         "--checkpoints", str(tmp_path / "checkpoints.sqlite")],
    )  # fmt: skip

    assert ran.exit_code == 0, ran.output
    written = blank_run_specifics(out.read_text(encoding="utf-8"))
    if os.environ.get("SLEUTH_UPDATE_GOLDEN"):
        GOLDEN.write_text(written, encoding="utf-8")
    assert written == GOLDEN.read_text(encoding="utf-8")
    assert '"timings": {}' in written and '"id": "<id>"' in written  # the blanking matched
