"""Slack message text and Block Kit for investigations: short, evidence first, roll back first."""

from __future__ import annotations

from typing import Any

from agent.service.payloads import AlarmEvent
from mcp_server.analysis.models import HypothesisView

MAX_HYPOTHESES = 3


def started_text(job_id: str, event: AlarmEvent) -> str:
    where = f" on *{event.service}*" if event.service else ""
    return f":mag: Sleuth is investigating *{event.alarm_name}*{where} (investigation `{job_id}`). {event.reason}".strip()


def progress_text(message: str) -> str:
    return f":hourglass_flowing_sand: {message}"


def summary_blocks(job_id: str, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The finished investigation: top hypotheses with evidence, mitigation, buttons."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*{summary.get('headline', 'Investigation finished')}*"},
        }
    ]
    for item in summary.get("hypotheses", [])[:MAX_HYPOTHESES]:
        hypothesis = HypothesisView.model_validate(item)
        evidence = "\n".join(f"• {e.description}" for e in hypothesis.evidence[:3])
        text = (
            f"*#{hypothesis.rank} {hypothesis.service} — {hypothesis.fault_type}* "
            f"(confidence {hypothesis.confidence:.0%})\n{hypothesis.summary}\n{evidence}"
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}})
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    _button("Accept", "sleuth_accept", f"{job_id}:{hypothesis.rank}", "primary"),
                    _button("Reject", "sleuth_reject", f"{job_id}:{hypothesis.rank}", "danger"),
                ],
            }
        )
    mitigations = summary.get("mitigations", [])
    if mitigations:
        steps = "\n".join(f"{i}. {m}" for i, m in enumerate(mitigations[:4], start=1))
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Mitigation, in order*\n{steps}"}}
        )
    if summary.get("report"):
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"COE draft: {summary['report']}"}]}
        )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                _button("Draft COE", "sleuth_draft_coe", job_id),
                _button(":+1:", "sleuth_feedback_up", job_id),
                _button(":-1:", "sleuth_feedback_down", job_id),
            ],
        }
    )
    return blocks


def _button(label: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button
