from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
import uvicorn
from mcp import Client, StdioServerParameters
from mcp.server import MCPServer

from mcp_server.backends.local import LocalBackend
from mcp_server.deps import ServerDeps
from mcp_server.server import build_server, warm_caches

pytestmark = pytest.mark.anyio

TELEMETRY_TOOLS = {
    "list_services",
    "audit_slos",
    "count_logs",
    "list_slos",
    "get_slo",
    "audit_services",
    "list_metrics",
    "query_metrics",
    "detect_metric_anomalies",
    "get_active_alarms",
    "get_alarm_history",
    "query_logs",
    "log_patterns",
    "search_traces",
    "get_trace",
    "service_map",
    "trace_hotspots",
    "list_changes",
}
ALL_TOOLS = TELEMETRY_TOOLS | {
    "search_runbooks",
    "search_past_incidents",
    "investigate",
    "draft_incident_report",
}


async def test_every_tool_is_read_only_documented_and_declares_its_output_schema(
    checkout_server: MCPServer[Any],
) -> None:
    async with Client(checkout_server) as client:
        tools = (await client.list_tools()).tools

    assert {t.name for t in tools} == ALL_TOOLS
    for tool in tools:
        assert tool.annotations is not None and tool.annotations.read_only_hint is True, tool.name
        assert tool.annotations.destructive_hint is False, tool.name
        assert tool.output_schema is not None, tool.name
        assert tool.description and len(tool.description) > 80, tool.name
        for name, schema in tool.input_schema.get("properties", {}).items():
            assert schema.get("description"), f"{tool.name}.{name} has no description"


async def test_prompts_walk_an_slo_breach_and_a_coe(checkout_server: MCPServer[Any]) -> None:
    async with Client(checkout_server) as client:
        names = {p.name for p in (await client.list_prompts()).prompts}
        breach = await client.get_prompt("investigate_slo_breach", {"slo": "checkout-availability"})

    assert names == {"investigate_slo_breach", "draft_coe"}
    content = breach.messages[0].content
    assert content.type == "text"
    assert "'checkout-availability'" in content.text
    assert "search_runbooks" in content.text


def _arguments_for(tool: str, found: dict[str, Any]) -> dict[str, Any]:
    return {
        "get_slo": {"name": "checkout-availability"},
        "query_metrics": {"name": "aws.dynamodb.throttled_requests"},
        "get_alarm_history": {"name": "payments-dynamodb-throttles"},
        "get_trace": {"trace_id": found.get("trace_id", "0" * 32)},
        "search_traces": {"errors_only": True, "limit": 5},
        "search_runbooks": {"query": "DynamoDB throttling"},
        "search_past_incidents": {"query": "DynamoDB throttling"},
    }.get(tool, {})


async def test_over_stdio_the_cli_server_lists_its_tools_and_answers_each_one(
    checkout_incident_dir: Path, tmp_path: Path
) -> None:
    sleuth = Path(sys.executable).parent / "sleuth"
    params = StdioServerParameters(
        command=str(sleuth),
        args=["mcp", "--data", str(checkout_incident_dir), "--knowledge-wait", "120"],
        env={"SLEUTH_DATA_DIR": str(tmp_path), "SLEUTH_EMBEDDER": "hashing", "HF_HUB_OFFLINE": "1"},
    )
    found: dict[str, Any] = {}
    with anyio.fail_after(240):
        async with Client(params) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            assert set(tools) == ALL_TOOLS
            # search_traces before get_trace, investigate before draft_incident_report
            order = sorted(tools, key=lambda n: (n == "get_trace", n == "draft_incident_report"))
            for name in order:
                result = await client.call_tool(name, _arguments_for(name, found))
                assert not result.is_error, (name, result.content)
                assert result.structured_content is not None
                if name == "search_traces":
                    found["trace_id"] = result.structured_content["hits"][0]["trace_id"]


async def test_over_streamable_http_on_loopback_a_client_can_query_the_server(
    checkout_backend: LocalBackend,
) -> None:
    server = build_server(ServerDeps(backend=checkout_backend))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # connections queue here until uvicorn accepts them: no need to poll for readiness
    port = listener.getsockname()[1]
    web = uvicorn.Server(uvicorn.Config(server.streamable_http_app(), log_level="warning", lifespan="on"))
    with anyio.fail_after(60):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(web.serve, [listener])
            try:
                async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                    names = {t.name for t in (await client.list_tools()).tools}
                    slos = await client.call_tool("list_slos", {})
            finally:
                web.should_exit = True
    listener.close()

    assert names == TELEMETRY_TOOLS
    assert slos.structured_content is not None
    assert slos.structured_content["slos"][0]["name"] == "checkout-availability"


async def test_warming_the_caches_computes_the_incident_aggregates_the_tools_then_reuse(
    checkout_incident_dir: Path,
) -> None:
    with LocalBackend.from_scenario(checkout_incident_dir) as backend:
        deps = ServerDeps(backend=backend)
        warm_caches(deps)
        warmed = len(deps.cache)
        async with Client(build_server(deps)) as client:
            for tool in ("list_slos", "service_map", "detect_metric_anomalies", "log_patterns"):
                assert not (await client.call_tool(tool, {})).is_error

    assert warmed == 5  # SLOs, call graph, onset, anomalies, log templates
    assert len(deps.cache) == warmed  # every call above was answered from the warmed entries
