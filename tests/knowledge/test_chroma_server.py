"""SLEUTH_CHROMA_URL: the knowledge base on a real Chroma server (`chroma run` on a loopback port).

Processes sharing the server see each other's documents: a COE one process ingests is found by
another that opened the store before it was added. Vectors come from the same offline embedder
(all-MiniLM ONNX) in both.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from agent.service.testing.serve_process import free_port
from agent.service.testing.wait import eventually
from knowledge.errors import KnowledgeUnavailableError
from knowledge.persistent import chroma_server_from_url, open_store
from tests.knowledge.conftest import coe_data


def _chroma_binary() -> str | None:
    beside = Path(sys.executable).parent / "chroma"
    return str(beside) if beside.exists() else shutil.which("chroma")


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = _chroma_binary()
    if binary is None:
        pytest.skip("no `chroma` CLI (chromadb ships it) beside this Python or on PATH")
    root = tmp_path_factory.mktemp("chroma")
    port = free_port()
    log = root / "chroma.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "run", "--path", str(root / "db"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            pytest.skip(
                f"`chroma run` exited with {process.returncode}: {log.read_text(errors='replace')[-300:]}"
            )
        try:
            return httpx.get(url + "/api/v2/heartbeat", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    try:
        eventually(up, timeout=30, what=f"`chroma run` answering on {url}")
        yield url
    finally:
        process.terminate()
        process.wait(15)


def test_a_coe_ingested_by_one_process_is_found_by_another_sharing_the_chroma_server(
    chroma_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLEUTH_CHROMA_URL", chroma_url)
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(tmp_path / "data"))
    reader = open_store(auto_ingest=False)  # this process, open before the other one writes
    before = reader.chunk_count()
    coe = tmp_path / "coe-2026-777-ledger-disk.json"
    coe.write_text(
        json.dumps(
            coe_data(
                "coe-2026-777-ledger-disk",
                title="Ledger writes stalled on a full disk",
                services=["ledger"],
                fault_types=["config_change"],
                summary="The ledger volume filled up with unrotated audit files and writes stalled.",
            )
        )
    )

    added = subprocess.run(
        [sys.executable, "-m", "agent.cli", "knowledge", "ingest", str(coe)],
        env={**os.environ, "SLEUTH_DATA_DIR": str(tmp_path / "other")},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )

    assert added.returncode == 0, added.stdout + added.stderr
    hits = reader.search("ledger volume full of unrotated audit files, writes stalled", type="coe", k=3)
    assert hits[0].doc_id == "coe-2026-777-ledger-disk"
    assert reader.chunk_count() > before
    assert not (tmp_path / "data" / "knowledge" / "chroma").exists()  # nothing embedded locally


@pytest.mark.parametrize("url", ["ftp://chroma:8000", "chroma:8000", "http://:8000", "http://h:notaport"])
def test_a_bad_chroma_url_is_one_line_naming_the_variable(url: str) -> None:
    with pytest.raises(KnowledgeUnavailableError, match=r"^SLEUTH_CHROMA_URL=.*expected http://host:port"):
        chroma_server_from_url(url)


def test_an_unreachable_chroma_server_is_one_line_from_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.cli import build_app

    monkeypatch.setenv("SLEUTH_CHROMA_URL", f"http://127.0.0.1:{free_port()}")
    result = CliRunner().invoke(
        build_app(["agent.commands.knowledge"]), ["knowledge", "search", "throttling"]
    )

    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(
        "error: cannot reach the Chroma server at http://127.0.0.1:"
    )
