"""The Sleuth MCP server: read-only incident tools over one telemetry backend.

``build_server(deps)`` registers every tool module on an :class:`MCPServer` whose lifespan
yields the same deps. ``sleuth mcp`` (agent/commands/mcp.py) builds the deps from the command
line and runs it over stdio or streamable HTTP.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server import MCPServer

from mcp_server.deps import ServerDeps

# One line per tool module; each exposes register(server, deps).
TOOL_MODULES = [
    "mcp_server.tools.slos",
    "mcp_server.tools.metrics",
    "mcp_server.tools.logs",
    "mcp_server.tools.traces",
    "mcp_server.tools.changes",
    "mcp_server.tools.knowledge",  # only with a knowledge store
    "mcp_server.tools.investigations",  # only with an investigator
    "mcp_server.prompts",
]

INSTRUCTIONS = """\
Sleuth answers questions about a system's health from its telemetry (traces, metrics, logs,
deployments, SLOs, alarms). Every tool is read-only.

A good path from symptom to cause: list_slos or audit_services (what is unhealthy) -> get_slo
(which operation fails it, since when) -> trace_hotspots (where failures start, which dependency)
-> search_traces / get_trace (a concrete failing request) -> query_logs (the error text) ->
list_changes (what changed just before; can it be rolled back?).

Times accept ISO 8601 or relative forms ('-30m', 'now'). On a recorded incident (the local
store), relative times count back from the end of the data and omitting start/end reads the
whole incident. Outputs are capped; when something is cut the answer says how to get the rest.
"""


def warm_caches(deps: ServerDeps) -> None:
    """Compute the whole-incident aggregates before the first question arrives (recorded data).

    SLO evaluation, the call graph, onset detection, anomaly scoring and log template mining take
    up to a second or two each on a large incident; run in a background thread at start-up,
    they make the first answers as quick as the later ones.
    """
    from mcp_server.tools import logs, metrics, slos, traces
    from mcp_server.tools.common import ToolKit

    if deps.clock != "data":
        return
    kit = ToolKit(deps)
    window = kit.window(None, None)
    slos.slo_statuses(kit, window)
    traces.service_edges(kit, window)
    scope = kit.scope(window, None)
    metrics.metric_anomalies(kit, scope, None)
    logs.template_changes(kit, scope)


def build_server(deps: ServerDeps) -> MCPServer[ServerDeps]:
    """An MCP server exposing Sleuth's tools over ``deps``."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[ServerDeps]) -> AsyncIterator[ServerDeps]:
        # The deps outlive sessions (an HTTP server serves many); whoever built them closes them.
        yield deps

    server: MCPServer[ServerDeps] = MCPServer(
        "sleuth",
        title="Sleuth incident investigator",
        instructions=INSTRUCTIONS + (f"\nServing: {deps.description}\n" if deps.description else ""),
        lifespan=lifespan,
        warn_on_duplicate_tools=True,
    )
    for module in TOOL_MODULES:
        importlib.import_module(module).register(server, deps)
    return server
