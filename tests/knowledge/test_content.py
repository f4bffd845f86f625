"""The bundled SOPs and COEs meet the bar set for them: coverage, order of steps, concreteness."""

import re

import pytest

from knowledge.documents import CoeDocument, SopDocument, WhyBranch
from knowledge.ingest import BUNDLED_COES, BUNDLED_SOPS, discover, load_documents
from mcp_server.taxonomy import FaultType

SOPS = [d for d in load_documents(discover([BUNDLED_SOPS]))[0] if isinstance(d, SopDocument)]
COES = [d for d in load_documents(discover([BUNDLED_COES]))[0] if isinstance(d, CoeDocument)]

REQUIRED_SOPS = {
    "sop-dynamodb-throttling",
    "sop-bad-deployment-rollback",
    "sop-az-impairment-zonal-shift",
    "sop-single-bad-host",
    "sop-memory-leak-oom",
    "sop-cpu-saturation",
    "sop-connection-pool-exhaustion",
    "sop-retry-storm-timeouts",
    "sop-certificate-expiry",
    "sop-cache-failure",
    "sop-alb-elevated-5xx",
    "sop-queue-backlog",
    "sop-third-party-api-outage",
    "sop-config-change-regression",
    "sop-latency-slo-burn",
}


def test_there_are_at_least_fifteen_sops_covering_the_required_topics_and_twelve_coes():
    assert {s.id for s in SOPS} >= REQUIRED_SOPS
    assert len(COES) >= 12


def _step_index(sop: SopDocument, pattern: str) -> int:
    for index, section in enumerate(sop.sections):
        if re.search(pattern, section.heading, re.IGNORECASE):
            return index
    raise AssertionError(f"{sop.id}: no section matching {pattern!r}")


@pytest.mark.parametrize("sop", SOPS, ids=lambda s: s.id)
def test_every_sop_asks_roll_back_first_then_shift_then_scale_and_restarts_last(sop):
    steps = [s.heading for s in sop.sections if s.heading.lower().startswith("step")]
    assert "roll back" in steps[0].lower()
    order = [
        _step_index(sop, r"roll back"),
        _step_index(sop, r"shift"),
        _step_index(sop, r"scale"),
        _step_index(sop, r"restart"),
    ]
    assert order == sorted(order)


@pytest.mark.parametrize("sop", SOPS, ids=lambda s: s.id)
def test_every_sop_gives_commands_and_a_logs_or_metrics_query_to_run(sop):
    text = "\n".join(s.body for s in sop.sections)
    assert re.search(r"\b(kubectl|aws) [a-z-]+", text), "no kubectl or aws command"
    assert "```" in text, "no copyable command block"
    assert re.search(r"fields @timestamp|AWS/[A-Za-z]+|openssl", text), "no query or metric name"
    assert sop.symptoms and sop.fault_types


@pytest.mark.parametrize("coe", COES, ids=lambda c: c.id)
def test_every_coe_has_a_branching_five_whys_and_tracked_action_items(coe):
    branches = {child.branch for child in coe.five_whys.children}
    assert len(coe.five_whys.children) >= 2
    assert WhyBranch.TRIGGER in branches and WhyBranch.DETECTION in branches
    assert len(coe.five_whys.walk()) >= 4
    assert len(coe.action_items) >= 3
    assert all(item.why_addressed and item.owner and item.validation for item in coe.action_items)
    assert coe.timeline and coe.metrics and coe.customer_impact and coe.lessons_learned


def test_coe_action_items_use_every_status_and_related_coes_exist():
    statuses = {item.status.value for coe in COES for item in coe.action_items}
    assert statuses == {"open", "done", "missed"}
    ids = {c.id for c in COES}
    assert all(related in ids for coe in COES for related in coe.related_coes)


def test_the_coes_cover_most_simulated_fault_types_and_include_distractors():
    covered = {f for coe in COES for f in coe.fault_types}
    simulated = set(FaultType) - {FaultType.UNKNOWN, FaultType.ERROR_EXCEPTION}
    assert len(covered & simulated) >= 10
    distractors = [
        c for c in COES if set(c.fault_types) <= {FaultType.INCORRECT_RESPONSE, FaultType.BAD_DEPLOYMENT}
    ]
    assert len(distractors) >= 2
