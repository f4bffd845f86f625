from __future__ import annotations

from mcp_server.analysis.engine import investigate
from mcp_server.analysis.taxonomy import FaultType
from mcp_server.scenario import load_scenario_spec
from tests.mcp_server.analysis.synthetic import Fault, Options

THROTTLED = "ProvisionedThroughputExceededException: rate of requests exceeds the allowed throughput"


def test_throttled_dependency_ranks_its_caller_first_and_upstream_services_below(scenario_factory):
    directory, backend = scenario_factory(
        "throttle", Fault("dependency_errors", "inventory", message=THROTTLED)
    )
    result = investigate(backend, load_scenario_spec(directory))
    top = result.hypotheses[0]
    assert top.service == "inventory"
    assert top.fault_type == FaultType.DEPENDENCY_THROTTLING
    assert {h.service for h in result.hypotheses[1:]} >= {"orders", "gateway", "web"}
    assert all(h.confidence < top.confidence for h in result.hypotheses[1:])


def test_every_cited_evidence_has_an_id_and_a_source_query(scenario_factory):
    directory, backend = scenario_factory(
        "throttle", Fault("dependency_errors", "inventory", message=THROTTLED)
    )
    result = investigate(backend, load_scenario_spec(directory))
    ids = {e.id for e in result.evidence}
    assert [e.id for e in result.evidence] == [f"ev-{i}" for i in range(1, len(result.evidence) + 1)]
    for h in result.hypotheses:
        for e in h.evidence:
            assert e.id in ids
            assert e.source_query


def test_onset_is_found_without_a_trigger_time(scenario_factory):
    directory, backend = scenario_factory(
        "throttle", Fault("dependency_errors", "inventory", message=THROTTLED)
    )
    result = investigate(backend, load_scenario_spec(directory))
    assert result.onset is not None
    assert abs((result.onset - result.window["start"]).total_seconds() - 11 * 60) <= 90


def test_renaming_services_and_metrics_does_not_change_the_ranking(scenario_factory):
    fault = Fault("errors", "orders")
    rename = {
        "web": "svc-a",
        "gateway": "svc-b",
        "orders": "svc-c",
        "users": "svc-d",
        "inventory": "svc-e",
        "system.cpu.utilization": "m1",
        "requests.served": "m2",
    }
    d1, b1 = scenario_factory("plain", fault)
    d2, b2 = scenario_factory("renamed", fault, Options(rename=rename))
    first = [(h.service, h.fault_type) for h in investigate(b1, load_scenario_spec(d1)).hypotheses]
    second = [(h.service, h.fault_type) for h in investigate(b2, load_scenario_spec(d2)).hypotheses]
    assert [(rename[s], f) for s, f in first] == second
