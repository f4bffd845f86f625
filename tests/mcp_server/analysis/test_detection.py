"""When the incident began, for the COE's time to detect."""

from __future__ import annotations

from datetime import timedelta

from mcp_server.analysis.detection import detect
from mcp_server.analysis.models import Evidence, EvidenceKind, FaultType, Hypothesis
from tests.mcp_server.analysis.scopes import ONSET, twenty_minutes


def _hypothesis(service: str, onset_minutes_before: float) -> Hypothesis:
    return Hypothesis(
        rank=1,
        service=service,
        fault_type=FaultType.MEMORY_LEAK,
        confidence=0.8,
        summary=f"{service} leaks",
        onset=ONSET - timedelta(minutes=onset_minutes_before),
    )


def test_the_incident_began_where_the_leading_cause_began_to_ramp_before_the_onset():
    scope = twenty_minutes(["cart", "web"]).model_copy(
        update={"service_starts": {"cart": ONSET - timedelta(minutes=4), "web": ONSET}}
    )
    found = detect(scope, [_hypothesis("cart", 0)], [])
    assert found.onset == ONSET - timedelta(minutes=4)


def test_a_signal_that_drifted_long_before_the_onset_does_not_move_when_it_began():
    scope = twenty_minutes(["cart", "web"]).model_copy(update={"service_starts": {"web": ONSET}})
    found = detect(scope, [_hypothesis("cart", 8)], [])  # its earliest signal: an old drift
    assert found.onset == ONSET


def _citing(fault: FaultType, *evidence: Evidence) -> Hypothesis:
    return Hypothesis(
        rank=1,
        service="billing",
        fault_type=fault,
        confidence=0.8,
        summary="billing fails",
        evidence=list(evidence),
    )


def test_the_causes_failures_that_ran_in_before_the_onset_began_the_incident():
    first = ONSET - timedelta(seconds=50)
    origin = Evidence(
        kind=EvidenceKind.ERROR_ORIGIN,
        service="billing",
        description="NPE",
        time=ONSET,
        attributes={"new": True, "ran_in_from": first.isoformat()},
    )
    chronic = origin.model_copy(update={"attributes": {"new": False}})

    assert detect(twenty_minutes(), [_citing(FaultType.ERROR_EXCEPTION, origin)], []).onset == first
    assert detect(twenty_minutes(), [_citing(FaultType.ERROR_EXCEPTION, chronic)], []).onset == ONSET


def test_a_bad_deployment_began_when_its_version_first_served_not_when_the_rollout_began():
    served = ONSET - timedelta(seconds=60)
    change = Evidence(
        kind=EvidenceKind.CHANGE,
        service="billing",
        description="deployment on billing 3.5.2 → 3.6.0",
        time=ONSET - timedelta(minutes=2, seconds=15),
        attributes={"version": "3.6.0", "first_served": served.isoformat()},
    )

    assert detect(twenty_minutes(), [_citing(FaultType.BAD_DEPLOYMENT, change)], []).onset == served
    assert detect(twenty_minutes(), [_citing(FaultType.CPU_SATURATION, change)], []).onset == ONSET
