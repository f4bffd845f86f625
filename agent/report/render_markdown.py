"""The COE as Markdown: the document the team edits. Citations are ``[ev-3]`` ids listed under Evidence."""

from __future__ import annotations

import re

from agent.report.action_items import TERM_MEANING, TERM_ORDER
from agent.report.model import Claim, CustomerImpact, IncidentReport
from knowledge.documents import WhyBranch, WhyNode

BRANCH_LABEL = {
    WhyBranch.TRIGGER: "trigger",
    WhyBranch.BLAST_RADIUS: "blast radius",
    WhyBranch.DETECTION: "detection",
    WhyBranch.RECURRENCE: "recurrence",
    WhyBranch.OTHER: "",
}
HUMAN = "⚠ needs human input"
_MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;"}


def cite(evidence: list[str]) -> str:
    return " " + " ".join(f"[{e}]" for e in evidence) if evidence else ""


def _claim(claim: Claim) -> str:
    flag = f" _({HUMAN})_" if claim.needs_human_input and not claim.evidence else ""
    return f"{claim.text}{cite(claim.evidence)}{flag}"


def _bullets(claims: list[Claim]) -> list[str]:
    return [f"- {_claim(c)}" for c in claims] or ["- _(none)_"]


def _tree_lines(node: WhyNode, depth: int = 0) -> list[str]:
    label = BRANCH_LABEL[node.branch]
    branch = f" `{label}`" if label and depth == 1 else ""
    flag = f" _({HUMAN})_" if node.needs_human_input else ""
    lines = [
        f"{'  ' * depth}- **{node.id} {node.question}**{branch} {node.answer}{cite(node.evidence)}{flag}"
    ]
    for child in node.children:
        lines.extend(_tree_lines(child, depth + 1))
    return lines


def _mermaid_text(text: str, limit: int = 70) -> str:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return re.sub(r'[#"<>]', lambda m: _MERMAID_ENTITIES[m.group(0)], text)


def mermaid_source(tree: WhyNode) -> str:
    """A Mermaid flowchart of the tree (renders in GitHub, GitLab and most wikis)."""
    lines = ["graph TD"]
    for node in tree.walk():
        key = "n" + node.id.replace(".", "_")
        style = ":::human" if node.needs_human_input else ""
        lines.append(
            f'  {key}["{node.id} {_mermaid_text(node.question)}<br/>{_mermaid_text(node.answer)}"]{style}'
        )
        for child in node.children:
            lines.append(f"  {key} --> n{child.id.replace('.', '_')}")
    lines.append("  classDef human stroke:#e67e22,stroke-dasharray:4 3")
    return "\n".join(lines)


def _minutes(seconds: float | None) -> str:
    return f"{seconds / 60:.0f} min" if seconds is not None else "unknown"


def impact_rows(impact: CustomerImpact) -> list[tuple[str, str]]:
    """The customer-impact table, shared by the Markdown and HTML renderers: failed of total over the
    impact window is the headline share; the worst minute is shown as what it is."""
    end = f"{impact.end:%H:%M}" if impact.end else "TBD"
    rows = [
        ("customer-facing service", impact.entry_service or ""),
        ("functions affected", ", ".join(impact.functions) or "unknown"),
        (
            "impact window",
            f"{impact.start:%Y-%m-%d %H:%M} – {end} UTC ({_minutes(impact.duration_seconds)})"
            if impact.start
            else "TBD",
        ),
        (
            "failed requests",
            f"{impact.failed_requests:,} of {impact.total_requests:,} ({impact.failed_fraction or 0:.1%}; "
            f"{impact.excess_failed_requests:,} above baseline)",
        ),
        (
            impact.peak_period,
            f"{impact.peak_bad_fraction or 0:.1%} failed (baseline {impact.baseline_bad_fraction or 0:.2%})",
        ),
    ]
    rows += [
        (
            f"also affected: {e.service}",
            f"{e.failed_requests:,} of {e.total_requests:,} requests failed ({e.failed_fraction:.1%}) "
            f"over {_minutes(e.duration_seconds)}",
        )
        for e in impact.entries[1:]
    ]
    return rows


