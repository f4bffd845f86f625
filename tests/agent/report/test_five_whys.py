from __future__ import annotations

from datetime import date, timedelta

import pytest

from agent.report import IncidentReport, draft_report
from agent.report.five_whys import leaves
from knowledge.documents import WhyBranch
from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.backends.local import LocalBackend
from mcp_server.taxonomy import FaultType
from tests.agent.report.incident_fixtures import END, past_coe, result_for

FAULT_CASES = [
    (FaultType.SINGLE_HOST_FAILURE, "visits-2", False),
    (FaultType.BAD_DEPLOYMENT, None, True),
    (FaultType.DEPENDENCY_THROTTLING, None, False),
    (FaultType.CACHE_FAILURE, None, False),
    (FaultType.CONNECTION_POOL_EXHAUSTION, None, False),
    (FaultType.CONFIG_CHANGE, None, True),
]


@pytest.fixture(scope="module", params=FAULT_CASES, ids=lambda case: case[0].value)
def fault_report(request: pytest.FixtureRequest, incident_backend: LocalBackend) -> IncidentReport:
    """One draft per fault type, shared by the tests below (drawing charts is the slow part)."""
    fault, component, with_change = request.param
    return draft_report(result_for(fault, component=component, with_change=with_change), incident_backend)


def test_tree_has_independent_branches_and_every_leaf_has_an_action_item(
    fault_report: IncidentReport,
) -> None:
    branches = {child.branch for child in fault_report.five_whys.children}

    assert {WhyBranch.TRIGGER, WhyBranch.BLAST_RADIUS, WhyBranch.DETECTION} <= branches
    addressed = {item.why_addressed for item in fault_report.action_items}
    assert all(leaf.id in addressed for leaf in leaves(fault_report.five_whys))


def test_every_node_cites_evidence_of_this_incident_or_asks_a_human(fault_report: IncidentReport) -> None:
    known = set(fault_report.evidence_by_id())

    for node in fault_report.five_whys.walk():
        assert node.evidence or node.needs_human_input, node.question
        assert set(node.evidence) <= known, node.question


