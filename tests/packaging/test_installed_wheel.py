"""Sleuth as a user installs it: the built wheel in a fresh venv, without the export extra.

`make test-wheel` builds the wheel, installs it into build/wheel-venv and runs this file with
SLEUTH_WHEEL_VENV pointing there (it takes minutes, so `make test` leaves it out and CI runs
both). The server is driven by the official MCP client and by the MCP Inspector CLI (npm).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters

from agent.service.testing.serve_process import free_port
from agent.service.testing.wait import eventually
from tests.mcp_server.scenario_fixture import write_checkout_incident
from tests.mcp_server.stdio_probe import exchange
from tests.mcp_server.test_server import _arguments_for

VENV = os.environ.get("SLEUTH_WHEEL_VENV")
pytestmark = pytest.mark.skipif(
    not VENV, reason="SLEUTH_WHEEL_VENV is not set: run `make test-wheel` (builds and installs the wheel)"
)
ROOT = Path(__file__).resolve().parents[2]
SIZE_LIMIT_BYTES = 1024**3
EARLY_CLOSES = 20


@pytest.fixture(scope="module")
def venv() -> Path:
    return Path(VENV or "").absolute()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory and data directory far from the checkout."""
    return tmp_path_factory.mktemp("elsewhere")


@pytest.fixture(scope="module")
def env(home: Path) -> dict[str, str]:
    return {**os.environ, "SLEUTH_DATA_DIR": str(home / "data"), "HF_HUB_OFFLINE": "1"}


@pytest.fixture(scope="module")
def store(venv: Path, home: Path, env: dict[str, str]) -> Path:
    scenario = write_checkout_incident(home / "incident")
    path = home / "store.duckdb"
    subprocess.run(
        [str(venv / "bin" / "sleuth"), "import", "--data", str(scenario), "--store", str(path)],
        check=True, cwd=home, env=env, capture_output=True,
    )  # fmt: skip
    return path


def test_the_wheel_carries_the_runbooks_and_past_incident_reviews() -> None:
    (wheel,) = (ROOT / "build" / "wheel").glob("sleuth-*.whl")
    names = zipfile.ZipFile(wheel).namelist()

    assert len([n for n in names if n.startswith("knowledge/sops/") and n.endswith(".md")]) == 16
    assert len([n for n in names if n.startswith("knowledge/coes/") and n.endswith(".yaml")]) == 14


def test_the_runtime_venv_is_under_a_gigabyte_and_has_no_torch(venv: Path) -> None:
    size = sum(f.stat().st_size for f in venv.rglob("*") if f.is_file() and not f.is_symlink())
    python = str(venv / "bin" / "python")
    torch = subprocess.run([python, "-c", "import torch"], capture_output=True, check=False)

    print(f"installed size of {venv}: {size / 1024**2:.0f} MiB")
    assert size < SIZE_LIMIT_BYTES
    assert torch.returncode != 0


def test_knowledge_search_finds_the_packaged_runbook_from_any_directory(
    venv: Path, home: Path, env: dict[str, str]
) -> None:
    result = subprocess.run(
        [str(venv / "bin" / "sleuth"), "knowledge", "search", "ProvisionedThroughputExceededException visits",
         "--type", "sop", "--json"],
        cwd=home, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-2000:]
    hits = json.loads(result.stdout)
    assert hits and "dynamodb" in hits[0]["doc_id"]


def test_the_official_client_lists_and_calls_every_tool_and_reads_a_listed_runbook(
    venv: Path, store: Path, home: Path, env: dict[str, str]
) -> None:
    params = StdioServerParameters(
        command=str(venv / "bin" / "sleuth"),
        args=["mcp", "--store", str(store), "--knowledge-wait", "300", "--timeout", "300"],
        env=env,
        cwd=str(home),
    )

    async def drive() -> tuple[str, list[str], list[str]]:
        found: dict[str, Any] = {}
        with anyio.fail_after(600):
            async with Client(params) as client:
                version = client.server_info.version if client.server_info else ""
                tools = [t.name for t in (await client.list_tools()).tools]
                for name in sorted(tools, key=lambda n: (n == "get_trace", n == "draft_incident_report")):
                    result = await client.call_tool(name, _arguments_for(name, found))
                    assert not result.is_error, (name, result.content)
                    if name == "search_traces":
                        assert result.structured_content is not None
                        found["trace_id"] = result.structured_content["hits"][0]["trace_id"]
                uris = [str(r.uri) for r in (await client.list_resources()).resources]
                runbook = await client.read_resource(next(u for u in uris if u.startswith("sleuth://sop/")))
                assert runbook.contents
        return version, tools, uris

    version, tools, uris = anyio.run(drive)

    assert version == "0.1.0"
    assert len(tools) == 22
    assert len([u for u in uris if u.startswith("sleuth://sop/")]) == 16
    assert len([u for u in uris if u.startswith("sleuth://coe/")]) >= 14


def test_closing_right_after_the_handshake_twenty_times_never_crashes_the_installed_server(
    venv: Path, store: Path, home: Path, env: dict[str, str]
) -> None:
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    command = [str(venv / "bin" / "sleuth"), "mcp", "--store", str(store)]

    failures = []
    for attempt in range(EARLY_CLOSES):
        result = exchange(
            command, [listing], {k: v for k, v in env.items() if k.startswith(("SLEUTH", "HF"))}
        )
        if not result.clean:
            failures.append((attempt, result.problems, result.stderr[-500:]))

    assert failures == []


@pytest.mark.skipif(shutil.which("npx") is None, reason="npx (Node.js) is not installed")
@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("tools/list", []),
        ("tools/call", ["--tool-name", "audit_slos"]),
        ("tools/call", ["--tool-name", "count_logs", "--tool-arg", "min_severity=ERROR"]),
        ("resources/list", []),
    ],
)
def test_the_mcp_inspector_cli_talks_to_the_installed_server(
    venv: Path, store: Path, home: Path, env: dict[str, str], method: str, extra: list[str]
) -> None:
    result = subprocess.run(
        ["npx", "-y", "@modelcontextprotocol/inspector", "--cli", str(venv / "bin" / "sleuth"), "mcp",
         "--store", str(store), "--method", method, *extra],
        cwd=home, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip

    assert result.returncode == 0, (result.stdout[-1500:], result.stderr[-1500:])
    answer = json.loads(result.stdout)
    if method == "tools/list":
        assert len(answer["tools"]) == 22
    elif method == "resources/list":
        assert any(r["uri"].startswith("sleuth://sop/") for r in answer["resources"])
    else:
        assert not answer.get("isError"), answer
        assert "untrusted" in answer["structuredContent"]


def test_the_installed_service_without_the_scale_extra_answers_501_for_metrics_and_drains_to_exit_0(
    venv: Path, home: Path, env: dict[str, str]
) -> None:
    port = free_port()
    log = home / "serve-base.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(venv / "bin" / "sleuth"), "serve", "--workers", "0", "--port", str(port),
             "--queue", str(home / "base-queue" / "queue.sqlite")],
            cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        eventually(
            lambda: _answers(f"http://127.0.0.1:{port}/healthz"),
            timeout=120,
            what="the installed sleuth serve",
        )
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        process.send_signal(signal.SIGTERM)
        eventually(lambda: process.poll() is not None, timeout=60, what="sleuth serve exiting")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert metrics.status_code == 501
    assert metrics.json() == {"error": "metrics need prometheus_client: pip install 'sleuth[scale]'"}
    assert process.returncode == 0, log.read_text(errors="replace")[-2000:]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False
