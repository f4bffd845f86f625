"""The summary's details of the cause: the likeliest cause's error signature, and a runner-up named as
a possible concurrent cause only when it stands on its own (the fixture incident: frontend calls
visits, whose host visits-2 fails every request from 10:30)."""

from __future__ import annotations

from agent.report import draft_report
from agent.report.cause_details import concurrent_cause
from mcp_server.analysis.models import Evidence, EvidenceKind, Hypothesis, InvestigationResult
from mcp_server.backends.local import LocalBackend
from mcp_server.taxonomy import FaultType
from tests.agent.report.incident_fixtures import ONSET, result_for

SECOND_CAUSE = "A second cause may have run at the same time"


def _with_runner_up(
    service: str, evidence: list[Evidence], verified: bool | None = True
) -> InvestigationResult:
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2")
    runner_up = Hypothesis(
        rank=2,
        service=service,
        fault_type=FaultType.DEPENDENCY_THROTTLING,
        confidence=0.3,
        summary=f"{service}: its table throttles its writes",
        verified=verified,
        evidence=evidence,
    )
    return result.model_copy(update={"hypotheses": [result.hypotheses[0], runner_up]})


def _own(service: str) -> Evidence:
    return Evidence(
        id="ev-own",
        kind=EvidenceKind.METRIC_ANOMALY,
        service=service,
        description=f"aws.dynamodb.throttled_requests on {service} rose from 0 to 12/s",
        time=ONSET,
    )


def test_a_confirmed_runner_up_that_does_not_call_the_cause_is_named_as_a_possible_concurrent_cause(
    incident_backend: LocalBackend,
):
    result = _with_runner_up("billing", [_own("billing")])

    report = draft_report(result, incident_backend)

    named = [c for c in report.summary if c.text.startswith(SECOND_CAUSE)]
    assert len(named) == 1
    assert "billing (dependency throttling)" in named[0].text and named[0].evidence == ["ev-own"]
    assert any("aws.dynamodb.throttled_requests" in e.description for e in report.evidence)


def test_a_runner_up_that_calls_the_cause_is_not_named_even_when_confirmed_with_its_own_evidence():
    result = _with_runner_up("frontend", [_own("frontend")])

    assert concurrent_cause(result, callers={"frontend"}) is None
    assert concurrent_cause(result, callers=set()) is not None


def test_an_unconfirmed_runner_up_is_not_named():
    result = _with_runner_up("billing", [_own("billing")], verified=None)

    assert concurrent_cause(result, callers=set()) is None


def test_a_runner_up_citing_only_symptoms_or_the_causes_own_evidence_is_not_named():
    top_evidence = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2").hypotheses[0].evidence
    symptoms = [
        Evidence(
            id="ev-edge", kind=EvidenceKind.TOPOLOGY, service="billing", description="payments -> billing 9%"
        ),
        Evidence(id="ev-slo", kind=EvidenceKind.SLO, service="billing", description="billing SLO burning"),
        Evidence(id="ev-check", kind=EvidenceKind.VERIFICATION, service="billing", description="checked"),
    ]
    shared = [e.model_copy(update={"service": "billing"}) for e in top_evidence[:1]]

    assert concurrent_cause(_with_runner_up("billing", symptoms), callers=set()) is None
    assert concurrent_cause(_with_runner_up("billing", shared), callers=set()) is None


def test_no_runner_up_is_named_when_the_call_graph_is_unknown():
    assert concurrent_cause(_with_runner_up("billing", [_own("billing")]), callers=None) is None


def test_the_summary_states_what_the_likeliest_cause_newly_fails_with_citing_the_counts(
    incident_backend: LocalBackend,
):
    report = draft_report(result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2"), incident_backend)

    claim = next(c for c in report.summary if "has failed with errors that are new" in c.text)
    cited = report.evidence_by_id()[claim.evidence[0]]
    assert claim.text.startswith("Since 10:30 UTC, visits") and "HTTP 500" in claim.text
    assert cited.attributes["http_status_codes"] == ["500"] and cited.service == "visits"
    assert not any(c.text.startswith(SECOND_CAUSE) for c in report.summary)  # frontend calls visits
