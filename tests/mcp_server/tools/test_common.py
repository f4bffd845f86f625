from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver.exceptions import ToolError

from mcp_server.backends.local import LocalBackend
from mcp_server.deps import ServerDeps, ServerLimits
from mcp_server.server import build_server
from mcp_server.telemetry import SloDefinition
from mcp_server.tools.common import parse_time
from tests.mcp_server.tools.calls import data, text

NOW = datetime(2026, 1, 1, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("now", NOW),
        ("-30m", NOW - timedelta(minutes=30)),
        ("-2h", NOW - timedelta(hours=2)),
        ("- 90 s", NOW - timedelta(seconds=90)),
        ("-1d", NOW - timedelta(days=1)),
        ("2026-01-01T10:00:00Z", datetime(2026, 1, 1, 10, tzinfo=UTC)),
        ("2026-01-01T11:00:00+01:00", datetime(2026, 1, 1, 10, tzinfo=UTC)),
        ("2026-01-01T10:00:00", datetime(2026, 1, 1, 10, tzinfo=UTC)),  # no offset: UTC
    ],
)
def test_time_arguments_accept_iso_8601_and_relative_forms(value: str, expected: datetime) -> None:
    assert parse_time(value, NOW) == expected


def test_an_unparseable_time_says_which_forms_work() -> None:
    with pytest.raises(ToolError, match=r"start='last tuesday' is not a time; use ISO 8601 .* '-30m'"):
        parse_time("last tuesday", NOW, "start")


class _StuckSloBackend:
    """The local backend, except that listing SLOs blocks until released: a backend that hangs."""

    def __init__(self, backend: LocalBackend) -> None:
        self._backend = backend
        self.release = threading.Event()

    def list_slo_definitions(self) -> list[SloDefinition]:
        self.release.wait(30)
        return self._backend.list_slo_definitions()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


@pytest.fixture
def stuck_backend(checkout_backend: LocalBackend) -> Iterator[_StuckSloBackend]:
    backend = _StuckSloBackend(checkout_backend)
    yield backend
    backend.release.set()


@pytest.mark.anyio
async def test_a_call_that_outlives_the_time_limit_returns_an_error_instead_of_hanging(
    stuck_backend: _StuckSloBackend,
) -> None:
    limits = ServerLimits(call_timeout_seconds=0.2)
    server = build_server(ServerDeps(backend=stuck_backend, limits=limits))  # type: ignore[arg-type]

    async with Client(server) as client:
        stuck = await client.call_tool("list_slos", {})
        after = await client.call_tool("list_changes", {})  # the server still answers

    assert stuck.is_error
    assert "took longer than 0.2s and was stopped; narrow the time range" in text(stuck)
    assert not after.is_error


@pytest.mark.anyio
async def test_answers_over_the_size_budget_are_cut_with_a_message_saying_how_to_get_the_rest(
    checkout_backend: LocalBackend,
) -> None:
    server = build_server(ServerDeps(backend=checkout_backend, limits=ServerLimits(max_output_chars=3_000)))

    async with Client(server) as client:
        result = await client.call_tool("search_traces", {"errors_only": True, "limit": 200})

    out = data(result)
    assert out["truncated"] is True
    assert out["has_more"] is True
    assert 0 < len(out["hits"]) < 200
    assert f"output cut to {len(out['hits'])} of " in out["message"]
    assert len(text(result)) <= 3_000
    assert len(json.dumps(out, separators=(",", ":"))) <= 3_000
