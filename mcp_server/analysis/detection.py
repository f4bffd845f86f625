"""Detection: when the problem began versus when someone was told (the number every COE asks about)."""

from __future__ import annotations

from datetime import datetime

from mcp_server.analysis.models import Detection, EvidenceKind, Hypothesis
from mcp_server.analysis.signals import Scope, StepResult
from mcp_server.taxonomy import FaultType


def _dated(lead: Hypothesis, kind: EvidenceKind, key: str) -> list[datetime]:
    """The moments the lead's own evidence of ``kind`` dates under ``key`` (an ISO time attribute)."""
    return [
        datetime.fromisoformat(str(e.attributes[key]))
        for e in lead.evidence
        if e.kind is kind and e.service == lead.service and e.attributes.get(key)
    ]


def detect(scope: Scope, hypotheses: list[Hypothesis], results: list[StepResult]) -> Detection:
    """When the incident began, the first alarm after the onset, and whether an SLO was breaching
    (taken to breach at the onset).

    The incident began at the onset, or earlier when the leading hypothesis' own witnesses of the
    onset's change began to move before it: a leak's memory ramp starts minutes before the errors
    it causes, and the COE's time to detect counts from there. The cause's failures that ran in
    before the onset (``error_origins.run_in``) began it where they began, and a bad deployment
    when its version first served (``changes.first_served``), perhaps before any failure showed.
    (Not from the hypothesis' earliest signal anywhere in the window: a metric that drifted long
    before is not this incident.)"""
    starts = [scope.onset]
    if hypotheses:
        lead = hypotheses[0]
        starts += [scope.service_starts[lead.service]] if lead.service in scope.service_starts else []
        starts += _dated(lead, EvidenceKind.ERROR_ORIGIN, "ran_in_from")
        if lead.fault_type is FaultType.BAD_DEPLOYMENT:
            starts += _dated(lead, EvidenceKind.CHANGE, "first_served")
    start = min(starts)
    answered = [r for r in results if r.ok]
    first = next((r.first_alarm for r in answered if r.first_alarm is not None), None)
    breaching = any(status.breaching for r in answered for status in r.slos)
    breach = scope.onset if breaching else None
    if first is None:
        return Detection(onset=start, slo_breach_time=breach)
    return Detection(
        onset=start,
        first_alarm=first.name,
        first_alarm_time=first.time,
        detection_delay_seconds=round((first.time - start).total_seconds(), 1),
        slo_breach_time=breach,
    )
