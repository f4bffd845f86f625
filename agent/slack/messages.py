"""Slack message text and Block Kit for investigations: short, evidence first, roll back first.

Every piece of text that comes from outside (alarm names and reasons, log templates such as
``<*>``, hypothesis summaries, evidence) is escaped for mrkdwn, so it shows as written and never
becomes a mention, a link or a broadcast. Hypotheses below the confidence floor are folded into
one line without buttons: nobody should be asked to accept a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from agent.service.payloads import AlarmEvent

MAX_HYPOTHESES = 3
DEFAULT_CONFIDENCE_FLOOR = 0.2
PROGRESS_LINES = 12
_SECTION_LIMIT = 2900  # Slack's section text limit is 3000

_SLACK_ID = re.compile(r"^[A-Z0-9]{2,32}$")

ReportLink = Callable[[str], str | None]  # job id -> a link to its report, if there is one


def escape(text: object) -> str:
    """mrkdwn-escape: ``&``, ``<`` and ``>`` are control characters in Slack text."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def hypothesis_key(hypothesis: dict[str, Any]) -> str:
    return f"{hypothesis['service']}/{hypothesis['fault_type']}"


def started_text(job_id: str, event: AlarmEvent) -> str:
    where = f" on *{escape(event.service)}*" if event.service else ""
    window = event.labels.get("window")
    span = f" over the last {escape(window)}" if window else ""
    reason = f" {escape(event.reason)}" if event.reason else ""
    user = event.origin.get("user", "")
    asked = f" Asked by <@{user}>." if _SLACK_ID.match(user) else ""  # a mention, so not escaped
    return (
        f":mag: Sleuth is investigating *{escape(event.alarm_name)}*{where}{span} "
        f"(investigation `{escape(job_id)}`).{reason}{asked}"
    )


def progress_text(lines: Sequence[str], *, done: bool = False) -> str:
    shown = list(lines)[-PROGRESS_LINES:]
    head = ":white_check_mark: Investigation steps" if done else ":hourglass_flowing_sand: Investigating…"
    skipped = len(lines) - len(shown)
    more = [f"_({skipped} earlier steps)_"] if skipped > 0 else []
    return "\n".join([head, *more, *(f"• {escape(line)}" for line in shown)])


def summary_blocks(
    job_id: str,
    summary: dict[str, Any],
    *,
    report_link: str | None = None,
    confidence_floor: float = DEFAULT_CONFIDENCE_FLOOR,
) -> list[dict[str, Any]]:
    """The finished investigation: top hypotheses with evidence, mitigation, buttons."""
    verdicts: dict[str, dict[str, Any]] = summary.get("verdicts") or {}
    hypotheses = list(summary.get("hypotheses", []))
    shown = [h for h in hypotheses if _confident(h, confidence_floor)][:MAX_HYPOTHESES]
    folded = [h for h in hypotheses if h not in shown]
    blocks: list[dict[str, Any]] = [
        _section(f"*{escape(summary.get('headline', 'Investigation finished'))}*"),
    ]
    for hypothesis in shown:
        blocks.append(_section(_hypothesis_text(hypothesis)))
        verdict = verdicts.get(hypothesis_key(hypothesis))
        if verdict is None:
            value = f"{job_id}|{hypothesis_key(hypothesis)}"
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        _button("Accept", "sleuth_accept", value, "primary"),
                        _button("Reject", "sleuth_reject", value, "danger"),
                    ],
                }
            )
        else:
            word = ":white_check_mark: accepted" if verdict["accepted"] else ":x: rejected"
            blocks.append(_context(f"{word} by <@{escape(verdict['user'])}>"))
    if folded:
        names = ", ".join(
            f"{escape(h['service'])} {escape(h['fault_type'])} ({h['confidence']:.0%})" for h in folded[:5]
        )
        blocks.append(
            _context(f"{len(folded)} more below {confidence_floor:.0%} confidence or unknown: {names}")
        )
    mitigations = summary.get("mitigations", [])
    if mitigations:
        steps = "\n".join(f"{i}. {escape(m)}" for i, m in enumerate(mitigations[:4], start=1))
        blocks.append(_section(f"*Mitigation, in order*\n{steps}"))
    if report_link:
        blocks.append(_context(f"<{report_link}|COE draft>"))
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


def _confident(hypothesis: dict[str, Any], floor: float) -> bool:
    return hypothesis.get("fault_type") != "unknown" and float(hypothesis.get("confidence", 0.0)) >= floor


def _hypothesis_text(hypothesis: dict[str, Any]) -> str:
    # evidence items are HypothesisView evidence (objects); summaries stored before were strings
    lines = [
        e.get("description", "") if isinstance(e, dict) else e for e in hypothesis.get("evidence", [])[:3]
    ]
    evidence = "\n".join(f"• {escape(line)}" for line in lines)
    text = (
        f"*#{hypothesis['rank']} {escape(hypothesis['service'])} — {escape(hypothesis['fault_type'])}* "
        f"(confidence {hypothesis['confidence']:.0%})\n{escape(hypothesis['summary'])}\n{evidence}"
    )
    return text[:_SECTION_LIMIT]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:_SECTION_LIMIT]}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:_SECTION_LIMIT]}]}


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
