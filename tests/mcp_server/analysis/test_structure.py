"""Call-pattern signals: whose code path changed, and whose answers requests now stop after."""

from __future__ import annotations

from mcp_server.analysis.structure import CallChange, ReturnShift, StructureFindings, structure_signals
from tests.mcp_server.analysis.scopes import twenty_minutes

SCOPE = twenty_minutes()


def _by_service(found: StructureFindings) -> dict[str, float]:
    return {s.service: s.strength for s in structure_signals(found, SCOPE)}


def test_requests_of_two_services_that_now_stop_after_one_callee_blame_that_callee_alone():
    found = StructureFindings(
        changes=[CallChange("web", "page", "ads", "get", 1.0, 0.2, 100, -9.0)],
        shifts=[
            ReturnShift("web", "page", "catalog", 0.0, 0.6, 100),
            ReturnShift("checkout", "order", "catalog", 0.1, 0.7, 40),
        ],
    )
    strengths = _by_service(found)
    assert strengths["catalog"] == 1.0
    assert "web" not in strengths  # its change is explained by the callee's answers


def test_most_of_one_callers_requests_now_stopping_right_after_a_callee_blame_the_callee():
    found = StructureFindings(
        changes=[CallChange("web", "page", "catalog", "get", 4.5, 1.0, 100, -9.0)],
        shifts=[ReturnShift("web", "page", "catalog", 0.0, 0.8, 100)],
    )
    strengths = _by_service(found)
    assert strengths["catalog"] == 0.8
    assert "web" not in strengths  # it calls less because it stops after the callee's answer


def test_a_partial_shift_of_one_caller_blames_its_own_code_not_the_callee():
    found = StructureFindings(
        changes=[CallChange("web", "page", "ads", "get", 1.0, 0.3, 100, -9.0)],
        shifts=[ReturnShift("web", "page", "currency", 0.26, 0.51, 100)],
    )
    strengths = _by_service(found)
    assert "currency" not in strengths
    assert "web" in strengths


def test_an_operation_that_only_makes_more_calls_than_before_is_not_blamed_for_its_own_code():
    found = StructureFindings(changes=[CallChange("web", "page", "checkout", "order", 0.0, 0.04, 600, 8.0)])
    assert "web" not in _by_service(found)


def test_an_operation_that_calls_another_branch_instead_of_the_usual_one_is_not_blamed_for_its_own_code():
    found = StructureFindings(
        changes=[
            CallChange("ads", "get", "ads", "by_category", 0.82, 0.0, 118, -18.0),
            CallChange("ads", "get", "ads", "random", 0.45, 1.0, 118, 7.0),
        ]
    )
    assert "ads" not in _by_service(found)


def test_an_operation_that_stops_before_its_calls_is_blamed_even_when_a_rare_call_rose():
    found = StructureFindings(
        changes=[
            CallChange("web", "page", "catalog", "get", 1.0, 0.2, 300, -12.0),
            CallChange("web", "page", "cart", "get", 1.0, 0.3, 300, -10.0),
            CallChange("web", "page", "errors", "report", 0.0, 0.1, 300, 6.0),
        ]
    )
    assert "web" in _by_service(found)
