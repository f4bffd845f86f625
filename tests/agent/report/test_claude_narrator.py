"""The Claude narrator against a scripted Messages API (an httpx2 MockTransport): no network."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx2

from agent.report import draft_report
from agent.report.claude_narrator import ClaudeNarrator
from mcp_server.backends.local import LocalBackend
from mcp_server.taxonomy import FaultType
from tests.agent.report.incident_fixtures import result_for


class ScriptedMessages:
    def __init__(self, replies: list[str | int]) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(json.loads(request.content))
        reply = self.replies.pop(0)
        if isinstance(reply, int):
            return httpx2.Response(
                reply, json={"type": "error", "error": {"type": "api_error", "message": "down"}}
            )
        body = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-scripted",
            "content": [{"type": "text", "text": reply}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 10},
        }
        return httpx2.Response(200, json=body)

    def narrator(self) -> ClaudeNarrator:
        transport = httpx2.MockTransport(self.handle)
        client = anthropic.Anthropic(
            api_key="test", max_retries=0, http_client=httpx2.Client(transport=transport)
        )
        return ClaudeNarrator(client, model="claude-scripted")


def test_claude_drafts_the_summary_from_the_cited_evidence_only(incident_backend: LocalBackend) -> None:
    api = ScriptedMessages(
        ["For 20 minutes, 300 of 600 visit requests failed.", "Health checks must fail too."]
    )
    narrator = api.narrator()

    report = draft_report(
        result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2"),
        incident_backend,
        narrator=narrator,
        narrator_name=narrator.name,
    )

    assert report.summary_text() == "For 20 minutes, 300 of 600 visit requests failed."
    assert report.narrator == "anthropic:claude-scripted"
    sent = api.requests[0]
    assert "never add numbers" in sent["system"]
    prompt = sent["messages"][0]["content"]
    assert "300 of 600 requests to frontend failed" in prompt  # the measured evidence travels with the claims


def test_when_claude_is_down_the_template_is_kept_and_the_report_says_so(
    incident_backend: LocalBackend,
) -> None:
    api = ScriptedMessages([500, 500])

    report = draft_report(
        result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2"),
        incident_backend,
        narrator=api.narrator(),
    )

    assert report.summary_text().startswith("Starting at 10:30 UTC")
    assert any(n.startswith("narrator failed on summary") for n in report.assessment.notes)
