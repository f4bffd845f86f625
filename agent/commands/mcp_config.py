"""``sleuth mcp --print-config IDE``: the IDE's MCP configuration, with absolute paths.

An IDE starts the server from a working directory of its choosing and does not activate the
venv, so a configuration that works everywhere names the executable and the data absolutely.
The README's four configurations are these renderings (a test holds them equal).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
from pathlib import Path

IDES = ("claude-code", "cursor", "kiro", "vscode")
# tools a Kiro user may approve up front: every tool only reads
AUTO_APPROVE = [
    "list_services",
    "audit_services",
    "audit_slos",
    "list_slos",
    "get_slo",
    "trace_hotspots",
    "search_traces",
    "get_trace",
    "query_logs",
    "count_logs",
    "log_patterns",
    "list_changes",
    "search_runbooks",
]


def sleuth_executable() -> str:
    """The absolute path of the ``sleuth`` script of this installation."""
    beside = Path(sys.executable).parent / "sleuth"
    if beside.is_file():
        return str(beside.absolute())
    found = shutil.which("sleuth")
    return str(Path(found).absolute()) if found else str(Path(sys.argv[0]).absolute())


def render_config(ide: str, command: str, args: list[str]) -> str:
    """The configuration text for ``ide`` that starts ``command args``."""
    if ide == "claude-code":
        return shlex.join(["claude", "mcp", "add", "sleuth", "--", command, *args])
    if ide == "cursor":
        document: dict[str, object] = {"mcpServers": {"sleuth": {"command": command, "args": args}}}
    elif ide == "kiro":
        document = {
            "mcpServers": {
                "sleuth": {
                    "command": command,
                    "args": args,
                    "disabled": False,
                    "autoApprove": AUTO_APPROVE,
                }
            }
        }
    elif ide == "vscode":
        document = {"servers": {"sleuth": {"type": "stdio", "command": command, "args": args}}}
    else:
        raise ValueError(ide)
    return _collapse_lists(json.dumps(document, indent=2))


_SCALAR_LIST = re.compile(r"\[\n(\s+\"[^\"\n]*\",?\n)+\s*\]")


def _collapse_lists(text: str) -> str:
    """Lists of strings on one line, as people write these files."""
    return _SCALAR_LIST.sub(lambda m: json.dumps(json.loads(m.group(0))), text)


def where_it_goes(ide: str) -> str:
    return {
        "claude-code": "run this command (add --scope project to share it through .mcp.json)",
        "cursor": "save as .cursor/mcp.json in the project (or ~/.cursor/mcp.json)",
        "kiro": "save as .kiro/settings/mcp.json in the workspace (or ~/.kiro/settings/mcp.json)",
        "vscode": "save as .vscode/mcp.json in the workspace",
    }[ide]
