"""The local backend's call graph: from spans, and from client-side metrics when there are no traces."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from evals.simulator import FaultSpec, ScenarioPlan, write_scenario
from evals.simulator.quirks import Quirks
from mcp_server.backends.local import LocalBackend
from mcp_server.taxonomy import FaultType

PLAN = ScenarioPlan(
    name="edges",
    faults=(FaultSpec(FaultType.ERROR_EXCEPTION, "visits", onset_fraction=0.6),),
    seed=5,
    size="tiny",
    minutes=10,
    red_herrings=False,
)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("edges")
    return {
        "traced": write_scenario(PLAN, root / "traced"),
        "metrics": write_scenario(replace(PLAN, quirks=Quirks(signals="metrics")), root / "metrics"),
    }


def _edges(directory: Path) -> dict[tuple[str, str], object]:
    with LocalBackend.from_scenario(directory) as backend:
        window = backend.time_range()
        assert window is not None
        return {(e.caller, e.callee): e for e in backend.service_edges(window)}


def test_without_traces_the_call_graph_comes_from_client_metrics_naming_their_peer(made):
    traced, metrics = _edges(made["traced"]), _edges(made["metrics"])
    calls = {("frontend", "api-gateway"), ("api-gateway", "visits")}  # synchronous calls of the topology
    assert calls <= set(traced) and calls <= set(metrics)
    for pair in calls:
        edge = metrics[pair]
        assert edge.requests > 0 and edge.p50_ms is None  # type: ignore[attr-defined]
        assert not edge.callee_is_external  # type: ignore[attr-defined]
    assert any(edge.callee_is_external for edge in metrics.values())  # type: ignore[attr-defined]


def test_with_traces_the_call_graph_is_the_spans_alone(made):
    traced = _edges(made["traced"])
    assert traced and all(edge.p50_ms is not None for edge in traced.values())  # type: ignore[attr-defined]


def _client_counts(caller: str, peer_attributes: dict[str, str], value: int) -> dict[str, object]:
    point = {
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in peer_attributes.items()],
        "startTimeUnixNano": "1767261600000000000",
        "timeUnixNano": "1767261660000000000",
        "asInt": str(value),
    }
    return {
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": caller}}]},
        "scopeMetrics": [
            {
                "metrics": [
                    {
                        "name": "client.request.count",
                        "unit": "{request}",
                        "sum": {"dataPoints": [point], "aggregationTemporality": 1, "isMonotonic": True},
                    }
                ]
            }
        ],
    }


def test_client_metrics_name_their_peer_by_the_current_convention_or_by_an_address_of_the_service(
    tmp_path: Path,
) -> None:
    resources = [
        _client_counts("gateway", {"service.peer.name": "orders"}, 40),
        _client_counts("gateway", {"server.address": "stock.prod.svc.cluster.local"}, 25),
        _client_counts("stock", {"server.address": "dynamodb.eu-west-1.amazonaws.com"}, 9),
        _client_counts("orders", {"peer.service": "stock"}, 7),
        _client_counts("stock", {}, 1),  # its callee unnamed: no edge
    ]
    (tmp_path / "scenario.yaml").write_text(
        "name: peers\nwindow: {start: '2026-01-01T10:00:00Z', end: '2026-01-01T10:05:00Z'}\n"
    )
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"resourceMetrics": resources}) + "\n")
    with LocalBackend.from_scenario(tmp_path) as backend:
        window = backend.time_range()
        assert window is not None
        edges = {
            (e.caller, e.callee): (e.requests, e.callee_is_external) for e in backend.service_edges(window)
        }

    assert edges == {
        ("gateway", "orders"): (40, False),
        ("gateway", "stock"): (25, False),
        ("orders", "stock"): (7, False),
        ("stock", "dynamodb.eu-west-1.amazonaws.com"): (9, True),
    }
