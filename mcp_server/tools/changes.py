"""Change tools: ``list_changes``, answering every SOP's first question: what changed, and can it be rolled back?"""

from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from mcp_server.deps import ServerDeps
from mcp_server.telemetry import ChangeEvent, ChangeKind
from mcp_server.tools.common import READ_ONLY, End, ServiceArg, Start, ToolKit, iso, limit_field
from mcp_server.tools.models import ChangeList, ChangeOut

KIND_NAMES = [k.value for k in ChangeKind]


def rollback_hint(change: ChangeEvent) -> str | None:
    """How this change could be undone, in the terms the change record gives."""
    if change.kind == ChangeKind.DEPLOYMENT and change.previous_version:
        return f"redeploy {change.service} {change.previous_version} (now {change.version or 'unknown'})"
    if change.kind == ChangeKind.FEATURE_FLAG:
        return f"turn the flag back: {change.description}" if change.description else "turn the flag back"
    if change.kind == ChangeKind.CONFIG:
        return "revert the configuration change" + (f" {change.id}" if change.id else "")
    if change.kind == ChangeKind.SCALING:
        return "scale back to the previous capacity"
    return None


def register(server: MCPServer[ServerDeps], deps: ServerDeps) -> None:
    kit = ToolKit(deps)
    backend = deps.backend

    @server.tool(annotations=READ_ONLY, structured_output=True)
    async def list_changes(
        service: ServiceArg = None,
        kinds: Annotated[
            list[str] | None, Field(description=f"Only these kinds: {', '.join(KIND_NAMES)}.")
        ] = None,
        start: Start = None,
        end: End = None,
        limit: Annotated[int, limit_field("changes")] = 50,
    ) -> Annotated[CallToolResult, ChangeList]:
        """Deployments, configuration, feature-flag, scaling and infrastructure changes in a
        window, newest first, each with how to roll it back when the record says. A change shortly
        before the onset in the failing service (or its dependency) is the first suspect, and
        rolling it back is the first mitigation most SOPs try."""
        window = kit.window(start, end)
        kit.check_service(service)
        chosen: list[ChangeKind] | None = None
        if kinds:
            unknown = [k for k in kinds if k not in KIND_NAMES]
            if unknown:
                raise ToolError(f"unknown change kind(s) {', '.join(unknown)}; use {', '.join(KIND_NAMES)}")
            chosen = [ChangeKind(k) for k in kinds]
        changes = await kit.run(lambda: backend.list_changes(window, service, chosen))
        changes = sorted(changes, key=lambda c: c.time, reverse=True)
        out = ChangeList(
            window=kit.window_out(window),
            changes=[
                ChangeOut(
                    time=c.time,
                    service=c.service,
                    kind=c.kind.value,
                    version=c.version,
                    previous_version=c.previous_version,
                    description=c.description[:500],
                    actor=c.actor,
                    id=c.id,
                    rollback=rollback_hint(c),
                )
                for c in changes[:limit]
            ],
            has_more=len(changes) > limit,
            message=f"showing the newest {limit} of {len(changes)} changes; narrow the window or service"
            if len(changes) > limit
            else kit.data_note(window) or ("" if changes else "no changes recorded in this window"),
        )

        def render(o: ChangeList) -> str:
            lines = [f"{len(o.changes)} changes, newest first"]
            for c in o.changes:
                version = f" {c.previous_version or '?'} -> {c.version}" if c.version else ""
                lines.append(
                    f"{iso(c.time)} {c.kind} {c.service}{version} ({c.id or '-'}, by {c.actor or '?'}): {c.description}"
                    + (f"; rollback: {c.rollback}" if c.rollback else "")
                )
            return "\n".join([*lines, o.message]).strip()

        return kit.respond(
            out,
            render,
            "changes",
            untrusted=["changes[].description", "changes[].actor", "changes[].version"],
        )
