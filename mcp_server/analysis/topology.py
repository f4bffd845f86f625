"""The service call graph (from parent/child spans) and how its edges changed in the incident."""

from __future__ import annotations

from collections import defaultdict

from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.analysis.signals import Scope, Signal, SignalKind
from mcp_server.telemetry import ServiceEdge
from mcp_server.tool_calls import tool_call

CallGraph = dict[str, set[str]]


def call_graph(edges: list[ServiceEdge], *, internal_only: bool = True) -> CallGraph:
    graph: CallGraph = defaultdict(set)
    for e in edges:
        if internal_only and e.callee_is_external:
            continue
        if e.caller != e.callee:
            graph[e.caller].add(e.callee)
    return dict(graph)


def downstream(graph: CallGraph, service: str) -> set[str]:
    """Every service reachable from ``service`` (excluding itself)."""
    seen: set[str] = set()
    stack = list(graph.get(service, ()))
    while stack:
        s = stack.pop()
        if s in seen or s == service:
            continue
        seen.add(s)
        stack.extend(graph.get(s, ()))
    return seen


def depth_from_entry(graph: CallGraph) -> dict[str, int]:
    """Call depth of each service below the entry points (services nobody calls): deeper = larger."""
    callees = {c for cs in graph.values() for c in cs}
    nodes = set(graph) | callees
    roots = [n for n in nodes if n not in callees] or sorted(nodes)[:1]
    depth = dict.fromkeys(roots, 0)
    frontier = list(roots)
    while frontier:
        nxt = []
        for n in frontier:
            for c in graph.get(n, ()):
                if c not in depth:
                    depth[c] = depth[n] + 1
                    nxt.append(c)
        frontier = nxt
    return depth


def edge_signals(base: list[ServiceEdge], inc: list[ServiceEdge], scope: Scope) -> list[Signal]:
    """Edges whose error rate or latency degraded, charged to the callee (or the caller of an
    external dependency, since that is the service an operator owns)."""
    before = {(e.caller, e.callee): e for e in base}
    signals = []
    for e in inc:
        if e.requests < 5:
            continue
        b = before.get((e.caller, e.callee))
        err = e.errors / e.requests
        b_err = b.errors / b.requests if b and b.requests else 0.0
        lat_ratio = None
        if b and b.p50_ms and e.p50_ms:
            lat_ratio = e.p50_ms / b.p50_ms
        degraded_err = err - b_err >= 0.02 and err >= 2 * b_err
        degraded_lat = lat_ratio is not None and lat_ratio >= 1.5
        new_edge = b is None
        if not (degraded_err or degraded_lat or new_edge):
            continue
        owner = e.caller if e.callee_is_external else e.callee
        parts = []
        if degraded_err:
            parts.append(f"errors {err:.1%} vs {b_err:.2%}")
        if degraded_lat and lat_ratio is not None:
            parts.append(f"latency {e.p50_ms:.1f} ms vs {b.p50_ms if b else 0:.1f} ms")
        if new_edge:
            parts.append("a call edge not seen before onset")
        strength = 0.0
        if degraded_err:
            strength = max(strength, min(1.0, (err - b_err) / 0.2))
        if degraded_lat and lat_ratio is not None:
            strength = max(strength, min(1.0, (lat_ratio - 1.0) / 3.0))
        if new_edge:
            strength = max(strength, 0.2)
        signals.append(
            Signal(
                service=owner,
                kind=SignalKind.EDGE,
                strength=strength,
                onset=scope.onset,
                evidence=Evidence(
                    kind=EvidenceKind.TOPOLOGY,
                    service=owner,
                    description=f"calls {e.caller} → {e.callee}: " + "; ".join(parts),
                    time=scope.onset,
                    value=round(err, 4) if degraded_err else (round(e.p50_ms or 0.0, 3)),
                    baseline=round(b_err, 4) if degraded_err else (round(b.p50_ms or 0.0, 3) if b else None),
                    source_query=tool_call("service_map", scope.window, service=e.caller),
                    attributes={"caller": e.caller, "callee": e.callee, "external": e.callee_is_external},
                ),
                hints={
                    "caller": e.caller,
                    "callee": e.callee,
                    "external": e.callee_is_external,
                    "errors": degraded_err,
                    "latency": degraded_lat,
                    "new": new_edge,
                },
            )
        )
    return signals
