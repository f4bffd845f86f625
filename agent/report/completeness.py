"""How complete a report is: every section present and every claim cited (for the eval harness).

A claim counts as cited when all its evidence ids resolve in the report's evidence, or when it is
honestly marked for a human to fill in (a placeholder is not an uncited claim). Action items count as
cited when they point at an existing five-whys node.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agent.report.model import IncidentReport

SECTIONS = (
    "title",
    "summary",
    "customer_impact",
    "metrics",
    "timeline",
    "what_went_well",
    "response_analysis",
    "five_whys",
    "lessons_learned",
    "action_items",
    "assessment",
)


class Completeness(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: float  # 0..1: half sections present, half claims cited
    missing_sections: list[str] = Field(default_factory=list)
    claims: int = 0
    uncited: list[str] = Field(default_factory=list)


def _present(report: IncidentReport) -> dict[str, bool]:
    return {
        "title": bool(report.title.strip()),
        "summary": bool(report.summary),
        "customer_impact": bool(report.customer_impact.claims),
        "metrics": any(c.svg for c in report.charts),
        "timeline": any(e.time is not None for e in report.timeline),
        "what_went_well": bool(report.what_went_well),
        "response_analysis": bool(report.response_analysis.claims),
        "five_whys": bool(report.five_whys.children),
        "lessons_learned": bool(report.lessons_learned),
        "action_items": bool(report.action_items),
        "assessment": bool(report.assessment.missing_data or report.assessment.placeholders),
    }


def assess_completeness(report: IncidentReport) -> Completeness:
    known = set(report.evidence_by_id())
    checks: list[tuple[str, bool]] = []

    def check(label: str, evidence: list[str], flagged: bool) -> None:
        cited = bool(evidence) and all(e in known for e in evidence)
        checks.append((label, cited or flagged))

    sections = [
        ("summary", report.summary),
        ("customer impact", report.customer_impact.claims),
        ("what went well", report.what_went_well),
        ("response analysis", report.response_analysis.claims),
        ("lessons learned", report.lessons_learned),
    ]
    for name, claims in sections:
        for claim in claims:
            check(f"{name}: {claim.text[:60]}", claim.evidence, claim.needs_human_input)
    for node in report.five_whys.walk():
        check(f"five whys {node.id}: {node.question[:60]}", node.evidence, node.needs_human_input)
    for entry in report.timeline:
        check(f"timeline: {entry.event[:60]}", entry.evidence, entry.placeholder)
    node_ids = {n.id for n in report.five_whys.walk()}
    for item in report.action_items:
        checks.append((f"action item: {item.title[:60]}", item.why_addressed in node_ids))
    present = _present(report)
    missing = [s for s in SECTIONS if not present[s]]
    uncited = [label for label, ok in checks if not ok]
    cited_fraction = 1 - len(uncited) / len(checks) if checks else 0.0
    score = 0.5 * (1 - len(missing) / len(SECTIONS)) + 0.5 * cited_fraction
    return Completeness(score=round(score, 4), missing_sections=missing, claims=len(checks), uncited=uncited)


def report_completeness(report: IncidentReport) -> float:
    """0..1; 1.0 means every section is present and every claim cites evidence or is flagged."""
    return assess_completeness(report).score
