"""Changes (deployments, config, flags, scaling) shortly before the onset, per service.

A change counts by how close it came before the onset: one a minute or two before is a prime
suspect, one fifteen minutes before is background. Whether it matters is the ranking's call: a
change raises a hypothesis only on a service that also shows a symptom.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.analysis.signals import Scope, Signal, SignalKind
from mcp_server.backends.base import MetricQuery, TelemetryBackend
from mcp_server.errors import QueryError
from mcp_server.telemetry import ChangeEvent, ChangeKind, TimeWindow
from mcp_server.tool_calls import tool_call

LOOKBACK = timedelta(minutes=30)
AFTER = timedelta(minutes=2)  # a change logged just after the detected onset (bucket rounding)
DECAY_MINUTES = 4.0
VERSION_ATTRIBUTE = "service.version"  # OpenTelemetry's resource attribute for the running version


def proximity(change: ChangeEvent, scope: Scope) -> float:
    """1.0 at the onset, e^-1 four minutes before, a little for changes just after."""
    minutes_before = (scope.onset - change.time).total_seconds() / 60.0
    if minutes_before < 0:
        return 0.6 if -minutes_before <= AFTER.total_seconds() / 60.0 else 0.0
    return math.exp(-minutes_before / DECAY_MINUTES)


def changes_near_onset(backend: TelemetryBackend, scope: Scope) -> list[ChangeEvent]:
    start = max(scope.window.start - LOOKBACK, scope.onset - LOOKBACK)
    window = TimeWindow(start=start, end=scope.onset + AFTER)
    return backend.list_changes(window=window)


def first_served(backend: TelemetryBackend, change: ChangeEvent, scope: Scope) -> datetime | None:
    """When a deployment's new version first shows in its service's telemetry: the first bucket of the
    service's busiest metric whose resource names that ``service.version``, at or after the change.
    A rolling deployment starts minutes before its first new host serves, and a bad version's
    incident begins when it serves, not when the rollout began. None without a version or a sign."""
    if change.kind is not ChangeKind.DEPLOYMENT or not change.version:
        return None
    try:
        metrics = sorted(backend.list_metrics(change.service), key=lambda m: -m.point_count)
        if not metrics:
            return None
        series = backend.query_metrics(
            MetricQuery(
                name=metrics[0].name,
                service=change.service,
                window=TimeWindow(start=change.time, end=scope.window.end),
                statistic="count",
                attributes={VERSION_ATTRIBUTE: change.version},
            )
        )
    except QueryError:
        return None
    return min((p.time for s in series for p in s.points), default=None)


def change_signals(
    changes: list[ChangeEvent], scope: Scope, served: list[datetime | None] | None = None
) -> list[Signal]:
    """One signal per change; ``served[i]``: when the version ``changes[i]`` deployed first served."""
    served = served or [None] * len(changes)
    signals = []
    for c, first in zip(changes, served, strict=True):
        p = proximity(c, scope)
        minutes = (scope.onset - c.time).total_seconds() / 60.0
        when = f"{minutes:.1f} min before onset" if minutes >= 0 else f"{-minutes:.1f} min after onset"
        version = f" {c.previous_version or '?'} → {c.version}" if c.version else ""
        detail = f": {c.description}" if c.description else ""
        signals.append(
            Signal(
                service=c.service,
                kind=SignalKind.CHANGE,
                strength=round(p, 4),
                onset=c.time,
                evidence=Evidence(
                    kind=EvidenceKind.CHANGE,
                    service=c.service,
                    description=f"{c.kind.value} on {c.service}{version} {when}{detail}",
                    time=c.time,
                    value=round(minutes, 2),
                    source_query=tool_call("list_changes", scope.window, service=c.service),
                    attributes={"change_kind": c.kind.value, "version": c.version, "id": c.id}
                    | ({"first_served": first.isoformat()} if first is not None else {}),
                ),
                hints={"change_kind": c.kind.value, "minutes_before": minutes, "text": c.description},
            )
        )
    return signals
