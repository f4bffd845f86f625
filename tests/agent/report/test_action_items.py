"""Action items: the immediate mitigation's done-when names what customers got, as measured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent.report.action_items import finalize_action_items
from agent.report.model import MitigationPlan
from agent.report.symptom import SymptomKind
from knowledge.documents import WhyBranch, WhyNode
from mcp_server.analysis.models import InvestigationResult
from mcp_server.telemetry import TimeWindow

START = datetime(2026, 3, 25, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("symptom", "holding"),
    [
        ("errors", "the error rate has stayed at baseline"),
        ("slow responses", "latency has stayed at baseline"),
        ("slow responses and errors", "the error rate and latency have stayed at baseline"),
        (None, "the error rate and latency have stayed at baseline"),
    ],
)
def test_the_mitigation_holds_when_what_customers_got_stays_at_baseline(
    symptom: SymptomKind | None, holding: str
) -> None:
    tree = WhyNode(
        id="1",
        question="Why did customers see a problem?",
        children=[WhyNode(id="1.1", question="Why did visits go wrong?", branch=WhyBranch.TRIGGER)],
    )
    result = InvestigationResult(window=TimeWindow(start=START, end=START + timedelta(minutes=20)))

    [item] = finalize_action_items([], tree, result, MitigationPlan(action="Scale up visits"), symptom)

    assert item.why_addressed == "1.1"
    assert item.validation == f"Done when {holding} for 24 hours with the mitigation in place."
