"""The incident report (COE draft) as data: what the renderers read and the knowledge base ingests.

Every statement the report makes is a :class:`Claim` that cites evidence ids (resolvable in
``IncidentReport.evidence``) or says plainly that a human must fill it in. The five-whys tree and the
action items reuse the knowledge base's own models, so :meth:`IncidentReport.to_coe` is lossless for
the parts a past COE needs and a finished report can be ingested as a past COE.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from agent.report.symptom import SymptomKind
from knowledge.documents import ActionItem, CoeDocument, TimelineEntry, WhyNode
from mcp_server.analysis.models import Evidence
from mcp_server.taxonomy import FaultType

PLACEHOLDER = "TBD"  # the marker a reviewer searches for


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Claim(_Model):
    """One sentence of the report with the evidence behind it."""

    text: str
    evidence: list[str] = Field(default_factory=list)
    needs_human_input: bool = False


class EntryImpact(_Model):
    """One customer-facing (entry) service over the impact window: failed of total, not the peak minute."""

    service: str
    failed_requests: int
    total_requests: int
    start: dt.datetime | None = None
    end: dt.datetime | None = None  # None: not recovered by the end of the data
    duration_seconds: float | None = None
    source: str = ""  # the SLO or span query the counts come from

    @property
    def failed_fraction(self) -> float:
        return self.failed_requests / self.total_requests if self.total_requests else 0.0


class CustomerImpact(_Model):
    """Who was hurt, how many requests failed and for how long, measured from the telemetry."""

    entry_service: str | None = None
    # what the data measured customers getting: failed requests, slow ones, or None (neither measured)
    symptom: SymptomKind | None = None
    functions: list[str] = Field(default_factory=list)  # customer-facing operations that failed or slowed
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    duration_seconds: float | None = None
    total_requests: int = 0
    failed_requests: int = 0  # bad events (errors, or too slow for a latency SLI) during the impact
    excess_failed_requests: int = 0  # above what the baseline rate would have produced
    failed_fraction: float | None = None  # failed / total over the impact window: the headline share
    peak_bad_fraction: float | None = None  # the worst single bucket, for the chart reader only
    peak_seconds: int | None = None  # the period the worst bucket covers (the source's resolution)
    entries: list[EntryImpact] = Field(default_factory=list)  # per entry service, primary first
    baseline_bad_fraction: float | None = None
    slo_names: list[str] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)

    @property
    def peak_period(self) -> str:
        """The worst bucket's name, at the resolution its source tells apart."""
        minutes = round((self.peak_seconds or 60) / 60)
        return "worst minute" if minutes <= 1 else f"worst {minutes} minutes"


class ChartMarker(_Model):
    label: str  # "onset", "first alarm", "recovery", "deployment"
    time: dt.datetime


class Chart(_Model):
    id: str
    title: str
    caption: str
    svg: str = ""  # the drawing itself; renderers embed it (HTML) or write it next to the Markdown
    markers: list[ChartMarker] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)


class FaultSection(_Model):
    """The evidence, graph and mitigation specific to the top hypothesis' fault type."""

    fault_type: FaultType
    title: str
    claims: list[Claim] = Field(default_factory=list)
    chart: Chart | None = None
    mitigation: Claim | None = None


def follow_runbook(title: str) -> str:
    """The mitigation when a runbook is all there is to follow."""
    return f"Follow the runbook '{title}'"


class MitigationPlan(_Model):
    """The mitigation the report recommends, and the runbook (SOP) it follows."""

    action: str
    runbook_id: str | None = None
    runbook_title: str | None = None
    evidence: list[str] = Field(default_factory=list)

    @property
    def is_the_runbook(self) -> bool:
        """True when the action is only "follow the runbook": no measured step beyond it."""
        return self.runbook_title is not None and self.action == follow_runbook(self.runbook_title)


class TimelinePhase(StrEnum):
    CONTEXT = (
        "context"  # something that happened nearby but is not implicated (e.g. another service's deploy)
    )
    TRIGGER = "trigger"  # a change or event that preceded the impact
    IMPACT = "impact"  # onset, SLO breach
    DETECTION = "detection"  # alarm, page, customer report
    ENGAGEMENT = "engagement"  # a human starts working on it
    DIAGNOSIS = "diagnosis"  # root cause identified
    MITIGATION = "mitigation"
    RECOVERY = "recovery"


class ReportTimelineEntry(_Model):
    time: dt.datetime | None = None  # None: a human step whose time the team must fill in
    phase: TimelinePhase
    event: str
    source: str = ""  # the alarm, query or record the fact comes from
    evidence: list[str] = Field(default_factory=list)
    placeholder: bool = False


class ResponseAnalysis(_Model):
    time_to_detect_seconds: float | None = None
    time_to_diagnose_seconds: float | None = None
    time_to_mitigate_seconds: float | None = None  # impact beginning to recovery, as in the timeline
    alarm_fired: bool | None = None
    claims: list[Claim] = Field(default_factory=list)


class ReportAssessment(_Model):
    missing_data: list[str] = Field(default_factory=list)
    placeholders: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class IncidentReport(_Model):
    """A Correction of Error draft for one incident."""

    id: str
    title: str
    date: dt.date
    severity: str | None = None
    services: list[str] = Field(default_factory=list)
    fault_types: list[FaultType] = Field(default_factory=list)
    summary: list[Claim] = Field(default_factory=list)
    customer_impact: CustomerImpact = Field(default_factory=CustomerImpact)
    charts: list[Chart] = Field(default_factory=list)
    fault_section: FaultSection | None = None
    mitigation: MitigationPlan | None = None
    timeline: list[ReportTimelineEntry] = Field(default_factory=list)
    what_went_well: list[Claim] = Field(default_factory=list)
    response_analysis: ResponseAnalysis = Field(default_factory=ResponseAnalysis)
    five_whys: WhyNode
    lessons_learned: list[Claim] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)
    assessment: ReportAssessment = Field(default_factory=ReportAssessment)
    related_coes: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)  # everything the report cites, by id
    narrator: str = "template"  # "template" or the name of the model that drafted the prose

    def evidence_by_id(self) -> dict[str, Evidence]:
        return {e.id: e for e in self.evidence}

    def summary_text(self) -> str:
        return " ".join(c.text for c in self.summary)

    def to_coe(self) -> CoeDocument:
        """The knowledge base's COE document for this report (``origin="investigation"``)."""
        timeline = [
            TimelineEntry(time=e.time, event=e.event, source=e.source or ", ".join(e.evidence))
            for e in self.timeline
            if e.time is not None
        ]
        impact = " ".join(c.text for c in self.customer_impact.claims)
        return CoeDocument(
            id=self.id,
            title=self.title,
            date=self.date,
            severity=self.severity,
            services=self.services,
            fault_types=self.fault_types,
            summary=self.summary_text() or self.title,
            customer_impact=impact,
            timeline=timeline,
            metrics=[f"{c.title}: {c.caption}" for c in self.charts],
            five_whys=self.five_whys.model_copy(deep=True),
            what_went_well=[c.text for c in self.what_went_well],
            lessons_learned=[c.text for c in self.lessons_learned],
            action_items=[a.model_copy() for a in self.action_items],
            related_coes=self.related_coes,
            origin="investigation",
        )