def _fault_section(report: IncidentReport, chart_files: dict[str, str]) -> list[str]:
    section = report.fault_section
    if section is None:
        return []
    out = [f"## {section.title}", "", *_bullets(section.claims), ""]
    if section.chart is not None:
        target = chart_files.get(section.chart.id)
        out += [
            f"**{section.chart.title}.** {section.chart.caption}{cite(section.chart.evidence)}",
            "",
            f"![{section.chart.title}]({target})"
            if target
            else f"_{section.chart.title}: see the HTML report_",
            "",
        ]
    plan = report.mitigation
    if plan is not None:
        runbook = f" (runbook: {plan.runbook_title}, `{plan.runbook_id}`)" if plan.runbook_id else ""
        out += [f"**Mitigation{runbook}.** {plan.action}.{cite(plan.evidence)}", ""]
    return out


def render_markdown(report: IncidentReport, chart_files: dict[str, str] | None = None) -> str:
    chart_files = chart_files or {}
    impact = report.customer_impact
    out = [f"# {report.title}", ""]
    out += [
        f"*Correction of Error draft `{report.id}` · {report.date} · services: {', '.join(report.services) or 'unknown'}"
        f" · fault: {', '.join(f.value for f in report.fault_types) or 'unknown'} · severity: {report.severity or 'TBD'}"
        f" · drafted by Sleuth ({report.narrator})*",
        "",
        "## Summary",
        "",
        " ".join(_claim(c) for c in report.summary),
        "",
        "## Customer impact",
        "",
    ]
    if impact.start is not None:
        out += ["| measure | value |", "|---|---|"]
        out += [f"| {k} | {v} |" for k, v in impact_rows(impact)] + [""]
    out += [*_bullets(impact.claims), ""]
    out += _fault_section(report, chart_files or {})
    out += ["## Metrics and graphs", ""]
    for chart in report.charts:
        target = chart_files.get(chart.id)
        image = f"![{chart.title}]({target})" if target else f"_{chart.title}: see the HTML report_"
        marks = ", ".join(f"{m.label} {m.time:%H:%M}" for m in chart.markers)
        out += [
            f"**{chart.title}.** {chart.caption} Marked: {marks or 'nothing'}.{cite(chart.evidence)}",
            "",
            image,
            "",
        ]
    if not report.charts:
        out += ["_No series could be drawn._", ""]
    out += ["## Timeline (UTC)", "", "| time | phase | event | source |", "|---|---|---|---|"]
    for entry in report.timeline:
        when = f"{entry.time:%H:%M:%S}" if entry.time else "**TBD**"
        source = (entry.source + cite(entry.evidence)).strip() or (
            "_team to fill in_" if entry.placeholder else ""
        )
        out.append(f"| {when} | {entry.phase.value} | {entry.event} | {source} |")
    out += ["", "## What went well", "", *_bullets(report.what_went_well), ""]
    out += ["## Incident response analysis", "", *_bullets(report.response_analysis.claims), ""]
    out += [
        "## Five whys",
        "",
        "Each branch asks a separate question; every answer cites evidence or is flagged for the team.",
        "",
    ]
    out += _tree_lines(report.five_whys)
    out += ["", "```mermaid", mermaid_source(report.five_whys), "```", ""]
    out += ["## Lessons learned", "", *_bullets(report.lessons_learned), ""]
    out += ["## Action items", ""]
    for term in TERM_ORDER:
        items = [i for i in report.action_items if i.term == term]
        if not items:
            continue
        out += [
            f"**{TERM_MEANING[term].capitalize()}**",
            "",
            "| action | addresses why | owner | due | validation |",
            "|---|---|---|---|---|",
        ]
        for item in items:
            out.append(
                f"| {item.title} | {item.why_addressed or '-'} | {item.owner or 'TBD'} | {item.due or 'TBD'} | {item.validation} |"
            )
        out.append("")
    out += ["## Report assessment", "", "**Missing data**", ""]
    out += [f"- {m}" for m in report.assessment.missing_data] or ["- none"]
    out += ["", "**Placeholders to fill**", ""]
    out += [f"- [ ] {p}" for p in report.assessment.placeholders]
    out += [f"- note: {n}" for n in report.assessment.notes]
    if report.related_coes:
        out += ["", f"Related COEs: {', '.join(report.related_coes)}"]
    out += [
        "",
        "## Evidence",
        "",
        "| id | kind | service | observation | reproduce with |",
        "|---|---|---|---|---|",
    ]
    for ev in report.evidence:
        description = ev.description.replace("|", "\\|")
        query = ev.source_query.replace("|", "\\|")
        out.append(
            f'| <a id="{ev.id}"></a>{ev.id} | {ev.kind.value} | {ev.service or ""} | {description} | `{query}` |'
        )
    return "\n".join(out) + "\n"
