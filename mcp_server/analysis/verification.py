"""Targeted checks: a question asked of the data about one hypothesis, or at a person's request.

Each check asks what a person would ask: "did the errors start in this service?", "was there a
deployment of it before onset?", "are the failures on one host?". The verdict is True
(confirmed), False (refuted) or None (no check applies, or the data cannot tell).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from pydantic import BaseModel, ConfigDict

from mcp_server.analysis.models import Evidence, EvidenceKind, Hypothesis
from mcp_server.analysis.signals import Scope
from mcp_server.backends.base import LogQuery, TelemetryBackend
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import TimeWindow
from mcp_server.tool_calls import tool_call

CHANGE_LOOKBACK = timedelta(hours=2)
HOST_SHARE = 0.6
LOOK_LIMIT = 20

CHANGE_FAULTS = {FaultType.BAD_DEPLOYMENT, FaultType.CONFIG_CHANGE}
ERROR_FAULTS = {
    FaultType.DEPENDENCY_THROTTLING,
    FaultType.CERTIFICATE_EXPIRY,
    FaultType.ERROR_EXCEPTION,
    FaultType.CONNECTION_POOL_EXHAUSTION,
}
PLACEMENT_FAULTS = {FaultType.SINGLE_HOST_FAILURE, FaultType.AZ_IMPAIRMENT}


class Check(BaseModel):
    """What one check found, and the query that shows it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    verdict: bool | None
    finding: str
    query: str = ""


def check_hypothesis(backend: TelemetryBackend, scope: Scope, h: Hypothesis) -> Check:
    """Test one hypothesis against the data with the check its fault type calls for."""
    if h.fault_type in CHANGE_FAULTS:
        return _check_change(backend, scope, h)
    if h.fault_type in PLACEMENT_FAULTS:
        return _check_placement(backend, scope, h)
    if h.fault_type in ERROR_FAULTS:
        return _check_error_origin(backend, scope, h)
    return Check(verdict=None, finding=f"no targeted check for {h.fault_type.value}")


def _check_change(backend: TelemetryBackend, scope: Scope, h: Hypothesis) -> Check:
    window = scope.window
    # the incident's onset, not the hypothesis' earliest signal: one early witness (a drifting metric)
    # must not place the onset before the deployment that caused it and refute the deployment
    onset = max([t for t in (h.onset, scope.onset) if t is not None], default=window.end)
    lookback = TimeWindow(
        start=window.start - CHANGE_LOOKBACK, end=max(onset, window.start) + timedelta(minutes=1)
    )
    changes = backend.list_changes(window=lookback, service=h.service)
    query = tool_call("list_changes", lookback, service=h.service)
    if changes:
        last = changes[-1]
        return Check(
            verdict=True,
            finding=f"{last.kind.value} of {h.service} at {last.time:%H:%M:%S} precedes onset",
            query=query,
        )
    return Check(
        verdict=False, finding=f"no deployment or config change of {h.service} before onset", query=query
    )


def _check_placement(backend: TelemetryBackend, scope: Scope, h: Hypothesis) -> Check:
    origins = backend.error_origins(scope.window, limit=50)
    query = tool_call("trace_hotspots", scope.window, service=h.service)
    places: Counter[str] = Counter()
    for o in origins:
        if o.service == h.service:
            places.update(o.hosts if h.fault_type is FaultType.SINGLE_HOST_FAILURE else o.availability_zones)
    total = sum(places.values())
    if not total:
        return Check(
            verdict=None, finding=f"no failing spans in {h.service} to place on a host or zone", query=query
        )
    where, count = places.most_common(1)[0]
    share = count / total
    return Check(
        verdict=True if share >= HOST_SHARE else None,
        finding=f"{share:.0%} of {h.service} failures on {where}",
        query=query,
    )


def _check_error_origin(backend: TelemetryBackend, scope: Scope, h: Hypothesis) -> Check:
    origins = backend.error_origins(scope.window, limit=50)
    query = tool_call("trace_hotspots", scope.window, service=h.service)
    mine = [o for o in origins if o.service == h.service]
    if mine:
        count = sum(o.count for o in mine)
        peers = sorted({o.peer for o in mine if o.peer})
        via = f" (calling {', '.join(peers)})" if peers else ""
        errors = f"{count} error{'' if count == 1 else 's'} originate{'s' if count == 1 else ''}"
        return Check(verdict=True, finding=f"{errors} in {h.service}{via}", query=query)
    # A callee that breaks its callers' requests (an expired certificate, a wrong answer)
    # shows up as failing client spans in the callers, with the callee as their peer.
    into = [o for o in origins if o.peer and h.service in o.peer]
    if into:
        callers = sorted({o.service for o in into})
        count = sum(o.count for o in into)
        return Check(
            verdict=True,
            finding=f"{count} errors start in calls to {h.service} from {', '.join(callers[:3])}",
            query=query,
        )
    elsewhere = sorted({o.service for o in origins})
    if elsewhere:
        return Check(
            verdict=False,
            finding=f"no errors originate in {h.service}; they originate in {', '.join(elsewhere[:3])}",
            query=query,
        )
    return Check(
        verdict=None, finding=f"no failing spans in the window to attribute to {h.service}", query=query
    )


def look_in_logs(backend: TelemetryBackend, scope: Scope, service: str | None, text: str) -> list[Evidence]:
    """Log lines matching a person's request ("also look at payments logs for 'timeout'"), as one
    evidence item with the first line quoted."""
    query = LogQuery(window=scope.window, service=service, text=text or None, limit=LOOK_LIMIT)
    records = backend.query_logs(query)
    where = service or "all services"
    description = f"{len(records)} log lines in {where} matching {text!r}" + (
        f"; first: {records[0].body[:200]}" if records else ""
    )
    return [
        Evidence(
            kind=EvidenceKind.NOTE,
            service=service,
            description=description,
            value=float(len(records)),
            source_query=tool_call("query_logs", scope.window, service=service, text=text or None),
        )
    ]
