"""The prose sections: a template from the evidence, or an optional narrator (an LLM) that rewrites it.

The narrator sees the template's claims and the evidence they cite and returns prose. Structure and
citations stay: the narrated section is one claim citing the union of the template claims' evidence,
and the template is kept when the narrator fails or returns nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from agent.report.evidence_book import EvidenceBook
from agent.report.impact import Measurements
from agent.report.model import PLACEHOLDER, Claim, MitigationPlan
from agent.report.recurrence import similar_past_coes
from agent.report.symptom import symptom_words
from agent.report.why import cause_phrase
from agent.report.wording import duration_phrase
from knowledge.documents import CoeDocument, WhyBranch, WhyNode
from mcp_server.analysis.models import Evidence, EvidenceKind, InvestigationResult
from mcp_server.errors import SleuthError
from mcp_server.taxonomy import FAULT_DESCRIPTIONS

NARRATED_SECTIONS = ("summary", "lessons_learned")


class NarrationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    section: str  # "summary" | "lessons_learned"
    title: str
    claims: list[Claim]
    evidence: list[Evidence]


Narrator = Callable[[NarrationRequest], str]


class NarrationError(SleuthError):
    """The narrator could not draft a section; the template text is kept."""


_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")


def _value(token: str) -> float | None:
    if ":" in token or token.count(".") > 1:
        return None  # a time or a version: compared as text
    try:
        return float(token.replace(",", ""))
    except ValueError:
        return None


def _decimals(token: str) -> int:
    return len(token.split(".")[1]) if "." in token else 0


def invented_numbers(text: str, sources: list[str]) -> list[str]:
    """Numbers (counts, percentages, times) in ``text`` that no source states, allowing rounding
    ("50%" for "50.0%"): a narrator may reword the evidence but not add facts to it. Small counting
    words written as digits (up to 10) are not checked."""
    tokens = [n for source in sources for n in _NUMBER.findall(source)]
    known_text = {t.replace(",", "") for t in tokens}
    known_values = [v for t in tokens if (v := _value(t)) is not None]
    invented = []
    for token in dict.fromkeys(_NUMBER.findall(text)):
        value = _value(token)
        if token.replace(",", "") in known_text or (value is not None and value <= 10 and token.isdigit()):
            continue
        tolerance = 0.5 * 10 ** -_decimals(token)
        if value is not None and any(abs(value - k) <= tolerance + 1e-9 for k in known_values):
            continue
        invented.append(token)
    return invented


def narrate(
    section: str,
    title: str,
    claims: list[Claim],
    book: EvidenceBook,
    narrator: Narrator | None,
    notes: list[str],
) -> list[Claim]:
    if narrator is None or not claims:
        return claims
    cited = sorted({e for c in claims for e in c.evidence})
    request = NarrationRequest(section=section, title=title, claims=claims, evidence=book.items(set(cited)))
    try:
        text = narrator(request).strip()
    except NarrationError as exc:
        notes.append(f"narrator failed on {section}, template kept: {exc}")
        return claims
    if not text:
        notes.append(f"narrator returned nothing for {section}, template kept")
        return claims
    invented = invented_numbers(text, [c.text for c in claims] + [e.description for e in request.evidence])
    if invented:
        notes.append(
            f"narrator stated numbers not in the evidence ({', '.join(invented[:5])}) on {section}, template kept"
        )
        return claims
    return [Claim(text=text, evidence=cited, needs_human_input=any(c.needs_human_input for c in claims))]


def _hhmm(moment: object) -> str:
    return f"{moment:%H:%M} UTC" if moment is not None else PLACEHOLDER


def _starting(start: datetime, resolution: int, bucket: int) -> str:
    """When impact started, as precisely as the source counted: a five-minute counter knows only
    which five minutes."""
    if resolution <= bucket:
        return f"Starting at {_hhmm(start)}"
    return (
        f"Starting between {start:%H:%M} and {start + timedelta(seconds=resolution):%H:%M} UTC (the data "
        f"counts {duration_phrase(resolution)} at a time)"
    )


def summary_claims(
    result: InvestigationResult,
    m: Measurements,
    book: EvidenceBook,
    plan: MitigationPlan | None = None,
    cause_details: list[Claim] | None = None,
) -> list[Claim]:
    """The summary: impact, the cause (then ``cause_details``: its error signature, a concurrent
    cause), detection, the mitigation and recovery."""
    impact = m.impact
    top = result.hypotheses[0] if result.hypotheses else None
    claims: list[Claim] = []
    if impact.start is not None:
        who = f"customers using {', '.join(impact.functions[:3])} on" if impact.functions else "customers of"
        slow_sli = impact.symptom == "slow responses"  # a latency SLI counted requests too slow
        saw, bad = ("slow responses", "were too slow") if slow_sli else ("failures", "failed")
        slowed = (
            f", and their median latency rose from {m.slowed.before_ms:.0f} ms to {m.slowed.after_ms:.0f} ms"
            if m.slowed is not None and not slow_sli
            else ""
        )
        claims.append(
            Claim(
                text=(
                    f"{_starting(impact.start, impact.peak_seconds or m.bucket_seconds, m.bucket_seconds)}, "
                    f"{who} {impact.entry_service} saw "
                    f"{saw} for {duration_phrase(impact.duration_seconds or 0)}: {impact.failed_requests:,} of {impact.total_requests:,} "
                    f"requests {bad} ({impact.failed_fraction or 0:.1%}){slowed}."
                ),
                evidence=m.impact_evidence,
            )
        )
    elif m.slowed is not None:
        rose = f"median latency rose from {m.slowed.before_ms:.0f} ms to {m.slowed.after_ms:.0f} ms"
        text = (
            f"Requests to {impact.entry_service} slowed: {rose}. Whether they also failed is unknown, as their "
            "spans never say how a request ended"
            if m.failures_unrecorded
            else f"Requests to {impact.entry_service} did not fail more than before, but they slowed: {rose}"
        )
        claims.append(
            Claim(
                text=f"{text} ({PLACEHOLDER}: describe what customers saw).",
                evidence=m.impact_evidence,
                needs_human_input=True,
            )
        )
    else:
        claims.append(
            Claim(
                text=f"Customer impact could not be measured from the data ({PLACEHOLDER}: describe it).",
                needs_human_input=True,
            )
        )
    if top is not None:
        claims.append(
            Claim(
                text=f"The investigation traced {symptom_words(impact.symptom).spread} to {cause_phrase(top)}",
                evidence=[
                    i
                    for i in book.hypothesis_ids(top)
                    if (e := book.get(i)) and e.kind != EvidenceKind.KNOWLEDGE
                ][:4],
            )
        )
        claims.extend(cause_details or [])
    else:
        claims.append(
            Claim(
                text=f"The investigation could not identify a root cause ({PLACEHOLDER}).",
                needs_human_input=True,
            )
        )
    detection = result.detection
    if detection is not None and detection.first_alarm and detection.first_alarm_time is not None:
        delay = detection.detection_delay_seconds
        after = f", {duration_phrase(delay)} after onset" if delay is not None and delay > 0 else ""
        claims.append(
            Claim(
                text=f"The first alarm, {detection.first_alarm}, fired at {_hhmm(detection.first_alarm_time)}{after}.",
                evidence=book.about(EvidenceKind.ALARM, detection.first_alarm) or m.impact_evidence[:1],
            )
        )
    else:
        claims.append(
            Claim(text="No alarm fired; the incident was noticed by other means.", evidence=m.impact_evidence)
        )
    if plan is not None:
        if plan.runbook_id is None:
            runbook = ""
        elif plan.is_the_runbook:
            runbook = f" ({plan.runbook_id})"
        else:
            runbook = f", following the runbook '{plan.runbook_title}' ({plan.runbook_id})"
        claims.append(
            Claim(
                text=f"The recommended mitigation is to {plan.action[0].lower()}{plan.action[1:]}{runbook}.",
                evidence=plan.evidence,
                needs_human_input=True,
            )
        )
    if m.recovery is not None:
        claims.append(
            Claim(
                text=f"Error rates returned to baseline at {_hhmm(m.recovery)}.", evidence=m.recovery_evidence
            )
        )
    else:
        claims.append(
            Claim(
                text=f"The data ends before recovery ({PLACEHOLDER}: when and how service recovered).",
                needs_human_input=True,
            )
        )
    return claims


def what_went_well(
    result: InvestigationResult,
    m: Measurements,
    book: EvidenceBook,
    skew_evidence: str | None,
    plan: MitigationPlan | None = None,
) -> list[Claim]:
    claims: list[Claim] = []
    detection = result.detection
    if detection is not None and detection.first_alarm:
        claims.append(
            Claim(
                text=f"An automatic alarm ({detection.first_alarm}) detected the problem; nobody had to notice it by hand.",
                evidence=book.about(EvidenceKind.ALARM, detection.first_alarm),
            )
        )
    top = result.hypotheses[0] if result.hypotheses else None
    verification = (
        book.find([EvidenceKind.VERIFICATION], within=book.hypothesis_ids(top), limit=2) if top else []
    )
    if top is not None and top.verified and verification:
        claims.append(
            Claim(
                text=f"The leading hypothesis ({top.service}, {top.fault_type.value}) was confirmed by a targeted check.",
                evidence=verification,
            )
        )
    if skew_evidence is not None and m.impact.failed_fraction is not None and m.impact.failed_fraction < 0.5:
        claims.append(
            Claim(
                text="The failure stayed partial: the healthy hosts or zones kept serving most requests.",
                evidence=[skew_evidence],
            )
        )
    if plan is not None and plan.runbook_id is not None:
        fault = f" for {top.fault_type.value.replace('_', ' ')}" if top is not None else ""
        steps = (
            "gives the mitigation steps"
            if plan.is_the_runbook
            else f"gives the mitigation this report recommends: {plan.action[0].lower()}{plan.action[1:]}"
        )
        claims.append(
            Claim(
                text=f"An existing runbook{fault}, '{plan.runbook_title}' ({plan.runbook_id}), {steps}.",
                evidence=plan.evidence[:1],
            )
        )
    if m.recovery is not None:
        claims.append(
            Claim(text=f"Service recovered fully by {_hhmm(m.recovery)}.", evidence=m.recovery_evidence)
        )
    claims.append(
        Claim(
            text=f"{PLACEHOLDER}: what went well in the human response (communication, escalation, tooling).",
            needs_human_input=True,
        )
    )
    return claims


_BRANCH_LESSON = {
    WhyBranch.TRIGGER: "What set it off",
    WhyBranch.BLAST_RADIUS: "Why it hurt as much as it did",
    WhyBranch.DETECTION: "Why we found out late",
    WhyBranch.RECURRENCE: "Why it happened again",
}


def lessons_learned(result: InvestigationResult, tree: WhyNode, past: list[CoeDocument]) -> list[Claim]:
    claims: list[Claim] = []
    top = result.hypotheses[0] if result.hypotheses else None
    if top is not None:
        trigger = next((c for c in tree.children if c.branch == WhyBranch.TRIGGER), None)
        claims.append(
            Claim(
                text=f"{FAULT_DESCRIPTIONS[top.fault_type]} This happened here, in {top.service}.",
                evidence=trigger.evidence if trigger else [],
            )
        )
    for branch in tree.children:
        if branch.branch == WhyBranch.TRIGGER or branch.branch not in _BRANCH_LESSON:
            continue
        leaf = next((n for n in branch.walk() if not n.children and not n.needs_human_input), None)
        if leaf is None:
            continue
        claims.append(
            Claim(
                text=f"{_BRANCH_LESSON[branch.branch]}: {leaf.question} {leaf.answer}", evidence=leaf.evidence
            )
        )
    if similar_past_coes(result, past):
        claims.append(
            Claim(
                text="A similar incident has happened before: past action items need an owner who verifies they work.",
                evidence=[e for n in tree.walk() if n.branch == WhyBranch.RECURRENCE for e in n.evidence][:1],
            )
        )
    return claims
