"""Changes (deployments, config, flags, scaling) shortly before the onset, per service.

A change counts by how close it came before the onset: one a minute or two before is a prime
suspect, one fifteen minutes before is background. Whether it matters is the ranking's call: a
change raises a hypothesis only on a service that also shows a symptom.
"""

from __future__ import annotations

import math
from datetime import timedelta

from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.analysis.signals import Scope, Signal, SignalKind
from mcp_server.backends.base import TelemetryBackend
from mcp_server.telemetry import ChangeEvent, TimeWindow
from mcp_server.tool_calls import tool_call

LOOKBACK = timedelta(minutes=30)
AFTER = timedelta(minutes=2)  # a change logged just after the detected onset (bucket rounding)
DECAY_MINUTES = 4.0


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


def change_signals(changes: list[ChangeEvent], scope: Scope) -> list[Signal]:
    signals = []
    for c in changes:
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
                    attributes={"change_kind": c.kind.value, "version": c.version, "id": c.id},
                ),
                hints={"change_kind": c.kind.value, "minutes_before": minutes, "text": c.description},
            )
        )
    return signals
