from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.commands.mcp import BackgroundKnowledge
from mcp_server.errors import SleuthError

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
