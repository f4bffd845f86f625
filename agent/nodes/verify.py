"""Verify: test the top hypotheses against the data with targeted queries, revise, loop.

Each check asks one question a person would ask: "did the errors start in this service?",
"was there a deployment of it before onset?", "are the failures on one host?". A refuted
hypothesis drops below the others; an untestable one stays where it was. The loop continues
while the leading hypothesis is refuted and the budget allows.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from typing import Any, Literal

from langgraph.runtime import Runtime

from agent.context import InvestigationDeps
from agent.events import finding, note, step_finished, step_started
from agent.nodes.common import budget_use, deps_of, emit
from agent.reasoners.offline import REVIEWER_REJECTED, rerank
from agent.state import InvestigationState, Scope, hypothesis_key
from mcp_server.analysis.models import Evidence, EvidenceKind, Hypothesis
from mcp_server.analysis.taxonomy import FaultType
from mcp_server.backends.base import TelemetryBackend
from mcp_server.telemetry import TimeWindow
from mcp_server.tool_calls import tool_call

STEP = "verify"
PER_ROUND = 3
REFUTED_FACTOR = 0.6
CHANGE_LOOKBACK = timedelta(hours=2)
HOST_SHARE = 0.6

CHANGE_FAULTS = {FaultType.BAD_DEPLOYMENT, FaultType.CONFIG_CHANGE}
ERROR_FAULTS = {
    FaultType.DEPENDENCY_THROTTLING,
    FaultType.CERTIFICATE_EXPIRY,
    FaultType.ERROR_EXCEPTION,
    FaultType.CONNECTION_POOL_EXHAUSTION,
}
PLACEMENT_FAULTS = {FaultType.SINGLE_HOST_FAILURE, FaultType.AZ_IMPAIRMENT}


def check_hypothesis(backend: TelemetryBackend, scope: Scope, h: Hypothesis) -> tuple[bool | None, str, str]:
    """(verdict, what was found, the query that shows it). None: no check applies or it is inconclusive."""
    window = scope.window
    onset = h.onset or scope.onset or window.end
    if h.fault_type in CHANGE_FAULTS:
        lookback = TimeWindow(
            start=window.start - CHANGE_LOOKBACK, end=max(onset, window.start) + timedelta(minutes=1)
        )
        changes = backend.list_changes(window=lookback, service=h.service)
        query = tool_call("list_changes", lookback, service=h.service)
        if changes:
            last = changes[-1]
            return True, f"{last.kind.value} of {h.service} at {last.time:%H:%M:%S} precedes onset", query
        return False, f"no deployment or config change of {h.service} before onset", query
    if h.fault_type in ERROR_FAULTS | PLACEMENT_FAULTS:
        origins = backend.error_origins(window, limit=50)
        query = tool_call("trace_hotspots", window, service=h.service)
        mine = [o for o in origins if o.service == h.service]
        if h.fault_type in PLACEMENT_FAULTS:
            places: Counter[str] = Counter()
            for o in mine:
                places.update(
                    o.hosts if h.fault_type is FaultType.SINGLE_HOST_FAILURE else o.availability_zones
                )
            total = sum(places.values())
            if not total:
                return None, f"no failing spans in {h.service} to place on a host or zone", query
            where, count = places.most_common(1)[0]
            share = count / total
            return (
                (True if share >= HOST_SHARE else None),
                f"{share:.0%} of {h.service} failures on {where}",
                query,
            )
        if mine:
            count = sum(o.count for o in mine)
            peers = sorted({o.peer for o in mine if o.peer})
            via = f" (calling {', '.join(peers)})" if peers else ""
            return (
                True,
                f"{count} error{'' if count == 1 else 's'} originate{'s' if count == 1 else ''} in {h.service}{via}",
                query,
            )
        # A callee that breaks its callers' requests (an expired certificate, a wrong answer)
        # shows up as failing client spans in the callers, with the callee as their peer.
        into = [o for o in origins if o.peer and h.service in o.peer]
        if into:
            callers = sorted({o.service for o in into})
            count = sum(o.count for o in into)
            return True, f"{count} errors start in calls to {h.service} from {', '.join(callers[:3])}", query
        elsewhere = sorted({o.service for o in origins})
        if elsewhere:
            return (
                False,
                f"no errors originate in {h.service}; they originate in {', '.join(elsewhere[:3])}",
                query,
            )
        return None, f"no failing spans in the window to attribute to {h.service}", query
    return None, f"no targeted check for {h.fault_type.value}", ""


def verify_node(state: InvestigationState, runtime: Runtime[InvestigationDeps]) -> dict[str, Any]:
    deps = deps_of(runtime)
    if state.scope is None:
        raise RuntimeError("verify needs a scope")
    round_no = state.verify_rounds + 1
    emit(step_started(STEP, f"verification round {round_no}"))
    began = time.perf_counter()
    checked = set(state.checked)
    # A person's rejection stands: the data is not asked to overrule it.
    todo = [
        h for h in state.hypotheses if hypothesis_key(h) not in checked and REVIEWER_REJECTED not in h.flags
    ][:PER_ROUND]
    revised: dict[str, Hypothesis] = {}
    new_evidence: list[Evidence] = []
    notes: list[str] = []
    calls = 0
    for h in todo:
        key = hypothesis_key(h)
        checked.add(key)
        calls += 1
        try:
            verdict, what, query = check_hypothesis(deps.backend, state.scope, h)
        except Exception as exc:  # a failed check leaves the hypothesis untested, not the run failed
            notes.append(f"verification of {key} failed: {type(exc).__name__}: {exc}"[:300])
            continue
        ev = Evidence(
            id=f"verify-{round_no}-{len(new_evidence) + 1}",
            kind=EvidenceKind.VERIFICATION,
            service=h.service,
            description=what,
            source_query=query,
            attributes={"hypothesis": key, "verdict": verdict},
        )
        new_evidence.append(ev)
        update: dict[str, Any] = {"verified": verdict, "evidence": [*h.evidence, ev]}
        if verdict is False:
            update["confidence"] = round(h.confidence * REFUTED_FACTOR, 3)
            update["flags"] = [*h.flags, "refuted by verification"]
        revised[key] = h.model_copy(update=update)
        label = {True: "confirmed", False: "refuted", None: "untested"}[verdict]
        emit(finding(STEP, f"{key}: {label} — {what}", hypothesis=key, verdict=verdict))
    hypotheses = [revised.get(hypothesis_key(h), h) for h in state.hypotheses]
    # Refuted hypotheses drop below the rest, and those a person rejected below those; otherwise
    # the ranking's order stands.
    hypotheses = rerank(sorted(hypotheses, key=lambda h: (REVIEWER_REJECTED in h.flags, h.verified is False)))
    exhausted = budget_use(state, deps).exhausted(deps.budgets)
    if exhausted:
        notes.append(f"verification stopped: {exhausted}")
    for message in notes:
        emit(note(STEP, message))
    seconds = time.perf_counter() - began
    emit(step_finished(STEP, f"round {round_no}: {len(todo)} checked", seconds=round(seconds, 3)))
    return {
        "hypotheses": hypotheses,
        "extra_evidence": new_evidence,
        "checked": sorted(checked),
        "verify_rounds": round_no,
        "notes": notes,
        "tool_calls": calls,
        "timings": {STEP: state.timings.get(STEP, 0.0) + seconds},
    }


def after_verify(
    state: InvestigationState, runtime: Runtime[InvestigationDeps]
) -> Literal["verify", "review"]:
    """Loop while the leading hypothesis is still untested (the previous leaders were refuted)."""
    deps = deps_of(runtime)
    leader = state.hypotheses[0] if state.hypotheses else None
    if leader is None or hypothesis_key(leader) in set(state.checked):
        return "review"
    if state.verify_rounds >= deps.budgets.max_verify_rounds:
        return "review"
    return "review" if budget_use(state, deps).exhausted(deps.budgets) else "verify"