def test_single_host_blast_radius_measures_health_checks_and_the_rising_traffic_share(
    incident_backend: LocalBackend,
) -> None:
    report = draft_report(result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2"), incident_backend)

    blast = next(c for c in report.five_whys.children if c.branch == WhyBranch.BLAST_RADIUS)
    questions = [c.question for c in blast.children]
    assert "Why did health checks not take visits-2 out of service?" in questions
    share = next(c for c in blast.children if "more than its share" in c.question)
    assert "from 33% to 50%" in share.answer
    assert not share.needs_human_input


def test_trigger_chain_goes_from_the_symptom_to_the_failing_host_and_keeps_asking_past_the_telemetry(
    incident_backend: LocalBackend,
) -> None:
    report = draft_report(result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2"), incident_backend)

    trigger = next(c for c in report.five_whys.children if c.branch == WhyBranch.TRIGGER)
    chain = [trigger]
    while chain[-1].children:
        chain.append(chain[-1].children[0])
    assert [n.question for n in chain[:3]] == [
        "Why did frontend return errors to customers?",
        "Why did visits (visits-2) fail?",
        "Why did visits-2 fail?",
    ]
    assert len(chain) + 1 >= 5  # with the root: at least five whys deep
    assert chain[-1].needs_human_input


def test_a_similar_past_coe_adds_a_recurrence_branch_about_its_open_action_item(
    incident_backend: LocalBackend,
) -> None:
    report = draft_report(
        result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2"),
        incident_backend,
        past_coes=[past_coe()],
    )

    recurrence = next(c for c in report.five_whys.children if c.branch == WhyBranch.RECURRENCE)
    assert "coe-2025-visits-host" in recurrence.question
    assert recurrence.children[0].question == "Why is 'Add deep health checks to visits' still open?"
    assert report.related_coes == ["coe-2025-visits-host"]


def test_a_past_coe_of_another_fault_type_adds_no_recurrence_branch(incident_backend: LocalBackend) -> None:
    report = draft_report(
        result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2"),
        incident_backend,
        past_coes=[past_coe(FaultType.MEMORY_LEAK)],
    )

    assert WhyBranch.RECURRENCE not in {c.branch for c in report.five_whys.children}


def test_a_past_coe_dated_after_the_incident_is_no_recurrence(incident_backend: LocalBackend) -> None:
    later = past_coe().model_copy(update={"date": date(2099, 1, 1)})
    report = draft_report(
        result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2"), incident_backend, past_coes=[later]
    )

    assert WhyBranch.RECURRENCE not in {c.branch for c in report.five_whys.children}
    assert report.related_coes == []


def test_what_went_well_names_the_runbook_for_the_top_hypothesis_fault_type(
    single_host_report: IncidentReport,
) -> None:
    runbooks = [c.text for c in single_host_report.what_went_well if "runbook" in c.text]
    assert runbooks and all("sop-single-bad-host" in text for text in runbooks)
    plan = single_host_report.mitigation
    assert plan is not None and plan.runbook_id == "sop-single-bad-host"
    # the summary, the timeline and the action items name the same runbook and action
    assert "sop-single-bad-host" in single_host_report.summary_text()
    step = next(e for e in single_host_report.timeline if e.phase == "mitigation")
    assert step.source == "runbook sop-single-bad-host" and plan.action in step.event
    assert any(plan.action in item.title for item in single_host_report.action_items)


def test_without_an_alarm_the_detection_branch_asks_why_none_fired(incident_backend: LocalBackend) -> None:
    report = draft_report(
        result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2", alarm=False), incident_backend
    )

    detection = next(c for c in report.five_whys.children if c.branch == WhyBranch.DETECTION)
    no_alarm = next(c for c in detection.children if c.question == "Why did no alarm fire?")
    assert no_alarm.evidence
    assert any(i.why_addressed == no_alarm.id and "burn-rate alarm" in i.title for i in report.action_items)
    assert any("would have fired at 10:32 UTC" in c.text for c in report.response_analysis.claims)


def test_without_any_hypothesis_the_tree_flags_the_cause_for_a_human(incident_backend: LocalBackend) -> None:
    result = result_for(FaultType.SINGLE_HOST_FAILURE).model_copy(update={"hypotheses": []})

    report = draft_report(result, incident_backend)

    trigger = next(c for c in report.five_whys.children if c.branch == WhyBranch.TRIGGER)
    assert trigger.needs_human_input
    assert any(i.why_addressed == trigger.id for i in report.action_items)


def test_a_failing_host_the_hypothesis_did_not_name_is_found_in_the_data(
    incident_backend: LocalBackend,
) -> None:
    report = draft_report(result_for(FaultType.ERROR_EXCEPTION, component=None), incident_backend)

    nodes = {n.question: n for n in report.five_whys.walk()}
    where = nodes["Where in visits did the failures happen?"]
    assert where.answer.startswith("On visits-2: 100% of its requests failed")
    assert nodes["Why did health checks not take visits-2 out of service?"].branch == WhyBranch.BLAST_RADIUS


def test_an_unknown_fault_type_keeps_asking_until_a_human_gives_an_actionable_answer(
    incident_backend: LocalBackend,
) -> None:
    report = draft_report(result_for(FaultType.UNKNOWN), incident_backend)

    trigger = next(c for c in report.five_whys.children if c.branch == WhyBranch.TRIGGER)
    last = trigger.walk()[-1]
    assert last.question == "What is the underlying cause of visits' failure?"
    assert last.needs_human_input
    assert any(i.why_addressed == last.id for i in report.action_items)
    assert report.title.endswith(" traced to visits: fault not identified"), report.title


def test_evidence_without_ids_is_numbered_so_every_node_can_still_cite_it(
    incident_backend: LocalBackend,
) -> None:
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2")
    unnamed = [e.model_copy(update={"id": ""}) for e in result.evidence]
    hypotheses = [
        h.model_copy(update={"evidence": [e.model_copy(update={"id": ""}) for e in h.evidence]})
        for h in result.hypotheses
    ]

    report = draft_report(
        result.model_copy(update={"evidence": unnamed, "hypotheses": hypotheses}), incident_backend
    )

    cited = {e for n in report.five_whys.walk() for e in n.evidence}
    assert any(e.startswith("ev-auto-") for e in cited)
    assert cited <= set(report.evidence_by_id())
    assert len({e.description for e in report.evidence}) == len(report.evidence)  # the same fact once


def test_canary_and_auto_rollback_are_asked_of_the_team_not_stated_from_a_deployment_event(
    incident_backend: LocalBackend,
) -> None:
    report = draft_report(result_for(FaultType.BAD_DEPLOYMENT, with_change=True), incident_backend)

    nodes = {n.question: n for n in report.five_whys.walk()}
    canary = next(n for q, n in nodes.items() if "canary" in q)
    rollback = next(n for q, n in nodes.items() if "automatic rollback" in q)
    for node in (canary, rollback):
        assert node.needs_human_input and node.answer.startswith("TBD")
        assert "not enabled" not in node.answer and "without a canary" not in node.answer
        assert node.evidence  # the deployment is cited as what the data does show


def test_a_throttled_dependency_that_only_client_metrics_name_is_what_the_tree_asks_about(
    incident_backend: LocalBackend,
) -> None:
    result = result_for(FaultType.DEPENDENCY_THROTTLING)
    edge = Evidence(
        kind=EvidenceKind.TOPOLOGY,
        service="visits",
        description="calls visits → visits-table: errors rose",
        attributes={"caller": "visits", "callee": "visits-table", "external": True},
    )
    report = draft_report(result.model_copy(update={"evidence": [*result.evidence, edge]}), incident_backend)

    questions = [n.question for n in report.five_whys.walk()]
    assert "Why did visits-table throttle visits?" in questions
    assert not any("throttle visits?" in q and "visits-table" not in q for q in questions)


def test_without_a_named_dependency_the_tree_asks_about_the_services_dependency_not_the_service_itself(
    incident_backend: LocalBackend,
) -> None:
    report = draft_report(result_for(FaultType.DEPENDENCY_THROTTLING), incident_backend)

    questions = [n.question for n in report.five_whys.walk()]
    assert "Why did visits' dependency throttle visits?" in questions
    assert "Why did visits throttle visits?" not in questions


def test_a_node_about_the_fault_cites_the_faults_own_metric_before_others_that_moved(
    incident_backend: LocalBackend,
) -> None:
    result = result_for(FaultType.CPU_SATURATION)
    memory = Evidence(
        id="ev-mem", kind=EvidenceKind.METRIC_ANOMALY, service="visits", source_query="fixture:mem",
        description="MemoryUsage (avg) rose from 15.8 Mi to 85.9 Mi", attributes={"metric": "MemoryUsage"},
    )  # fmt: skip
    cpu = Evidence(
        id="ev-cpu", kind=EvidenceKind.METRIC_ANOMALY, service="visits", source_query="fixture:cpu",
        description="CpuUsageRate (avg) rose from 26.7 % to 80.9 %", attributes={"metric": "CpuUsageRate"},
    )  # fmt: skip
    top = result.hypotheses[0]
    top = top.model_copy(update={"evidence": [*top.evidence, memory, cpu]})
    report = draft_report(
        result.model_copy(update={"hypotheses": [top, *result.hypotheses[1:]]}), incident_backend
    )

    node = next(n for n in report.five_whys.walk() if n.question == "Why did visits saturate its CPU?")
    assert "Observed: CpuUsageRate (avg) rose" in node.answer


def test_a_network_delay_on_calls_into_the_service_asks_about_the_path_from_its_caller_and_cites_it(
    incident_backend: LocalBackend,
) -> None:
    result = result_for(FaultType.NETWORK_DELAY)
    slowed = Evidence(
        id="ev-9",
        kind=EvidenceKind.LATENCY,
        service="frontend",
        description="time between frontend GET /visits and visits: 247 ms per call vs 6 ms",
        attributes={"callee": "visits"},
        source_query="fixture:ev-9",
    )
    top = result.hypotheses[0].model_copy(update={"evidence": [*result.hypotheses[0].evidence, slowed]})
    report = draft_report(
        result.model_copy(update={"hypotheses": [top], "evidence": [*result.evidence, slowed]}),
        incident_backend,
    )

    questions = [n.question for n in report.five_whys.walk()]
    assert "Why did the network between visits and frontend slow down?" in questions
    assert "Why did the network between visits and visits slow down?" not in questions
    assert "Why did only the latency SLO notice?" not in questions  # no SLO noticed anything here
    # the hypothesis' own evidence, though recorded under the caller, is what the node observed
    network = next(n for n in report.five_whys.walk() if n.question.startswith("Why did the network"))
    assert network.evidence == ["ev-9"] and not network.needs_human_input


def test_without_measured_impact_the_no_alarm_answer_does_not_say_customers_were_affected(
    incident_backend: LocalBackend,
) -> None:
    # the onset put after the data: nothing after it is worse than before it
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2", alarm=False)
    report = draft_report(result.model_copy(update={"onset": END - timedelta(minutes=1)}), incident_backend)

    assert report.customer_impact.symptom is None
    no_alarm = next(n for n in report.five_whys.walk() if n.question == "Why did no alarm fire?")
    assert no_alarm.answer.startswith("No alarm fired during the incident.")


class _WithoutCallGraph:
    """The incident's backend, as metrics-only data without peer names leaves it: no call edges."""

    def __init__(self, backend: LocalBackend) -> None:
        self._backend = backend

    def __getattr__(self, name: str) -> object:
        return getattr(self._backend, name)

    def service_edges(self, window: object) -> list[object]:
        return []


def test_without_a_call_graph_the_tree_asks_how_services_depend_on_the_cause_instead_of_stating_it(
    incident_backend: LocalBackend,
) -> None:
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2")
    report = draft_report(result, _WithoutCallGraph(incident_backend))  # type: ignore[arg-type]

    nodes = list(report.five_whys.walk())
    assert not any("propagated up the call chain" in n.answer for n in nodes)
    assert not any(
        "services that call visits" in n.answer or "service that calls visits" in n.answer for n in nodes
    )
    moved = next(n for n in nodes if " move with visits?" in n.question)
    assert moved.needs_human_input and "no call graph" in moved.answer
