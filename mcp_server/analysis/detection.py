"""Detection: when the problem began versus when someone was told (the number every COE asks about)."""

from __future__ import annotations

from mcp_server.analysis.models import Detection, Hypothesis
from mcp_server.analysis.signals import Scope, StepResult


def detect(scope: Scope, hypotheses: list[Hypothesis], results: list[StepResult]) -> Detection:
    """The onset (the leading hypothesis' own, when earlier), the first alarm after it, and whether
    an SLO was breaching (taken to breach at the onset)."""
    start = hypotheses[0].onset if hypotheses and hypotheses[0].onset else scope.onset
    start = min(start, scope.onset)
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
