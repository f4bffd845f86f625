"""A scripted Claude: the Messages API answered from a list, on an ``httpx2.MockTransport``.

anthropic >= 1.0 sends requests through httpx2, so the client gets an ``httpx2.Client`` whose
transport replays the script and records every request body. No network is touched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import httpx2
import respx

# a message, an HTTP error status, a transport failure, or a model: the requests so far -> a message
Step = dict[str, Any] | int | Exception | Callable[[list[dict[str, Any]]], dict[str, Any]]


def message(*blocks: dict[str, Any], stop_reason: str = "tool_use") -> dict[str, Any]:
    return {
        "id": "msg_scripted",
        "type": "message",
        "role": "assistant",
        "model": "claude-scripted",
        "content": list(blocks),
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 100, "output_tokens": 20},
    }


def tool_use(name: str, arguments: Any, use_id: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": use_id, "name": name, "input": arguments}


def text(words: str) -> dict[str, Any]:
    return {"type": "text", "text": words}


def submit(*hypotheses: dict[str, Any], use_id: str = "tu_submit") -> dict[str, Any]:
    return message(tool_use("submit_hypotheses", {"hypotheses": list(hypotheses)}, use_id))


def hypothesis(
    service: str, fault_type: str, evidence_ids: list[str], confidence: float = 0.8
) -> dict[str, Any]:
    return {
        "service": service,
        "fault_type": fault_type,
        "confidence": confidence,
        "summary": f"{fault_type} in {service}",
        "evidence_ids": evidence_ids,
    }


class ScriptedClaude:
    def __init__(self, script: list[Step]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(json.loads(request.content))
        if not self.script:
            raise AssertionError("the model was called more often than scripted")
        step = self.script.pop(0)
        if callable(step):
            step = step(self.requests)
        if isinstance(step, Exception):
            raise step
        if isinstance(step, int):
            kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(step, "api_error")
            return httpx2.Response(
                step, json={"type": "error", "error": {"type": kind, "message": "scripted"}}
            )
        return httpx2.Response(200, json=step)

    def client(self) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            api_key="test-key",
            max_retries=0,
            http_client=httpx2.Client(transport=httpx2.MockTransport(self.handle)),
        )

    def tool_results(self, request_index: int) -> list[dict[str, Any]]:
        """The tool_result blocks sent back to the model in one request."""
        last = self.requests[request_index]["messages"][-1]
        content = last["content"] if isinstance(last["content"], list) else []
        return [block for block in content if block.get("type") == "tool_result"]


def respx_transport(router: respx.Router) -> httpx2.MockTransport:
    """Route anthropic's httpx2 requests through a ``respx`` router (respx speaks httpx, not httpx2)."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        bridged = httpx.Request(
            request.method,
            str(request.url),
            headers=list(request.headers.multi_items()),
            content=request.content,
        )
        response = router.handler(bridged)
        return httpx2.Response(
            response.status_code, headers=list(response.headers.multi_items()), content=response.content
        )

    return httpx2.MockTransport(handle)
