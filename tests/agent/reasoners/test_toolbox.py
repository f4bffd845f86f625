from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest
from mcp.server import MCPServer
from mcp.types import ToolAnnotations

from agent.reasoners.toolbox import ExternalServer, McpToolbox, load_external_servers
from agent.wiring import sleuth_tools_server
from mcp_server.backends.base import TelemetryBackend
from mcp_server.errors import InputFileError


def test_the_builtin_server_offers_read_only_tools_and_never_the_investigator_itself(
    backend: TelemetryBackend,
) -> None:
    async def main() -> tuple[list[str], bool, str]:
        with anyio.fail_after(20):
            async with McpToolbox(sleuth_tools_server(backend)) as box:
                outcome = await box.call("trace_hotspots", {})
                return [s.name for s in box.specs], outcome.is_error, outcome.text

    names, is_error, text = anyio.run(main)

    assert "trace_hotspots" in names and "query_logs" in names
    assert "investigate" not in names
    assert not is_error and "payments DynamoDB.PutItem" in text


def test_a_tool_not_annotated_read_only_is_held_back() -> None:
    server = MCPServer("ops")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def status() -> str:
        return "ok"

    @server.tool()
    def restart(service: str) -> str:
        return f"restarted {service}"

    async def main() -> tuple[list[str], list[str], bool]:
        with anyio.fail_after(20):
            async with McpToolbox(server) as box:
                refused = await box.call("restart", {"service": "payments"})
                return [s.name for s in box.specs], box.notes, refused.is_error

    names, notes, refused = anyio.run(main)

    assert names == ["status"]
    assert any("restart held back: not annotated read-only" in n for n in notes)
    assert refused


def test_external_servers_load_from_the_common_mcp_servers_file(tmp_path: Path) -> None:
    path = tmp_path / "servers.json"
    path.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "grafana": {
                        "command": "mcp-grafana",
                        "args": ["--read-only"],
                        "env": {"GRAFANA_URL": "http://g"},
                    },
                    "aws": {"url": "http://127.0.0.1:9000/mcp"},
                }
            }
        )
    )

    grafana, aws = load_external_servers(path)

    assert (grafana.name, grafana.command, grafana.args, grafana.env) == (
        "grafana",
        "mcp-grafana",
        ("--read-only",),
        {"GRAFANA_URL": "http://g"},
    )
    assert aws.target() == "http://127.0.0.1:9000/mcp"


def test_a_server_without_command_or_url_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "servers.json"
    path.write_text(json.dumps({"mcpServers": {"broken": {"args": []}}}))

    with pytest.raises(InputFileError, match=r"mcpServers.broken.*'command'"):
        load_external_servers(path)


EXTERNAL_SERVER = """
from mcp.server import MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("grafana")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def dashboard_panels(service: str) -> str:
    return f"p99 latency panel for {service}: 2.3s"


server.run("stdio")
"""


def test_an_external_stdio_server_adds_its_tools_under_its_own_name(tmp_path: Path) -> None:
    script = tmp_path / "grafana_server.py"
    script.write_text(EXTERNAL_SERVER, encoding="utf-8")
    external = [ExternalServer(name="grafana", command=sys.executable, args=(str(script),))]

    async def main() -> tuple[list[str], str]:
        with anyio.fail_after(60):
            async with McpToolbox(None, external) as box:
                outcome = await box.call("grafana__dashboard_panels", {"service": "visits"})
                return [s.name for s in box.specs], outcome.text

    names, text = anyio.run(main)

    assert names == ["grafana__dashboard_panels"]
    assert text == "p99 latency panel for visits: 2.3s"


def test_an_external_server_that_does_not_start_costs_its_tools_not_the_run(tmp_path: Path) -> None:
    external = [ExternalServer(name="broken", command=str(tmp_path / "no-such-binary"))]

    async def main() -> tuple[list[str], list[str]]:
        with anyio.fail_after(30):
            async with McpToolbox(None, external) as box:
                return [s.name for s in box.specs], box.notes

    names, notes = anyio.run(main)

    assert names == []
    assert notes and notes[0].startswith("MCP server broken unavailable")
