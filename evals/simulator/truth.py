"""What a correct COE must say about a simulated incident, derived from what the simulator wrote.

- **customer-facing service**: the first service with entry operations (the one customers call) that
  the failure reached.
- **detection**: when the on-call engineer was paged: the trigger's alarm or SLO burn alert when the
  scenario pages; otherwise the first page on the customer-facing service after the onset, from a
  paging (symptom) alarm going to ALARM or from a fresh fast burn of one of its SLOs. Read from the
  simulated alarm histories and SLO minutes, never a constant.
- **key evidence**: the signal an engineer would put in the COE for the fault type, as the simulator
  emits it: a metric name (after renames) and the words a cited record must hold (the bad version,
  the impaired zone, the failing host, ``certificate`` for TLS errors...). The metric and the names
  the fault wrote (version, config key, exception, zone, host) are labelled only when the written
  telemetry carries them (:mod:`evals.simulator.carried`): a metrics-only scenario names no exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from evals.simulator.alarms import AlarmSpec, MinuteCounts, first_alarm_time, slo_breach_time
from evals.simulator.carried import carried
from evals.simulator.definitions import Incident
from evals.simulator.faults.base import NS_PER_MIN, Fault
from evals.simulator.faults.code import BadDeployment, ErrorException
from evals.simulator.faults.dependencies import ConfigChange
from evals.simulator.topology import Topology
from mcp_server.scenario import Trigger, TriggerKind
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import Alarm, SloDefinition, from_nanos

# the metric that shows the fault, by the name the simulator emits before any rename (the pool's is a
# family: in use, pending and wait time all show the exhaustion)
ERROR_COUNTER = "http.server.request.errors"  # a service's failed requests, as the simulator names them
KEY_METRICS: dict[FaultType, str] = {
    FaultType.MEMORY_LEAK: "process.memory.usage",
    FaultType.CPU_SATURATION: "system.cpu.utilization",
    FaultType.DEPENDENCY_THROTTLING: "aws.dynamodb.throttled_requests",
    FaultType.BAD_DEPLOYMENT: ERROR_COUNTER,
    FaultType.CONNECTION_POOL_EXHAUSTION: "db.client.connection.",
    FaultType.CACHE_FAILURE: "cache.hit_ratio",
}


@dataclass
class KeyEvidence:
    metric: str | None = None
    terms: list[str] = field(default_factory=list)  # a cited record must hold one of them
    # the terms name what the fault itself wrote (its version, config key, exception, zone or host),
    # so they are labelled only where a record holds them; otherwise they are the words a report
    # describes the signal with (latency, timeout, certificate, 404), kept whatever the records say
    named: bool = False
    # the metric a human would cite when no record holds the named terms (metrics-only data never
    # holds an exception's name; its error counter shows the step)
    fallback_metric: str | None = None


def customer_facing_service(topology: Topology, propagation: list[str]) -> str | None:
    """The entry service (one with customer entry operations) the failure reached first; None if none."""
    entries = [
        s.name for s in topology.services.values() if any(op.entry_weight for op in s.operations.values())
    ]
    return next((name for name in propagation if name in entries), None)


def key_evidence(fault: Fault, metric_names: Mapping[str, str]) -> KeyEvidence:
    """The fault's key signal, with the metric under the name the scenario gives it."""
    metric = KEY_METRICS.get(fault.fault_type)
    found = KeyEvidence(
        metric=metric_names.get(metric, metric) if metric else None
    )  # a renamed family keeps its prefix
    if isinstance(fault, BadDeployment):
        found.terms, found.named = [fault.new_version], True
    elif isinstance(fault, ConfigChange):
        found.terms, found.named = [str(fault.change.attributes.get("config.key", "timeout"))], True
    elif isinstance(fault, ErrorException):
        found.terms, found.named = [fault.failure.exception_type], True
        found.fallback_metric = metric_names.get(ERROR_COUNTER, ERROR_COUNTER)
    elif fault.fault_type is FaultType.CERTIFICATE_EXPIRY:
        found.terms = ["certificate"]
    elif fault.fault_type is FaultType.AZ_IMPAIRMENT and fault.zone:
        found.terms, found.named = [fault.zone], True
    elif fault.fault_type is FaultType.SINGLE_HOST_FAILURE and fault.host is not None:
        found.terms, found.named = [fault.host.name], True
    elif fault.fault_type is FaultType.INCORRECT_RESPONSE:
        found.terms = ["404"]
    elif fault.fault_type is FaultType.NETWORK_DELAY:
        found.terms = ["latency", "duration"]
    elif fault.fault_type is FaultType.DOWNSTREAM_TIMEOUT_RETRY_STORM:
        found.terms = ["timeout", "timed out"]
    return found


