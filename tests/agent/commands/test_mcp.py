from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.commands.mcp_config import render_config
from agent.wiring import BackgroundKnowledge
from mcp_server.errors import SleuthError

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[3]
# the placeholders the README's IDE configurations use
README_COMMAND = "/path/to/sleuth/.venv/bin/sleuth"
README_STORE = "/path/to/sleuth/.data/store.duckdb"


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--transport", "carrier-pigeon"], "unknown transport 'carrier-pigeon'; use one of: stdio, http"),
        (["--print-config", "emacs"], "unknown IDE 'emacs' for --print-config; use one of: claude-code"),
        (
            ["--transport", "http", "--host", "0.0.0.0"],
            "--host 0.0.0.0 listens beyond loopback; set SLEUTH_MCP_TOKEN",
        ),
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


def test_knowledge_opening_in_the_background_says_it_is_loading_then_answers() -> None:
    release = threading.Event()
    opened: list[str] = []

    class Store:
        def search(self, query: str, **options: Any) -> list[str]:
            return [query]

        def get_document(self, doc_id: str) -> str:
            return doc_id

    def opener() -> Store:
        release.wait(30)
        opened.append("yes")
        return Store()

    knowledge = BackgroundKnowledge(opener, wait_seconds=0.05).start()
    with pytest.raises(SleuthError, match="the knowledge base is still loading"):
        knowledge.search("throttling")
    assert knowledge.loaded() is None

    release.set()
    knowledge.wait_seconds = 30
    assert knowledge.search("throttling") == ["throttling"]
    assert knowledge.get_document("sop-x") == "sop-x"
    assert knowledge.loaded() is not None


def test_a_knowledge_store_that_fails_to_open_is_reported_on_use() -> None:
    def opener() -> Any:
        raise OSError("disk full")

    knowledge = BackgroundKnowledge(opener, wait_seconds=30).start()

    with pytest.raises(SleuthError, match="the knowledge base could not open: OSError: disk full"):
        knowledge.search("anything")


@pytest.mark.parametrize("ide", ["claude-code", "cursor", "kiro", "vscode"])
def test_print_config_names_the_executable_and_the_store_absolutely_whatever_the_working_directory(
    ide: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLEUTH_DATA_DIR", raising=False)

    result = runner.invoke(app, ["mcp", "--print-config", ide, "--store", "incident.duckdb"])

    assert result.exit_code == 0, result.output
    config = result.stdout
    assert str(tmp_path / "incident.duckdb") in config
    executable = Path(sys.executable).parent / "sleuth"
    assert str(executable) in config and executable.is_absolute()
    if ide != "claude-code":
        json.loads(config)  # ready to save as the IDE's file


@pytest.mark.parametrize("ide", ["claude-code", "cursor", "kiro", "vscode"])
def test_the_readme_and_the_mcp_guide_show_exactly_what_print_config_prints(ide: str) -> None:
    rendered = render_config(ide, README_COMMAND, ["mcp", "--store", README_STORE])

    for document in (ROOT / "README.md", ROOT / "docs" / "mcp.md"):
        assert rendered in document.read_text(encoding="utf-8"), f"{document.name} lacks the {ide} config"
