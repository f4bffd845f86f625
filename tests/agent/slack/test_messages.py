from __future__ import annotations

import json
from typing import Any

from agent.slack.messages import escape, progress_text, summary_blocks


def _hypothesis(rank: int, service: str, fault: str, confidence: float) -> dict[str, Any]:
    return {
        "rank": rank,
        "service": service,
        "fault_type": fault,
        "confidence": confidence,
        "summary": "s",
        "evidence": [],
    }


def _buttons(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        e["value"]
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "sleuth_accept"
    ]


def test_text_from_logs_and_alarms_is_escaped_for_mrkdwn() -> None:
    assert escape("<*> failed for <@U1> & <!here>") == "&lt;*&gt; failed for &lt;@U1&gt; &amp; &lt;!here&gt;"


def test_hypotheses_below_the_confidence_floor_or_unknown_are_folded_without_buttons() -> None:
    summary = {
        "headline": "h",
        "hypotheses": [
            _hypothesis(1, "payments", "dependency_throttling", 0.8),
            _hypothesis(2, "frontend", "unknown", 0.5),
            _hypothesis(3, "checkout", "bad_deployment", 0.1),
        ],
    }

    blocks = summary_blocks("job1", summary, confidence_floor=0.2)

    assert _buttons(blocks) == ["job1|payments/dependency_throttling"]
    folded = [b for b in blocks if b["type"] == "context" and "more below 20%" in json.dumps(b)]
    assert len(folded) == 1 and "checkout" in json.dumps(folded) and "frontend" in json.dumps(folded)


def test_a_hypothesis_with_a_verdict_shows_it_instead_of_buttons() -> None:
    summary = {
        "headline": "h",
        "hypotheses": [_hypothesis(1, "payments", "dependency_throttling", 0.8)],
        "verdicts": {"payments/dependency_throttling": {"accepted": False, "user": "U9"}},
    }

    blocks = summary_blocks("job1", summary)

    assert _buttons(blocks) == [] and ":x: rejected by <@U9>" in json.dumps(blocks)


def test_long_progress_keeps_the_latest_steps() -> None:
    text = progress_text([f"step {i}" for i in range(30)])

    assert "step 29" in text and "step 0\n" not in text and "(18 earlier steps)" in text
