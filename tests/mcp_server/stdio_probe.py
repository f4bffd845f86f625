"""A bare MCP client over stdio: the JSON-RPC lines an IDE sends, and what the server does.

It speaks the handshake protocol the way IDEs do and closes as soon as it has its answers,
which is what made the server crash when its background threads were still in DuckDB.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from typing import Any

HANDSHAKE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "sleuth-tests", "version": "1"},
    },
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


@dataclass
class Exchange:
    returncode: int
    answers: list[dict[str, Any]]
    stderr: str
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems


def call(request_id: int, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }


def exchange(
    command: list[str],
    requests: list[dict[str, Any]],
    env: dict[str, str] | None = None,
    timeout: float = 240,
) -> Exchange:
    """Start the server, send the handshake and ``requests``, read one answer per request, then
    close stdin at once and wait for the process to end."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    assert process.stdin is not None and process.stdout is not None
    expected = 1 + sum("id" in r for r in requests)
    for message in [HANDSHAKE, INITIALIZED, *requests]:
        process.stdin.write((json.dumps(message) + "\n").encode())
    process.stdin.flush()
    answers: list[dict[str, Any]] = []
    while len(answers) < expected:
        line = process.stdout.readline()
        if not line:
            break
        message = json.loads(line)
        if "id" in message:
            answers.append(message)
    answers.sort(key=lambda m: m["id"])  # requests are served concurrently: answers come in any order
    process.stdin.close()
    process.stdin = None  # communicate() must not flush the closed pipe
    _, err = process.communicate(timeout=timeout)
    stderr = err.decode(errors="replace")
    result = Exchange(process.returncode, answers, stderr)
    if process.returncode != 0:
        result.problems.append(f"exit code {process.returncode}")
    if len(answers) < expected:
        result.problems.append(f"{len(answers)} of {expected} answers")
    for marker in ("Traceback", "terminate called", "FATAL", "ResourceInUse"):
        if marker in stderr:
            result.problems.append(f"{marker!r} on stderr")
    return result
