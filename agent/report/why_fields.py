"""What the placeholders of a five-whys factor stand for (fault_factors.yaml): {service}, the faulty
service; {component}, the host, zone or dependency the cause sits in; {peer}, the other end of a
slowed network path."""

from __future__ import annotations

from agent.report.why import WhyInputs
from mcp_server.analysis.models import EvidenceKind as K
from mcp_server.analysis.models import Hypothesis
from mcp_server.taxonomy import FaultType as F


def component_of(top: Hypothesis | None, inputs: WhyInputs) -> str:
    """The host, zone or dependency the cause sits in. A throttled dependency is the one the
    engine named, else an outside dependency whose calls from the service failed (metrics that name
    their peer show it), else "the service's dependency", never a host the errors skewed to. For
    other faults: the host the errors skewed to, the component the engine named, else the service."""
    if top is None:
        return "the component"
    if top.fault_type == F.DEPENDENCY_THROTTLING:
        called = [
            str(e.attributes["callee"])
            for e in [*top.evidence, *inputs.result.evidence]
            if e.kind == K.TOPOLOGY
            and e.attributes.get("caller") == top.service
            and e.attributes.get("external")
        ]
        return top.component or (called[0] if called else f"{top.service}'s dependency")
    if inputs.skew is not None:
        return inputs.skew.component
    return top.component or top.service


def network_peer(top: Hypothesis) -> str:
    """The other end of the slowed path: the callee when the cause's own calls slowed, the caller
    when calls into it did (a component named by the engine, such as a database, wins)."""
    if top.component:
        return top.component
    for e in top.evidence:
        callee = e.attributes.get("callee")
        if e.kind != K.LATENCY or not callee or not e.service:
            continue
        if e.service == top.service and callee != top.service:
            return str(callee)
        if callee == top.service and e.service != top.service:
            return e.service
    return f"{top.service}'s peers"


def factor_fields(top: Hypothesis | None, inputs: WhyInputs) -> dict[str, str]:
    """What a factor's placeholders stand for (fault_factors.yaml)."""
    if top is None:
        return {"service": "the service", "component": component_of(top, inputs), "peer": "its peers"}
    return {"service": top.service, "component": component_of(top, inputs), "peer": network_peer(top)}
