"""Requests that did not fail more but slowed: the median latency after the onset against before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.report.evidence_book import EvidenceBook
from agent.report.impact import Measurements
from agent.report.model import CustomerImpact
from agent.report.narrative import summary_claims
from agent.report.slowdown import Slowdown, slowdown
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import TimeWindow
from tests.agent.report.incident_fixtures import result_for

T0 = datetime(2026, 1, 1, 3, 52, tzinfo=UTC)
ONSET = T0 + timedelta(seconds=100)


def _times(n: int) -> list[datetime]:
    return [T0 + timedelta(seconds=10 * i) for i in range(n)]


def test_a_median_latency_that_rose_sevenfold_after_the_onset_is_a_slowdown():
    before = [150.0, 140.0, 160.0, 139.0, 145.0, 150.0, 138.0, 142.0, 148.0, 151.0]
    after = [1200.0, 1150.0, 1100.0, 1180.0, 1151.0, 1120.0]
    assert slowdown(_times(16), before + after, ONSET, 10) == Slowdown(146.5, 1150.5)


def test_latency_that_wandered_within_its_usual_range_is_no_slowdown():
    values = [150.0, 140.0, 190.0, 139.0, 145.0, 150.0, 138.0, 182.0, 148.0, 151.0, 160.0, 149.0, 171.0]
    assert slowdown(_times(13), values, ONSET, 10) is None


def test_too_little_before_the_onset_says_nothing():
    assert slowdown(_times(4), [100.0, 900.0, 950.0, 980.0], T0 + timedelta(seconds=10), 10) is None


def test_the_summary_states_a_slowdown_when_no_more_requests_failed_and_asks_what_customers_saw():
    result = result_for(FaultType.CPU_SATURATION)
    m = Measurements(
        window=TimeWindow(start=T0, end=T0 + timedelta(minutes=4)),
        bucket_seconds=60,
        onset=ONSET,
        impact=CustomerImpact(entry_service="frontend"),
        slowed=Slowdown(139.0, 1151.0),
        impact_evidence=["ev-4"],
    )
    first = summary_claims(result, m, EvidenceBook(result))[0]

    assert first.text == (
        "Requests to frontend did not fail more than before, but they slowed: median latency rose from "
        "139 ms to 1151 ms (TBD: describe what customers saw)."
    )
    assert first.evidence == ["ev-4"] and first.needs_human_input
