"""Evidence that can be re-run: the exact MCP tool call that shows an observation.

An evidence item's ``source_query`` is ``<tool> <JSON arguments>``, e.g.
``trace_hotspots {"service":"visits","start":"2026-01-01T10:00:00Z","end":"2026-01-01T10:30:00Z"}``:
a model or a person pastes the tool name and the arguments into an MCP client and reads the same
numbers. Windows are always explicit (start and end), because "the last 30 minutes" means another
range tomorrow. Kernel level: analysis builds these strings, the MCP tools parse them.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from mcp_server.telemetry import TimeWindow

_CALL = re.compile(r"^(?P<tool>[a-z_][a-z0-9_]*) (?P<arguments>\{.*\})$", re.DOTALL)


class ToolCall(BaseModel):
    """One MCP tool call: the tool's name and its JSON arguments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool: str
    arguments: dict[str, Any]

    def text(self) -> str:
        return f"{self.tool} {json.dumps(self.arguments, separators=(',', ':'), default=str)}"


def iso_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def window_arguments(window: TimeWindow) -> dict[str, str]:
    return {"start": iso_time(window.start), "end": iso_time(window.end)}


def tool_call(tool: str, window: TimeWindow | None = None, /, **arguments: Any) -> str:
    """``source_query`` text for calling ``tool`` with ``arguments`` (None values left out) over
    ``window`` (as explicit start and end)."""
    chosen = {
        k: (iso_time(v) if isinstance(v, datetime) else v) for k, v in arguments.items() if v is not None
    }
    if window is not None:
        chosen.update(window_arguments(window))
    return ToolCall(tool=tool, arguments=chosen).text()


def parse_tool_call(text: str) -> ToolCall | None:
    """The call a ``source_query`` names, or None when it is not a tool call (older free text)."""
    match = _CALL.match(text.strip())
    if match is None:
        return None
    try:
        arguments = json.loads(match.group("arguments"))
    except ValueError:
        return None
    if not isinstance(arguments, dict):
        return None
    return ToolCall(tool=match.group("tool"), arguments=arguments)
