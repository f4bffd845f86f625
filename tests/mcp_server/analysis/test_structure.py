"""Call-pattern signals: whose code path changed, and whose answers requests now stop after."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from mcp_server.analysis.structure import (
    CallChange,
    ReturnShift,
    StructureFindings,
    call_pattern_changes,
    structure_signals,
)
from mcp_server.backends.local import LocalBackend
from mcp_server.telemetry import to_nanos
from tests.mcp_server.analysis.scopes import ONSET, T0, twenty_minutes

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


def test_a_callee_that_half_the_requests_which_went_on_past_it_now_stop_after_is_blamed_not_the_caller():
    # before onset half of the requests ended after catalog and the other half went on past it;
    # two thirds of those now stop there: 33 points of all requests, short of "most of them"
    found = StructureFindings(
        changes=[CallChange("web", "page", "ads", "get", 0.23, 0.12, 900, -8.0)],
        shifts=[ReturnShift("web", "page", "catalog", 0.5, 0.83, 900)],
    )
    strengths = _by_service(found)
    assert "catalog" in strengths
    assert "web" not in strengths  # its requests stop after the callee's answers


def test_requests_that_never_reached_a_callee_do_not_count_as_going_on_past_it():
    # 40% of requests called catalog, all of them went on past it, three quarters now stop there
    reached = ReturnShift("web", "page", "catalog", 0.0, 0.3, 400, reached=0.4)
    assert reached.stops_early
    assert "catalog" in _by_service(StructureFindings(shifts=[reached]))
    # the same shift where every request called catalog is a minority of those that went on
    everyone = ReturnShift("web", "page", "catalog", 0.0, 0.3, 400, reached=1.0)
    assert not everyone.stops_early


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


def _page(trace: int, at: datetime, calls: list[str]) -> list[dict[str, Any]]:
    """One request of web "page", calling each service in turn through its own client span."""
    start = to_nanos(at)
    root = {"trace": f"{trace:032x}", "id": f"{trace:08x}00000000", "parent": "", "service": "web"}
    spans = [{**root, "name": "page", "start": start, "end": start + (len(calls) + 1) * 10_000_000}]
    for i, callee in enumerate(calls, start=1):
        client = f"{trace:08x}{i:04x}0000"
        begin, end = start + i * 10_000_000, start + i * 10_000_000 + 5_000_000
        spans.append(
            {**root, "id": client, "parent": root["id"], "name": f"{callee}.get", "start": begin, "end": end}
        )
        spans.append({**root, "id": f"{trace:08x}{i:04x}ffff", "parent": client, "service": callee,
                      "name": "get", "start": begin + 1_000_000, "end": end - 1_000_000})  # fmt: skip
    return spans


def _write_traces(directory: Path, spans: list[dict[str, Any]]) -> None:
    by_service: dict[str, list[dict[str, Any]]] = {}
    for s in spans:
        by_service.setdefault(s["service"], []).append(
            {
                "traceId": s["trace"],
                "spanId": s["id"],
                "parentSpanId": s["parent"],
                "name": s["name"],
                "startTimeUnixNano": str(s["start"]),
                "endTimeUnixNano": str(s["end"]),
            }
        )
    resources = [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
            "scopeSpans": [{"scope": {"name": "test"}, "spans": rows}],
        }
        for service, rows in by_service.items()
    ]
    (directory / "traces.jsonl").write_bytes(orjson.dumps({"resourceSpans": resources}) + b"\n")


def test_requests_read_from_traces_that_went_on_past_a_callee_and_now_stop_there_blame_the_callee(
    tmp_path: Path,
):
    # before onset 40% of requests call catalog and go on to cart, the rest call cart alone;
    # after it, three quarters of those that call catalog stop right after its answer
    spans: list[dict[str, Any]] = []
    for n in range(100):
        spans += _page(n + 1, T0 + timedelta(seconds=3 * n), ["catalog", "cart"] if n % 5 < 2 else ["cart"])
        after = ["catalog"] if n % 10 < 3 else ["catalog", "cart"] if n % 10 == 3 else ["cart"]
        spans += _page(n + 101, ONSET + timedelta(seconds=3 * n), after)
    _write_traces(tmp_path, spans)
    backend = LocalBackend.from_scenario(tmp_path)
    try:
        found = call_pattern_changes(backend, SCOPE)
    finally:
        backend.close()
    (shift,) = [s for s in found.shifts if s.callee == "catalog"]
    assert (round(shift.before, 2), round(shift.after, 2), round(shift.reached, 2)) == (0.0, 0.3, 0.4)
    strengths = {s.service: s.strength for s in structure_signals(found, SCOPE)}
    assert "catalog" in strengths
    assert "web" not in strengths
