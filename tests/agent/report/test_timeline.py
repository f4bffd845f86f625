"""What the timeline says began the incident when no SLI shows customer impact."""

from __future__ import annotations

from datetime import timedelta

from agent.report import draft_report
from agent.report.evidence_book import EvidenceBook
from agent.report.timeline import _onset_event
from knowledge.documents import WhyBranch
from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.backends.local import LocalBackend
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


def test_an_onset_the_data_did_not_date_is_called_a_guess_and_left_for_the_team_to_confirm(
    incident_backend: LocalBackend,
) -> None:
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2")
    guessed = draft_report(result.model_copy(update={"onset_source": "default"}), incident_backend)
    dated = draft_report(result.model_copy(update={"onset_source": "detected"}), incident_backend)

    [caveat] = [c for c in guessed.response_analysis.claims if "confirm when impact began" in c.text]
    assert caveat.needs_human_input and "is the middle of the window" in caveat.text
    detection = next(n for n in guessed.five_whys.walk() if n.branch == WhyBranch.DETECTION)
    assert "a guess, the middle of the window" in detection.answer and detection.needs_human_input
    assert not any("confirm when impact began" in c.text for c in dated.response_analysis.claims)
    assert not any("a guess" in n.answer for n in dated.five_whys.walk())


def test_the_automated_diagnosis_time_is_said_in_words_never_as_zero_seconds(
    incident_backend: LocalBackend,
) -> None:
    said = {}
    for timings in ({"gather": 0.3, "rank": 0.1}, {"gather": 70.0, "rank": 5.0}):
        result = result_for(FaultType.SINGLE_HOST_FAILURE).model_copy(update={"timings": timings})
        claims = draft_report(result, incident_backend).response_analysis.claims
        said[sum(timings.values())] = next(c.text for c in claims if c.text.startswith("Time to diagnose"))

    assert said[0.4].endswith("the automated investigation needed under a second to rank visits first.")
    assert said[75.0].endswith("the automated investigation needed 75 seconds to rank visits first.")
