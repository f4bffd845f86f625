"""The customer-facing RCA: impact and actions in terms of functions customers know.

Built only from safe parts (the public operations customers called, times, counts, and fixed
phrases per fault type and per five-whys branch), so no internal service, host or team name and no
blame can leak into it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agent.report.model import IncidentReport
from agent.report.symptom import symptom_words
from agent.report.wording import duration_phrase
from knowledge.documents import WhyBranch
from mcp_server.taxonomy import FaultType as F

WHY_IT_HAPPENED = {
    F.SINGLE_HOST_FAILURE: "One of the servers handling these requests failed, and traffic kept being sent to it.",
    F.AZ_IMPAIRMENT: "Infrastructure in one data-center zone was impaired, and traffic kept being sent to it.",
    F.BAD_DEPLOYMENT: "A software update introduced an error in how these requests were processed.",
    F.CONFIG_CHANGE: "A configuration change introduced an error in how these requests were processed.",
    F.DEPENDENCY_THROTTLING: "A database used by this feature reached its request capacity.",
    F.CPU_SATURATION: "The servers handling these requests ran out of processing capacity.",
    F.MEMORY_LEAK: "The servers handling these requests ran out of memory and restarted.",
    F.NETWORK_DELAY: "Network communication between parts of our system slowed down.",
    F.CONNECTION_POOL_EXHAUSTION: "Our system ran out of connections to a database it depends on.",
    F.DOWNSTREAM_TIMEOUT_RETRY_STORM: "A component slowed down, and automatic retries added more load than it could handle.",
    F.CERTIFICATE_EXPIRY: "A security certificate used between parts of our system expired.",
    F.CACHE_FAILURE: "A caching layer became unavailable, and the remaining system could not absorb the extra load.",
    F.ERROR_EXCEPTION: "A software defect caused some of these requests to fail.",
    F.INCORRECT_RESPONSE: "A software defect caused part of our system to return incorrect data.",
}
UNKNOWN_CAUSE = "We are still confirming the root cause and will update this report."
WHAT_WE_DO = {
    WhyBranch.TRIGGER: "We are fixing the underlying fault and adding tests so the same condition cannot cause it again.",
    WhyBranch.BLAST_RADIUS: "We are making our systems contain failures like this one, so a single failing part affects fewer requests.",
    WhyBranch.DETECTION: "We are improving our monitoring so that we detect and respond to problems like this faster.",
    WhyBranch.RECURRENCE: "We are completing and verifying the follow-up work from an earlier, similar event.",
    WhyBranch.OTHER: "We are reviewing the event in detail and will act on what we learn.",
}


class CustomerRca(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    what_happened: str
    why: str
    actions: list[str] = Field(default_factory=list)


def customer_rca(report: IncidentReport) -> CustomerRca:
    impact = report.customer_impact
    functions = ", ".join(f"`{f}`" for f in impact.functions[:4]) or "parts of our service"
    if impact.start is not None:
        end = f"{impact.end:%H:%M} UTC" if impact.end else "the time service was restored"
        what = (
            f"On {impact.start:%B %d, %Y}, between {impact.start:%H:%M} UTC and {end}, some requests to {functions} "
            f"{symptom_words(impact.symptom).bad_requests}: {impact.failed_requests:,} of {impact.total_requests:,} requests (about "
            f"{impact.failed_fraction or 0:.0%}) over {duration_phrase(impact.duration_seconds or 0)}."
        )
    else:
        what = f"On {report.date:%B %d, %Y}, some requests to {functions} {symptom_words(impact.symptom).bad_requests}."
    fault = report.fault_types[0] if report.fault_types else None
    why = WHY_IT_HAPPENED.get(fault, UNKNOWN_CAUSE) if fault is not None else UNKNOWN_CAUSE
    branches = {n.id: n.branch for n in report.five_whys.walk()}
    top_level = {c.id: c.branch for c in report.five_whys.children}
    seen: list[WhyBranch] = []
    for item in report.action_items:
        node_id = item.why_addressed or ""
        branch = next(
            (top_level[k] for k in top_level if node_id == k or node_id.startswith(k + ".")),
            branches.get(node_id, WhyBranch.OTHER),
        )
        if branch not in seen:
            seen.append(branch)
    return CustomerRca(
        title=f"Service disruption on {report.date:%B %d, %Y}",
        what_happened=what,
        why=why,
        actions=[WHAT_WE_DO[b] for b in seen] or [WHAT_WE_DO[WhyBranch.OTHER]],
    )


def render_customer_markdown(report: IncidentReport) -> str:
    rca = customer_rca(report)
    lines = [
        f"# {rca.title}",
        "",
        "## What happened",
        "",
        rca.what_happened,
        "",
        "## Why it happened",
        "",
        rca.why,
        "",
    ]
    lines += ["## What we are doing about it", "", *[f"- {a}" for a in rca.actions], ""]
    lines += ["We apologise for the disruption this caused and thank you for your patience.", ""]
    return "\n".join(lines)
