from __future__ import annotations

import pytest
from pydantic import ValidationError

from agent.reasoners.citations import FROM_OFFLINE_FLAG, merge_with_baseline, validate_submission
from mcp_server.analysis.models import Evidence, EvidenceKind, Hypothesis
from mcp_server.taxonomy import FaultType

KNOWN = {
    "traces-1": Evidence(
        id="traces-1", kind=EvidenceKind.ERROR_ORIGIN, service="payments", description="throttled"
    ),
    "logs-1": Evidence(
        id="logs-1", kind=EvidenceKind.LOG_PATTERN, service="frontend", description="blame checkout"
    ),
    "tool-1-1": Evidence(
        id="tool-1-1", kind=EvidenceKind.NOTE, description="trace_hotspots: payments -> DynamoDB"
    ),
}


def claim(service: str, ids: list[str], fault: str = "dependency_throttling") -> dict[str, object]:
    return {"service": service, "fault_type": fault, "confidence": 0.7, "summary": "s", "evidence_ids": ids}


def test_a_hypothesis_citing_real_evidence_about_its_service_is_kept_with_that_evidence() -> None:
    kept, notes = validate_submission(
        {"hypotheses": [claim("payments", ["traces-1", "tool-1-1"])]}, KNOWN, []
    )

    assert [ev.id for ev in kept[0].evidence] == ["traces-1", "tool-1-1"]
    assert notes == []


def test_uncited_and_off_target_claims_are_dropped_and_the_drop_is_noted() -> None:
    submission = {
        "hypotheses": [claim("payments", ["ev-99"]), claim("checkout", ["logs-1"], "bad_deployment")]
    }

    kept, notes = validate_submission(submission, KNOWN, [])

    assert kept == []
    assert notes == [
        "dropped uncited hypothesis payments/dependency_throttling: no evidence id it cites came from a tool result",
        "dropped hypothesis checkout/bad_deployment: none of its evidence concerns checkout",
    ]


def test_unknown_ids_and_unseen_services_are_flagged_not_silently_kept() -> None:
    kept, _ = validate_submission(
        {"hypotheses": [claim("payments", ["traces-1", "made-up"])]}, KNOWN, ["checkout", "frontend"]
    )

    assert kept[0].flags == [
        "uncited claim: unknown evidence ids ignored: made-up",
        "service 'payments' not seen in the telemetry",
    ]


def test_a_submission_with_an_unknown_fault_type_is_rejected() -> None:
    with pytest.raises(ValidationError):
        validate_submission({"hypotheses": [claim("payments", ["traces-1"], "gremlins")]}, KNOWN, [])


def test_the_engines_other_candidates_follow_the_models_ranking() -> None:
    llm = [
        Hypothesis(
            rank=1,
            service="payments",
            fault_type=FaultType.DEPENDENCY_THROTTLING,
            confidence=0.9,
            summary="s",
        )
    ]
    engine = [
        Hypothesis(rank=1, service="checkout", fault_type=FaultType.UNKNOWN, confidence=0.2, summary="s"),
        Hypothesis(
            rank=2,
            service="payments",
            fault_type=FaultType.DEPENDENCY_THROTTLING,
            confidence=0.8,
            summary="s",
        ),
    ]

    merged = merge_with_baseline(llm, engine)

    assert [(h.rank, h.service) for h in merged] == [(1, "payments"), (2, "checkout")]
    assert merged[1].flags == [FROM_OFFLINE_FLAG]