def carried_key_evidence(key: KeyEvidence, telemetry: Iterable[str]) -> KeyEvidence:
    """``key`` with only the metric and the named terms some record of ``telemetry`` holds; the
    fallback metric stands in when the records hold none of the named terms."""
    wanted = [key.metric, key.fallback_metric, *(key.terms if key.named else [])]
    held = carried([w for w in wanted if w], telemetry)
    terms = [t for t in key.terms if t in held or not key.named]
    metric = key.metric if key.metric in held else None
    if metric is None and key.named and not terms and key.fallback_metric in held:
        metric = key.fallback_metric
    return KeyEvidence(metric=metric, terms=terms, named=key.named)


def detection_truth(
    trigger: Trigger,
    customer_facing: str | None,
    onset_ns: int,
    start_ns: int,
    alarms: list[Alarm],
    specs: list[AlarmSpec],
    slos: list[SloDefinition],
    slo_minutes: Mapping[str, Mapping[int, MinuteCounts]],
) -> tuple[datetime | None, str | None]:
    """When the incident was detected and by which alarm or SLO; (None, None) when nothing paged."""
    if trigger.kind in (TriggerKind.ALARM, TriggerKind.SLO) and trigger.time is not None:
        return trigger.time, trigger.alarm or trigger.slo
    if customer_facing is None:
        return None, None
    paging = {s.name for s in specs if s.symptom}
    pages = [
        (t, alarm.name)
        for alarm in alarms
        if alarm.service == customer_facing
        and alarm.name in paging
        and (t := first_alarm_time(alarm, onset_ns)) is not None
    ]
    onset_minute = (onset_ns - start_ns) // NS_PER_MIN
    pages += [
        (start_ns + (minute + 1) * NS_PER_MIN, slo.name)
        for slo in slos
        if slo.service == customer_facing
        and (minute := slo_breach_time(slo, dict(slo_minutes.get(customer_facing, {})), int(onset_minute)))
        is not None
    ]
    if pages:
        t, name = min(pages)
        return from_nanos(t), name
    return None, None


def correctness_truth(
    incident: Incident,
    trigger: Trigger,
    alarms: list[Alarm],
    specs: list[AlarmSpec],
    slos: list[SloDefinition],
    slo_minutes: Mapping[str, Mapping[int, MinuteCounts]],
    metric_names: Mapping[str, str],
    telemetry: Iterable[str] | None = None,
) -> dict[str, object]:
    """The optional ground-truth fields a report's correctness is scored on (see the module doc).

    ``telemetry``: the scenario's records as written; the key evidence keeps only what they carry."""
    primary = incident.faults[0]
    facing = customer_facing_service(incident.topology, incident.propagation)
    detected_at, detected_by = detection_truth(
        trigger, facing, incident.first_onset, incident.start_ns, alarms, specs, slos, slo_minutes
    )
    key = key_evidence(primary, metric_names)
    if telemetry is not None:
        key = carried_key_evidence(key, telemetry)
    return {
        "customer_facing_service": facing,
        "detected_at": detected_at,
        "detected_by": detected_by,
        "affected_zone": primary.zone if primary.fault_type is FaultType.AZ_IMPAIRMENT else None,
        "key_metric": key.metric,
        "key_terms": key.terms,
    }
