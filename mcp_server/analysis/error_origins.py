"""Error attribution: where errors start, not where they spread.

The backend's error origins (failing spans with no failing child) in the incident are compared
with the baseline; only origins whose rate rose significantly count, so chronic background
errors cancel out. When the origin is a client call whose callee answered without failing (a
timeout, a wrong status), or never answered, the callee is named as the suspect too.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from mcp_server.analysis.coverage import observed_minutes
from mcp_server.analysis.models import Evidence, EvidenceKind
from mcp_server.analysis.signals import Scope, Signal, SignalKind
from mcp_server.backends.base import ErrorOrigin, TelemetryBackend
from mcp_server.errors import QueryError
from mcp_server.span_conventions import peer_service
from mcp_server.telemetry import Span, SpanKind
from mcp_server.tool_calls import tool_call

ORIGIN_LIMIT = 500
FULL_ORIGIN_RATE = 1.0  # new failing spans per minute that count as a full-strength origin
# significance of the silence before, and of a pause after, an origin's first failures before the
# onset, when telling whether they are the incident's run-in (``run_in``)
RUN_IN_ALPHA = 0.05
TIMEOUT_WORDS = re.compile(r"time[d ]?out|deadline|timed out", re.IGNORECASE)


def significant_increase(observed: float, expected: float) -> bool:
    """More events than a Poisson count around ``expected`` plausibly gives (about 3 sigma)."""
    return observed - expected >= 3.0 * math.sqrt(expected + 1.0) + 2.0


@dataclass
class OriginDelta:
    service: str
    operation: str
    peer: str | None
    incident: int
    baseline: int
    rate: float  # per minute in the incident
    baseline_rate: float
    first_seen: datetime
    origin: ErrorOrigin
    callee: str | None = None  # an instrumented callee that answered without failing
    callee_status: int | None = None
    timed_out: bool = False
    kind_unknown: bool = False  # spans without a kind: client or server cannot be told apart
    # when its failures began, if they ran in before the onset (``run_in``): when the incident began
    # if this origin is its cause's; the ranking still weighs them as baseline
    ran_in_from: datetime | None = None


def _excess(d: OriginDelta) -> float:
    return max(0.0, d.rate - d.baseline_rate)


def error_origin_deltas(
    backend: TelemetryBackend, scope: Scope, incident: list[ErrorOrigin]
) -> list[OriginDelta]:
    """Of the incident window's error origins (``incident``, up to ``ORIGIN_LIMIT``), those whose
    rate rose over the baseline, largest excess first."""
    base = backend.error_origins(scope.baseline, limit=ORIGIN_LIMIT)
    base_by_key = {(o.service, o.operation, o.peer): o for o in base}
    inc_min = observed_minutes(backend, scope.incident, "spans")
    base_min = observed_minutes(backend, scope.baseline, "spans")
    starting = onset_guard(scope)
    deltas = []
    for o in incident:
        b = base_by_key.get((o.service, o.operation, o.peer))
        # an origin first seen in the last bucket before the onset is this incident's first failures
        # (the onset is known to a bucket), not the background they would hide in
        b_count = b.count if b and b.first_seen < starting else 0
        d = OriginDelta(
            service=o.service,
            operation=o.operation,
            peer=o.peer,
            incident=o.count,
            baseline=b_count,
            rate=o.count / inc_min,
            baseline_rate=b_count / base_min,
            first_seen=o.first_seen,
            origin=o,
            ran_in_from=b.first_seen if b is not None and run_in(b, o, scope) else None,
        )
        # a new origin, or one clearly above its baseline rate: background errors stay put
        if significant_increase(d.incident, d.baseline_rate * inc_min) and d.rate >= 2.0 * d.baseline_rate:
            deltas.append(d)
    deltas.sort(key=lambda d: -_excess(d))
    return deltas


def run_in(base: ErrorOrigin, incident: ErrorOrigin, scope: Scope) -> bool:
    """Whether an origin's baseline failures (``base``) are the run-in of its failures in the incident
    (``incident``): it was silent before its first failure for longer than its pace since then
    makes likely, and it kept failing up to the incident with no pause longer than the incident's
    pace makes likely (each at ``RUN_IN_ALPHA``, Poisson). A chronic failure is not silent long
    enough; a batch run that failed minutes before the onset paused too long since."""
    pace = incident.count / max(1.0, scope.incident.duration.total_seconds())
    pause = max(0.0, (incident.first_seen - base.last_seen).total_seconds())
    since_first = max(1.0, (scope.incident.end - base.first_seen).total_seconds())
    silence = max(0.0, (base.first_seen - scope.baseline.start).total_seconds())
    kept_pace = math.exp(-pace * pause) >= RUN_IN_ALPHA
    silent = math.exp(-(base.count + incident.count) / since_first * silence) < RUN_IN_ALPHA
    return kept_pace and silent


def onset_guard(scope: Scope) -> datetime:
    """The start of the baseline's last bucket: failures that begin there belong to the incident.
    (A baseline too short to spare the bucket keeps it.)"""
    guard = timedelta(seconds=scope.bucket_seconds)
    if scope.baseline.duration <= 2 * guard:
        return scope.baseline.end
    return scope.baseline.end - guard


def resolve_callees(
    backend: TelemetryBackend, deltas: list[OriginDelta], services: set[str], top: int = 8
) -> None:
    """For client-side origins, look at a sample trace: did an instrumented callee answer fine?

    A failing client span whose callee's server span did not fail (it answered a wrong status,
    or was still working when the caller gave up), or whose callee never answered at all (a TLS
    handshake or connection failure), is the callee's doing more than the caller's.
    """
    for d in deltas[:top]:
        named = peer_service(d.peer, services)
        text = f"{d.origin.sample_message} {d.origin.sample_exception}"
        try:
            spans = backend.get_trace(d.origin.sample_trace_id)
        except QueryError:
            spans = []
        origin = _find_origin_span(spans, d)
        children = _remote_children(spans, origin) if origin is not None else []
        # instrumentation without span kinds: a failing span whose call to another service was
        # answered may be the caller's own fault or the answer's; both get a share
        d.kind_unknown = origin is not None and origin.kind == SpanKind.UNSPECIFIED and bool(children)
        is_client = origin is not None and (
            origin.kind in (SpanKind.CLIENT, SpanKind.PRODUCER) or d.kind_unknown
        )
        if children and not is_client and d.peer is None:
            # a server span that failed after its calls succeeded: its own code, unless its error
            # names the service it called
            children = [c for c in children if c.service.lower() in text.lower()]
            if not children:
                continue
        if children:
            child = _follow_status(spans, children[0])
            d.callee = child.service
            d.callee_status = child.http_status
            d.timed_out = (
                origin is not None and child.end_time_unix_nano > origin.end_time_unix_nano
            ) or bool(TIMEOUT_WORDS.search(text))
        elif named is not None and named != d.service:
            d.callee = named  # the callee never answered (handshake, connection refused, timeout)
            d.timed_out = bool(TIMEOUT_WORDS.search(text))


def _remote_children(spans: list[Span], origin: Span) -> list[Span]:
    """Spans of other services called by ``origin``, latest answer first: its own children there,
    or those of its own service's child spans (a server span whose call went through a client span)."""
    own = {origin.span_id} | {
        s.span_id for s in spans if s.parent_span_id == origin.span_id and s.service == origin.service
    }
    called = [s for s in spans if s.parent_span_id in own and s.service != origin.service]
    # the last answer it got is the one it failed on
    return sorted(called, key=lambda s: -s.end_time_unix_nano)


