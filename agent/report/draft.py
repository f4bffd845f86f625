"""Draft the COE for one investigation, and write it as Markdown, HTML and COE JSON.

``draft_report`` is the one entry point: it measures the impact from the backend, builds the timeline,
the five-whys tree and its action items from the evidence, and (optionally) lets a narrator rewrite
the prose sections without touching their structure or citations.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from agent.report.action_items import finalize_action_items
from agent.report.cause_details import cause_details
from agent.report.charts import build_charts, incident_markers
from agent.report.customer_rca import render_customer_markdown
from agent.report.detection import enrich_detection
from agent.report.evidence_book import EvidenceBook
from agent.report.fault_sections import fault_section
from agent.report.five_whys import build_five_whys
from agent.report.impact import Measurements, measure
from agent.report.mitigation import plan_mitigation
from agent.report.model import PLACEHOLDER, Claim, IncidentReport, ReportAssessment
from agent.report.narrative import Narrator, lessons_learned, narrate, summary_claims, what_went_well
from agent.report.past_coes import load_past_coes
from agent.report.recurrence import similar_past_coes
from agent.report.render_html import render_html
from agent.report.render_markdown import render_markdown
from agent.report.skew import ComponentSkew, measure_component_skew
from agent.report.symptom import symptom_words
from agent.report.timeline import build_response_analysis, build_timeline
from agent.report.why import WhyInputs
from knowledge.documents import CoeDocument, dump_coe_json
from mcp_server.analysis.models import InvestigationResult
from mcp_server.analysis.span_totals import OUTCOMES_UNRECORDED_NOTE
from mcp_server.backends.base import TelemetryBackend
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import ServiceEdge, TimeWindow


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "incident"


def _title(result: InvestigationResult, m: Measurements) -> str:
    top = result.hypotheses[0] if result.hypotheses else None
    entry = m.impact.entry_service or (top.service if top else "service")
    seen = symptom_words(m.impact.symptom).title
    if top is None:
        return f"{seen} {entry}: cause not identified"
    where = f" ({top.component})" if top.component else ""
    if top.fault_type == FaultType.UNKNOWN:  # not "caused by unknown in adservice"
        return f"{seen} {entry} traced to {top.service}{where}: fault not identified"
    fault = top.fault_type.value.replace("_", " ")
    return f"{seen} {entry} caused by {fault} in {top.service}{where}"


def _skew(
    result: InvestigationResult, backend: TelemetryBackend, m: Measurements, book: EvidenceBook
) -> ComponentSkew | None:
    top = result.hypotheses[0] if result.hypotheses else None
    if top is None or m.onset is None:
        return None
    end = m.impact.end or m.window.end
    if end <= m.onset:
        return None
    baseline = None
    if result.baseline_window is not None:
        baseline = result.baseline_window
    elif m.onset > m.window.start:
        baseline = TimeWindow(start=m.window.start, end=m.onset)
    return measure_component_skew(
        backend, top, baseline=baseline, incident=TimeWindow(start=m.onset, end=end), book=book
    )


def _callers(result: InvestigationResult, edges: list[ServiceEdge]) -> set[str] | None:
    """Services that call the top hypothesis' service, directly or through others (None: unknown)."""
    top = result.hypotheses[0] if result.hypotheses else None
    if top is None or not edges:
        return None
    found: set[str] = set()
    frontier = {top.service}
    while frontier:
        frontier = {e.caller for e in edges if e.callee in frontier} - found - {top.service}
        found |= frontier
    return found


