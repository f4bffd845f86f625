from __future__ import annotations

from typing import Any

import pytest
from mcp.server import MCPServer

from tests.mcp_server.tools.calls import call, data, text

pytestmark = pytest.mark.anyio


async def test_changes_come_newest_first_with_how_to_roll_them_back(checkout_server: MCPServer[Any]) -> None:
    changes = data(await call(checkout_server, "list_changes"))["changes"]

    assert [(c["service"], c["kind"]) for c in changes] == [("payments", "deployment"), ("cart", "config")]
    assert changes[0]["rollback"] == "redeploy payments v2.4.0 (now v2.4.1)"


async def test_changes_filter_by_kind_and_reject_unknown_kinds(checkout_server: MCPServer[Any]) -> None:
    configs = data(await call(checkout_server, "list_changes", kinds=["config"]))["changes"]
    bad = await call(checkout_server, "list_changes", kinds=["deploy"])

    assert [c["id"] for c in configs] == ["cfg-7"]
    assert bad.is_error
    assert "unknown change kind(s) deploy; use deployment, config" in text(bad)
