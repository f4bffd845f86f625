"""The entry service customers talk to, when no SLO or trigger names it: the front door of the call
graph that leads to the likeliest cause."""

from __future__ import annotations

from agent.report.customer_facing import entry_service
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import ServiceEdge
from tests.agent.report.incident_fixtures import result_for


def _edge(caller: str, callee: str, requests: int = 10) -> ServiceEdge:
    return ServiceEdge(caller=caller, callee=callee, requests=requests, errors=0)


SHOP = [
    _edge("frontend", "adservice", 281),
    _edge("frontend", "checkout", 20),
    _edge("frontend", "catalog", 2297),
    _edge("checkout", "payment", 16),
    _edge("checkout", "catalog", 47),
    _edge("batch", "payment", 3),  # another door, into payment only
]


def _asked(cause: str, affected: list[str]):  # type: ignore[no-untyped-def]
    result = result_for(FaultType.ERROR_EXCEPTION)
    top = result.hypotheses[0].model_copy(update={"service": cause})
    return result.model_copy(
        update={
            "hypotheses": [top],
            "affected_services": affected,
            "trigger": result.trigger.model_copy(update={"service": None}),
        }
    )


def test_the_door_that_leads_to_the_cause_is_the_entry_even_when_only_inner_services_moved():
    # every affected service is called by frontend, which showed no signal of its own
    result = _asked("checkout", ["checkout", "adservice", "catalog"])
    assert entry_service(result, SHOP, None) == "frontend"


def test_of_several_doors_an_affected_one_then_the_busiest_is_the_entry():
    assert entry_service(_asked("payment", ["payment", "checkout"]), SHOP, None) == "frontend"
    assert entry_service(_asked("payment", ["payment", "batch"]), SHOP, None) == "batch"


def test_a_cause_nobody_calls_is_its_own_front_door():
    assert entry_service(_asked("frontend", ["frontend", "catalog"]), SHOP, None) == "frontend"