def _assessment(result: InvestigationResult, report: IncidentReport, m: Measurements) -> ReportAssessment:
    missing: list[str] = []
    if not m.impact.slo_names:
        missing.append(
            f"No SLO covered the affected service; impact was measured from its {m.impact_source}."
        )
    if m.failures_unrecorded:
        if OUTCOMES_UNRECORDED_NOTE not in result.notes:  # else the investigation's note says it below
            missing.append(
                f"The traces record no request outcome (no status code, HTTP or gRPC status on "
                f"{m.impact.entry_service}'s spans): failed requests could not be counted."
            )
    elif m.impact.start is None:
        missing.append(
            "Customer impact could not be measured (no bucket after onset failed clearly more than the baseline)."
        )
    if not result.alarms and not (result.detection and result.detection.first_alarm):
        missing.append("No alarm fired, or no alarm definitions were available.")
    if not result.changes:
        missing.append("No change records (deployments, config) were available for the window.")
    if not result.hypotheses:
        missing.append("The investigation produced no hypothesis.")
    elif result.hypotheses[0].verified is not True:
        missing.append("The leading hypothesis was not verified by a targeted check.")
    if m.recovery is None:
        missing.append("Recovery is not visible in the data.")
    missing.extend(n for n in result.notes if n not in missing)
    placeholders = [f"Timeline: {e.event}" for e in report.timeline if e.placeholder]
    placeholders += [
        f"Five whys {n.id}: {n.question}" for n in report.five_whys.walk() if n.needs_human_input
    ]
    for section, claims in (
        ("Summary", report.summary),
        ("Customer impact", report.customer_impact.claims),
        ("What went well", report.what_went_well),
        ("Response analysis", report.response_analysis.claims),
        ("Fault evidence", report.fault_section.claims if report.fault_section else []),
    ):
        placeholders += [f"{section}: {c.text}" for c in claims if PLACEHOLDER in c.text]
    placeholders.append(f"Owner and due date for each of the {len(report.action_items)} action items.")
    placeholders.append("Severity.")
    return ReportAssessment(missing_data=missing, placeholders=placeholders, notes=[_ranked_by(result)])


def _ranked_by(result: InvestigationResult) -> str:
    if result.reasoner == "offline":
        return "Hypotheses were ranked by the statistical engine alone, without a language model."
    return f"Hypotheses were ranked by the {result.reasoner} reasoner over the engine's findings."


def draft_report(
    result: InvestigationResult,
    backend: TelemetryBackend,
    *,
    past_coes: Sequence[CoeDocument] = (),
    narrator: Narrator | None = None,
    narrator_name: str = "narrator",
) -> IncidentReport:
    """A COE draft for ``result``; every claim cites evidence or is marked for a human to fill in."""
    book = EvidenceBook(result)
    m = measure(result, backend, book)
    result = enrich_detection(result, backend, m, book)
    skew = _skew(result, backend, m, book)
    past = list(past_coes)
    callers = _callers(result, m.edges)
    tree, tree_items = build_five_whys(
        WhyInputs(result=result, book=book, measurements=m, skew=skew, past_coes=past, callers=callers)
    )
    changes = [(f"{c.service} {c.version or c.kind}", c.time) for c in result.changes]
    first_alarm = result.detection.first_alarm_time if result.detection else None
    markers = incident_markers(
        m,
        first_alarm,
        [(label, t) for label, t in changes if m.onset is None or m.onset - timedelta(hours=2) <= t],
    )
    section = fault_section(result, backend, m, book, markers)
    plan = plan_mitigation(result, book, section)
    top = result.hypotheses[0] if result.hypotheses else None
    when = m.impact.start or m.onset or m.window.start
    title = _title(result, m)
    notes: list[str] = []
    report = IncidentReport(
        id=f"coe-{when:%Y%m%d-%H%M}-{_slug(top.service if top else 'unknown')}",
        title=title,
        date=when.date(),
        services=list(dict.fromkeys([*([top.service] if top else []), *result.affected_services])),
        fault_types=[top.fault_type] if top and top.fault_type != FaultType.UNKNOWN else [],
        summary=narrate(
            "summary",
            title,
            summary_claims(result, m, book, plan, cause_details(result, backend, m, book, callers)),
            book,
            narrator,
            notes,
        ),
        customer_impact=m.impact,
        charts=build_charts(m, markers),
        fault_section=section,
        mitigation=plan,
        timeline=build_timeline(result, m, book, plan),
        what_went_well=what_went_well(result, m, book, skew.share_evidence if skew else None, plan),
        response_analysis=build_response_analysis(result, m, book),
        five_whys=tree,
        action_items=finalize_action_items(tree_items, tree, result, plan, m.impact.symptom),
        related_coes=[c.id for c in similar_past_coes(result, past)],
        narrator=narrator_name if narrator is not None else "template",
    )
    report.lessons_learned = narrate(
        "lessons_learned", title, lessons_learned(result, tree, past), book, narrator, notes
    )
    report.evidence = book.items(_cited(report))
    report.assessment = _assessment(result, report, m)
    report.assessment.notes.extend(notes)
    return _possessives(report)


