"""The model's tools: MCP tools reached through MCP client sessions.

The built-in Sleuth server runs in-process (the composition root, ``agent/wiring.py``, builds it
for each investigation's backend); servers a user adds (Grafana, AWS...) are reached
over stdio or streamable HTTP, listed in a JSON file in the common ``{"mcpServers": {...}}``
shape (``SLEUTH_MCP_SERVERS`` names it). Only tools annotated read-only are offered, and never
the investigator's own entry points, so the agent can neither mutate anything nor recurse.
"""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.stdio import StdioServerParameters
from pydantic import BaseModel, ConfigDict, Field

from mcp_server.errors import InputFileError

SERVERS_ENV = "SLEUTH_MCP_SERVERS"
DENIED_TOOLS = frozenset({"investigate", "draft_incident_report"})
NAMESPACE_SEPARATOR = "__"


class ToolSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    server: str = "sleuth"


class ToolOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    is_error: bool = False


@dataclass(frozen=True)
class ExternalServer:
    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    url: str | None = None

    def target(self) -> StdioServerParameters | str:
        if self.url:
            return self.url
        return StdioServerParameters(command=self.command or "", args=list(self.args), env=self.env or None)


def load_external_servers(path: Path | str) -> list[ExternalServer]:
    """Read ``{"mcpServers": {"name": {"command", "args", "env"} | {"url"}}}``."""
    source = Path(path)
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(source, None, None, "file not found") from None
    except json.JSONDecodeError as exc:
        raise InputFileError(source, exc.lineno, None, f"not valid JSON: {exc.msg}") from None
    servers = raw.get("mcpServers") if isinstance(raw, dict) else None
    if not isinstance(servers, dict):
        raise InputFileError(source, None, "mcpServers", "expected a mapping of server names to settings")
    out: list[ExternalServer] = []
    for name, settings in servers.items():
        where = f"mcpServers.{name}"
        if not isinstance(settings, dict) or not (settings.get("command") or settings.get("url")):
            raise InputFileError(
                source, None, where, "each server needs a 'command' (stdio) or a 'url' (HTTP)"
            )
        args = settings.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise InputFileError(source, None, f"{where}.args", "expected a list of strings")
        env = settings.get("env", {})
        if not isinstance(env, dict):
            raise InputFileError(source, None, f"{where}.env", "expected a mapping of strings")
        out.append(
            ExternalServer(
                name=str(name),
                command=settings.get("command"),
                args=tuple(args),
                env={str(k): str(v) for k, v in env.items()},
                url=settings.get("url"),
            )
        )
    return out


def _read_only(tool: Any) -> bool:
    annotations = getattr(tool, "annotations", None)
    return bool(annotations is not None and annotations.read_only_hint)


def _text(result: Any) -> str:
    parts = [getattr(block, "text", "") for block in (result.content or [])]
    text = "\n".join(p for p in parts if p)
    if not text and result.structured_content is not None:
        text = json.dumps(result.structured_content, default=str)
    return text


class McpToolbox:
    """Open sessions to every server; list and call their read-only tools."""

    def __init__(self, builtin: Any | None = None, external: list[ExternalServer] | None = None) -> None:
        self._builtin = builtin
        self._external = external or []
        self._stack = AsyncExitStack()
        self._routes: dict[str, tuple[Any, str]] = {}
        self.specs: list[ToolSpec] = []
        self.notes: list[str] = []  # servers that failed to start, tools held back

    async def __aenter__(self) -> McpToolbox:
        targets: list[tuple[str, Any]] = []
        if self._builtin is not None:
            targets.append(("sleuth", self._builtin))
        targets += [(server.name, server.target()) for server in self._external]
        for name, target in targets:
            try:
                client = await self._stack.enter_async_context(Client(target))
                listed = await client.list_tools()
            except Exception as exc:  # an add-on server that does not start costs its tools, not the run
                self.notes.append(f"MCP server {name} unavailable: {type(exc).__name__}: {exc}"[:300])
                continue
            for tool in listed.tools:
                if tool.name in DENIED_TOOLS:
                    continue
                if not _read_only(tool):
                    self.notes.append(f"tool {name}/{tool.name} held back: not annotated read-only")
                    continue
                exposed = tool.name if name == "sleuth" else f"{name}{NAMESPACE_SEPARATOR}{tool.name}"
                self._routes[exposed] = (client, tool.name)
                self.specs.append(
                    ToolSpec(
                        name=exposed,
                        description=(tool.description or "")[:1500],
                        input_schema=dict(tool.input_schema or {"type": "object", "properties": {}}),
                        server=name,
                    )
                )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    def has(self, name: str) -> bool:
        return name in self._routes

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        route = self._routes.get(name)
        if route is None:
            return ToolOutcome(text=f"unknown or not permitted tool {name!r}", is_error=True)
        client, tool_name = route
        try:
            result = await client.call_tool(tool_name, arguments)
        except Exception as exc:  # a broken session answers the model with an error it can work around
            return ToolOutcome(text=f"tool {name} failed: {type(exc).__name__}: {exc}"[:500], is_error=True)
        return ToolOutcome(text=_text(result), is_error=bool(result.is_error))
