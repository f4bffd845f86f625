"""What the timeline says began the incident when no SLI shows customer impact."""

from __future__ import annotations

from datetime import timedelta

from agent.report.evidence_book import EvidenceBook
from agent.report.timeline import _onset_event
from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.taxonomy import FaultType
from tests.agent.report.incident_fixtures import ONSET, result_for

SERVED = ONSET - timedelta(minutes=1)


def _book(*extra: Evidence) -> EvidenceBook:
    result = result_for(FaultType.BAD_DEPLOYMENT, with_change=True)
    return EvidenceBook(result.model_copy(update={"evidence": [*result.evidence, *extra]}))


def test_a_bad_deployment_that_began_the_incident_is_shown_as_its_version_first_serving():
    deployed = Evidence(
        id="ev-deploy",
        kind=EvidenceKind.CHANGE,
        service="visits",
        description="deployment on visits 2.1.0 → 2.2.0",
        time=SERVED - timedelta(minutes=1),
        attributes={"version": "2.2.0", "first_served": SERVED.isoformat()},
    )

    assert _onset_event(_book(deployed), SERVED) == ("visits 2.2.0 first serves requests", ["ev-deploy"])


def test_without_a_dated_start_the_onset_is_the_first_anomaly():
    event, cited = _onset_event(_book(), ONSET)

    assert event == "Anomaly onset" and cited
