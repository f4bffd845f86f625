"""Mitigation steps for the leading hypothesis, in SOP order: roll back, shift away, scale up,
throttle, and only then restart or change configuration. A step that does not apply is kept and
marked ``applicable=False`` so the report shows it was considered."""

from __future__ import annotations

from mcp_server.analysis.models import EvidenceKind, Hypothesis, Mitigation, MitigationKind
from mcp_server.taxonomy import FaultType

_SCALE = {
    FaultType.CPU_SATURATION,
    FaultType.CONNECTION_POOL_EXHAUSTION,
    FaultType.DEPENDENCY_THROTTLING,
    FaultType.DOWNSTREAM_TIMEOUT_RETRY_STORM,
    FaultType.CACHE_FAILURE,
}
_SHIFT = {FaultType.SINGLE_HOST_FAILURE, FaultType.AZ_IMPAIRMENT}
_THROTTLE = {FaultType.DOWNSTREAM_TIMEOUT_RETRY_STORM, FaultType.DEPENDENCY_THROTTLING}
_RESTART = {FaultType.MEMORY_LEAK, FaultType.SINGLE_HOST_FAILURE, FaultType.CACHE_FAILURE}
_CONFIG = {FaultType.CONFIG_CHANGE, FaultType.CERTIFICATE_EXPIRY, FaultType.CONNECTION_POOL_EXHAUSTION}


def recommend_mitigations(h: Hypothesis) -> list[Mitigation]:
    changes = [e for e in h.evidence if e.kind == EvidenceKind.CHANGE]
    steps: list[Mitigation] = []

    def add(kind: MitigationKind, action: str, applicable: bool, rationale: str, risk: str = "") -> None:
        steps.append(
            Mitigation(
                order=len(steps) + 1,
                kind=kind,
                action=action,
                target=h.component if kind == MitigationKind.SHIFT_AWAY and h.component else h.service,
                rationale=rationale,
                risk=risk,
                applicable=applicable,
            )
        )

    change = changes[0] if changes else None
    add(
        MitigationKind.ROLLBACK,
        f"Roll back the change on {h.service}: {change.description}" if change else f"Roll back {h.service}",
        change is not None or h.fault_type in (FaultType.BAD_DEPLOYMENT, FaultType.CONFIG_CHANGE),
        "a change just before onset is the fastest thing to undo"
        if change
        else f"no change to {h.service} found before onset",
        "low: returns to the last known good version",
    )
    add(
        MitigationKind.SHIFT_AWAY,
        f"Take {h.component or 'the impaired host/zone'} out of the load balancer for {h.service}",
        h.fault_type in _SHIFT,
        "errors or latency are concentrated on one host or zone",
        "remaining capacity must absorb the shifted load",
    )
    add(
        MitigationKind.SCALE_UP,
        f"Scale up {h.service}" + (f" or the capacity of {h.component}" if h.component else ""),
        h.fault_type in _SCALE,
        "more capacity relieves saturation and throttling while the cause is fixed",
        "cost; may move the bottleneck downstream",
    )
    add(
        MitigationKind.THROTTLE_OR_SHED,
        f"Reduce retries / shed load towards {h.component or h.service}",
        h.fault_type in _THROTTLE,
        "retries amplify the load on a struggling dependency",
        "some requests fail fast instead of slowly",
    )
    add(
        MitigationKind.RESTART,
        f"Restart the affected {h.service} instances" + (f" ({h.component})" if h.component else ""),
        h.fault_type in _RESTART,
        "clears leaked memory or a wedged process; buys time, fixes nothing",
        "the fault recurs unless the cause is fixed",
    )
    add(
        MitigationKind.CONFIG,
        f"Correct the configuration of {h.service}"
        + (" (renew the certificate)" if h.fault_type == FaultType.CERTIFICATE_EXPIRY else ""),
        h.fault_type in _CONFIG,
        "last resort: a config change under pressure is itself a risk",
        "an untested change during an incident",
    )
    return steps
