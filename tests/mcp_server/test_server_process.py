"""``sleuth mcp`` as an IDE runs it: a process on stdio, started and closed at once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mcp_server.backends.local import LocalBackend
from tests.mcp_server.stdio_probe import call, exchange

SLEUTH = str(Path(sys.executable).parent / "sleuth")
QUICK_CLOSES = 3  # the wheel check (make test-wheel) closes early 20 times


@pytest.fixture(scope="module")
def store_file(checkout_incident_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "store.duckdb"
    with LocalBackend(path) as backend:
        backend.import_scenario(checkout_incident_dir)
    return path


def _env(data_dir: Path) -> dict[str, str]:
    return {"SLEUTH_DATA_DIR": str(data_dir), "SLEUTH_EMBEDDER": "hashing", "HF_HUB_OFFLINE": "1"}


def test_a_client_that_closes_right_after_listing_tools_never_crashes_the_server(
    store_file: Path, tmp_path: Path
) -> None:
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    for _ in range(QUICK_CLOSES):
        result = exchange([SLEUTH, "mcp", "--store", str(store_file)], [listing], _env(tmp_path))

        assert result.clean, (result.problems, result.stderr[-2000:])
        assert len(result.answers[1]["result"]["tools"]) >= 20


def test_with_no_data_the_server_starts_and_every_answer_says_how_to_load_some(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nowhere" / "store.duckdb"

    result = exchange(
        [SLEUTH, "mcp", "--store", str(missing), "--no-knowledge"],
        [call(1, "list_slos", {}), call(2, "get_slo", {"name": "checkout-availability"})],
        _env(tmp_path),
    )

    assert result.clean, (result.problems, result.stderr[-2000:])
    handshake, slos, slo = result.answers
    hint = f"sleuth import --data SCENARIO_DIR --store {missing}"
    assert hint in handshake["result"]["instructions"]
    assert "structuredContent" in slos["result"], slos
    assert hint in slos["result"]["structuredContent"]["message"]
    assert slo["result"]["isError"] and hint in slo["result"]["content"][0]["text"]