_S_POSSESSIVE = re.compile(r"\b([\w.-]*[a-z0-9]s)'s\b")
_VERBATIM = {"svg", "source_query", "id", "evidence"}  # drawings, queries and ids stay as they are


def _possessives(report: IncidentReport) -> IncidentReport:
    """ "customers's" -> "customers'": templates say "{service}'s", and many service names end in s."""

    def fix(value: object, key: str = "") -> object:
        if isinstance(value, str):
            return value if key in _VERBATIM else _S_POSSESSIVE.sub(r"\1'", value)
        if isinstance(value, list):
            return [fix(v, key) for v in value]
        if isinstance(value, dict):
            return {k: fix(v, k) for k, v in value.items()}
        return value

    return IncidentReport.model_validate(fix(report.model_dump()))


def _cited(report: IncidentReport) -> set[str]:
    ids: set[str] = set()
    claims: list[Claim] = [
        *report.summary,
        *report.customer_impact.claims,
        *report.what_went_well,
        *report.response_analysis.claims,
        *report.lessons_learned,
        *(report.fault_section.claims if report.fault_section else []),
        *(
            [report.fault_section.mitigation]
            if report.fault_section and report.fault_section.mitigation
            else []
        ),
    ]
    for claim in claims:
        ids.update(claim.evidence)
    for node in report.five_whys.walk():
        ids.update(node.evidence)
    for entry in report.timeline:
        ids.update(entry.evidence)
    for chart in report.charts:
        ids.update(chart.evidence)
    if report.fault_section is not None and report.fault_section.chart is not None:
        ids.update(report.fault_section.chart.evidence)
    if report.mitigation is not None:
        ids.update(report.mitigation.evidence)
    return ids


@dataclass(frozen=True)
class ReportPaths:
    markdown: Path
    html: Path
    json: Path
    customer_markdown: Path
    report_json: Path


def write_report(report: IncidentReport, out_dir: Path | str) -> ReportPaths:
    """Write ``<id>.md`` (+ ``charts/*.svg``), ``<id>.html``, ``<id>.coe.json`` (the knowledge base's
    COE schema), ``<id>.report.json`` (the full report) and ``<id>.customer.md`` (the customer RCA)."""
    out = Path(out_dir)
    charts_dir = out / "charts"
    charts_dir.mkdir(parents=True, exist_ok=True)
    chart_files: dict[str, str] = {}
    section_chart = report.fault_section.chart if report.fault_section else None
    for chart in [*report.charts, *([section_chart] if section_chart else [])]:
        name = f"{report.id}-{chart.id}.svg"
        (charts_dir / name).write_text(chart.svg, encoding="utf-8")
        chart_files[chart.id] = f"charts/{name}"
    paths = ReportPaths(
        markdown=out / f"{report.id}.md",
        html=out / f"{report.id}.html",
        json=out / f"{report.id}.coe.json",
        customer_markdown=out / f"{report.id}.customer.md",
        report_json=out / f"{report.id}.report.json",
    )
    paths.markdown.write_text(render_markdown(report, chart_files), encoding="utf-8")
    paths.html.write_text(render_html(report), encoding="utf-8")
    paths.json.write_text(dump_coe_json(report.to_coe()), encoding="utf-8")
    paths.customer_markdown.write_text(render_customer_markdown(report), encoding="utf-8")
    paths.report_json.write_text(
        report.model_dump_json(indent=2, exclude={"charts": {"__all__": {"svg"}}}), encoding="utf-8"
    )
    return paths


def draft_and_write(
    result: InvestigationResult,
    backend: TelemetryBackend,
    out_dir: Path | str,
    *,
    past_coes: Sequence[CoeDocument] | None = None,
    narrator: Narrator | None = None,
) -> dict[str, Path]:
    """Draft and write in one call (for the graph's report step and ``make demo``).

    Past COEs default to the bundled ones (``knowledge/coes``). Returns the written paths by format.
    """
    if past_coes is None:
        past_coes, _ = load_past_coes()
    paths = write_report(draft_report(result, backend, past_coes=past_coes, narrator=narrator), out_dir)
    return {
        "markdown": paths.markdown,
        "html": paths.html,
        "coe_json": paths.json,
        "customer_rca": paths.customer_markdown,
        "report_json": paths.report_json,
    }