def _follow_status(spans: list[Span], server: Span) -> Span:
    """A callee that passed on a status it got from its own callee (a proxy, a gateway) is not
    where the answer came from: follow spans carrying the same status down to the deepest."""
    status = server.http_status
    if status is None:
        return server
    by_parent: dict[str, list[Span]] = defaultdict(list)
    for s in spans:
        if s.parent_span_id:
            by_parent[s.parent_span_id].append(s)
    current = server
    for _ in range(32):
        nxt = None
        frontier = list(by_parent.get(current.span_id, []))
        while frontier and nxt is None:
            span = frontier.pop(0)
            if span.http_status != status:
                continue
            if span.service != server.service and span.service != current.service:
                nxt = span
            else:  # the same service's client span: look at what it called
                frontier.extend(by_parent.get(span.span_id, []))
        if nxt is None:
            return current
        current = nxt
    return current


def _find_origin_span(spans: list[Span], d: OriginDelta) -> Span | None:
    if d.origin.sample_span_id:  # the backend says which span (its errors may come from logs)
        named = next((s for s in spans if s.span_id == d.origin.sample_span_id), None)
        if named is not None:
            return named
    return _failing_leaf(spans, d)


def _failing_leaf(spans: list[Span], d: OriginDelta) -> Span | None:
    by_parent: dict[str, list[Span]] = defaultdict(list)
    for s in spans:
        if s.parent_span_id:
            by_parent[s.parent_span_id].append(s)
    for s in spans:
        if (
            s.service == d.service
            and s.operation == d.operation
            and s.is_error
            and not any(c.is_error for c in by_parent.get(s.span_id, []))
        ):
            return s
    return None


def error_origin_signals(deltas: list[OriginDelta], scope: Scope) -> list[Signal]:
    total = sum(_excess(d) for d in deltas) or 1.0
    signals = []
    for d in deltas:
        # a share of all new failures, scaled down when the failures themselves are few
        share = _excess(d) / total * min(1.0, _excess(d) / FULL_ORIGIN_RATE)
        o = d.origin
        text = " ".join(x for x in (o.sample_message, o.sample_exception) if x)
        where = f" calling {d.peer}" if d.peer else ""
        desc = (
            f"{d.incident} failing spans start at {d.service} {d.operation}{where} "
            f"({d.rate:.1f}/min vs {d.baseline_rate:.2f}/min before onset)"
        )
        if text:
            desc += f": {text[:160]}"
        hints = {
            "peer": d.peer,
            "operation": d.operation,
            "text": text,
            "hosts": o.hosts,
            "zones": o.availability_zones,
            "callee": d.callee,
            "callee_status": d.callee_status,
            "timed_out": d.timed_out,
            "kind_unknown": d.kind_unknown,
            "new": d.baseline == 0,
            "ran_in_from": d.ran_in_from.isoformat() if d.ran_in_from else None,
        }
        evidence = Evidence(
            kind=EvidenceKind.ERROR_ORIGIN,
            service=d.service,
            description=desc,
            time=d.first_seen,
            value=round(d.rate, 3),
            baseline=round(d.baseline_rate, 3),
            source_query=tool_call("trace_hotspots", scope.window, service=d.service, onset=scope.onset),
            attributes={k: v for k, v in hints.items() if v not in (None, {}, "")}
            | {"sample_trace_id": o.sample_trace_id},
        )
        signals.append(
            Signal(
                service=d.service,
                kind=SignalKind.ERROR_ORIGIN,
                strength=min(1.0, share),
                onset=d.first_seen,
                evidence=evidence,
                hints=hints,
            )
        )
    return signals
