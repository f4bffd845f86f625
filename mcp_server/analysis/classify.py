"""Fault-type classification of one suspect service from the signals that point at it.

Rules read generic vocabulary (OpenTelemetry attribute values, common exception and metric
words such as "throttl", "certificate", "pool", "memory"), never names from one system. The
rules run in order from the most specific evidence to the least.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from mcp_server.analysis.signals import Signal, SignalKind
from mcp_server.taxonomy import FaultType

THROTTLE = re.compile(
    r"throttl|provisionedthroughputexceeded|rate exceeded|too ?many ?requests|requestlimitexceeded|"
    r"slow ?down|rate.?limit|\b429\b",
    re.IGNORECASE,
)
CERT = re.compile(
    r"certificat|x509|x\.509|\bssl|\btls|handshake|pkix|cert(ificate)? (has )?expired", re.IGNORECASE
)
POOL = re.compile(
    r"pool|too many connections|no available connection|connection.{0,30}(exhaust|acquir|unavailable)",
    re.IGNORECASE,
)
MEMORY_WORDS = re.compile(r"out ?of ?memory|\boom|heap space|memory limit|killed", re.IGNORECASE)
TIMEOUT = re.compile(r"time[d ]?out|deadline", re.IGNORECASE)
CONNECT = re.compile(r"connect|unreachable|no route|i/o timeout|etimedout", re.IGNORECASE)
CACHE = re.compile(r"cache|redis|memcache|valkey", re.IGNORECASE)
METRIC_CPU = re.compile(r"cpu|processor", re.IGNORECASE)
METRIC_MEMORY = re.compile(r"mem|heap|rss|working.?set", re.IGNORECASE)
METRIC_GC = re.compile(r"\bgc\b|gc[._]|garbage", re.IGNORECASE)
METRIC_RESTART = re.compile(r"restart|oom", re.IGNORECASE)
METRIC_POOL = re.compile(r"pool|connection|pending", re.IGNORECASE)
METRIC_CACHE = re.compile(r"cache|hit", re.IGNORECASE)
CLIENT_SIDE = re.compile(r"client|outbound|downstream|dependency|remote", re.IGNORECASE)
FAILURES = re.compile(r"error|fault|fail|5xx", re.IGNORECASE)


@dataclass
class Suspect:
    """Everything the ranking gathered about one service."""

    service: str
    signals: list[Signal] = field(default_factory=list)
    inherited: list[Signal] = field(default_factory=list)  # callers' origins blamed on this service
    zone_peers: int = 0  # other services skewed to the same zone
    onset: datetime | None = None  # the incident's onset (the scope's)

    def of(self, *kinds: SignalKind) -> list[Signal]:
        return [s for s in self.signals if s.kind in kinds]

    def texts(self) -> str:
        parts = []
        for s in [*self.signals, *self.inherited]:
            for key in ("text", "peer", "operation"):
                value = s.hints.get(key)
                if isinstance(value, str) and value:
                    parts.append(value)
        return " | ".join(parts)


def classify(s: Suspect) -> tuple[FaultType, str]:
    """The fault type and a short reason."""
    own_error_text = " | ".join(
        str(sig.hints.get("text") or "") + " " + str(sig.hints.get("peer") or "")
        for sig in [*s.of(SignalKind.ERROR_ORIGIN, SignalKind.LOG), *s.inherited]
    )
    metrics_up = {
        str(sig.hints.get("metric")): sig
        for sig in s.of(SignalKind.METRIC)
        if sig.hints.get("direction", 0) > 0
    }
    metrics_down = {
        str(sig.hints.get("metric")): sig
        for sig in s.of(SignalKind.METRIC)
        if sig.hints.get("direction", 0) < 0
    }
    changes = sorted(s.of(SignalKind.CHANGE), key=lambda c: -c.strength)
    skews = sorted(s.of(SignalKind.HOST_SKEW), key=lambda c: -c.strength)
    origins = s.of(SignalKind.ERROR_ORIGIN)

    if THROTTLE.search(own_error_text):
        return FaultType.DEPENDENCY_THROTTLING, "errors name throttling by a dependency"
    # a CPU quota's throttling is the service's own CPU, not a dependency refusing it
    if any(THROTTLE.search(m) and not METRIC_CPU.search(m) for m in metrics_up):
        return FaultType.DEPENDENCY_THROTTLING, "a dependency's throttling count rose"
    if CERT.search(own_error_text):
        return FaultType.CERTIFICATE_EXPIRY, "errors name a certificate/TLS handshake failure"
    if changes and changes[0].strength >= 0.3:
        kind = changes[0].hints.get("change_kind")
        if kind == "deployment":
            return FaultType.BAD_DEPLOYMENT, "a deployment on the service just before onset"
        if kind in ("config", "feature_flag"):
            return FaultType.CONFIG_CHANGE, "a configuration change on the service just before onset"
    inherited_errors = [i for i in s.inherited if i.kind == SignalKind.ERROR_ORIGIN]
    inherited_latency = [i for i in s.inherited if i.kind == SignalKind.SELF_LATENCY]
    timed_out = [i for i in inherited_errors if i.hints.get("timed_out")]
    if POOL.search(own_error_text):
        return FaultType.CONNECTION_POOL_EXHAUSTION, "errors name an exhausted connection pool"
    if (
        any(METRIC_RESTART.search(m) for m in metrics_up)
        or MEMORY_WORDS.search(own_error_text)
        or (any(METRIC_MEMORY.search(m) for m in metrics_up) and any(METRIC_GC.search(m) for m in metrics_up))
    ):
        return FaultType.MEMORY_LEAK, "memory growth, GC pauses or restarts"
    if any(CACHE.search(str(o.hints.get("peer") or "")) for o in origins) or any(
        METRIC_CACHE.search(m) for m in metrics_down
    ):
        return FaultType.CACHE_FAILURE, "cache calls fail or the hit ratio dropped"
    if skews:
        top = skews[0]
        member = top.hints.get("member")
        # the skew says where; a CPU saturating on that very host says what
        if top.hints.get("metric") == "latency" and _cpu_saturated_on(
            s, str(member), top.hints.get("zone_of")
        ):
            return FaultType.CPU_SATURATION, f"CPU rose on {member}, where the latency sits"
        if top.hints.get("dimension") == "availability_zone" or s.zone_peers > 0:
            return FaultType.AZ_IMPAIRMENT, f"errors/latency concentrated in zone {member}"
        # a zone losing its network path: the skewed host's own calls to its dependencies fail
        # to connect, and its neighbours in the zone slow down a little; one broken host does not
        # (the member's own failing spans count even when they are too few to rise significantly)
        calls = [(o.hints.get("peer"), o.hints.get("text")) for o in origins]
        calls.append((top.hints.get("failure_peer"), top.hints.get("failure_text")))
        client_connect = any(peer and CONNECT.search(str(text or "")) for peer, text in calls)
        if client_connect or float(top.hints.get("zone_slowdown", 1.0)) >= 1.05:
            return (
                FaultType.AZ_IMPAIRMENT,
                f"host {member} cannot reach its dependencies; its zone is impaired",
            )
        return FaultType.SINGLE_HOST_FAILURE, f"errors/latency concentrated on host {member}"
    if timed_out:
        return FaultType.DOWNSTREAM_TIMEOUT_RETRY_STORM, "callers time out on the service and retry"
    if any(METRIC_POOL.search(m) for m in metrics_up):
        return FaultType.CONNECTION_POOL_EXHAUSTION, "connection pool saturation"
    # a CPU measured against its capacity that stays well under it: the work changed, the CPU
    # is not what limits the service (its absolute CPU rose with that work, too)
    cpu = saturating_cpu(s)
    memory = max((sig.strength for m, sig in metrics_up.items() if METRIC_MEMORY.search(m)), default=0.0)
    # memory that climbed from before the onset is a leak; memory that jumped with the CPU is the
    # CPU hog's working set
    memory_grew_early = any(
        METRIC_MEMORY.search(m) and sig.onset is not None and s.onset is not None and sig.onset < s.onset
        for m, sig in metrics_up.items()
    )
    # a CPU well short of its capacity beside the service's own failing requests is their cost,
    # not their cause, unless it is the stronger evidence
    failing = max((sig.strength for sig in origins), default=0.0)
    share = cpu_capacity_share(s)
    clearly_saturated = share is None or share >= CLEARLY_SATURATED_SHARE or cpu >= failing
    if cpu > 0 and clearly_saturated and (cpu >= 0.5 * memory or not memory_grew_early):
        slower = (
            " with the service's own latency" if s.of(SignalKind.SELF_LATENCY, SignalKind.LATENCY) else ""
        )
        return FaultType.CPU_SATURATION, f"CPU rose{slower}"
    if memory > 0:
        return FaultType.MEMORY_LEAK, "memory growth"
    if TIMEOUT.search(own_error_text) and s.of(SignalKind.SELF_LATENCY, SignalKind.LATENCY):
        return FaultType.DOWNSTREAM_TIMEOUT_RETRY_STORM, "the service is slow and calls to it time out"
    if inherited_errors:
        return FaultType.INCORRECT_RESPONSE, "callers fail on the service's answers while it reports success"
    shapes = s.of(SignalKind.STRUCTURE)
    if any(sig.hints.get("structure") == "answers" for sig in shapes):
        return FaultType.INCORRECT_RESPONSE, "requests of several callers now stop right after its answers"
    self_lat = s.of(SignalKind.SELF_LATENCY) + inherited_latency
    stops_early = any(sig.hints.get("truncated") for sig in shapes)
    if self_lat and not origins:
        # time added between the service and its peers is the network path; time added inside
        # its own code while its operations stop before calls they used to make is its code failing
        if stops_early and not any(sig.hints.get("edge") for sig in self_lat):
            return FaultType.ERROR_EXCEPTION, "its own code is slower and stops before calls it used to make"
        return FaultType.NETWORK_DELAY, "latency, and no failures seen"
    if origins:
        return FaultType.ERROR_EXCEPTION, "the service's own code fails"
    if stops_early:
        return FaultType.ERROR_EXCEPTION, "its operations stop before the calls they used to make"
    new_errors = [
        sig
        for sig in s.of(SignalKind.LOG)
        if sig.hints.get("status") == "new" and sig.hints.get("severity") in ("ERROR", "FATAL")
    ]
    if new_errors:
        return FaultType.ERROR_EXCEPTION, "new error messages in the service's own logs"
    if any(sig.strength >= 0.3 for sig in s.of(SignalKind.ERROR_RATE)):
        return FaultType.ERROR_EXCEPTION, "its own requests fail more often"
    if server_errors_rose(s) and not client_errors_rose(s):
        return FaultType.ERROR_EXCEPTION, "its own requests fail more often while its calls do not"
    if s.of(SignalKind.LATENCY):
        return FaultType.NETWORK_DELAY, "latency, and no failures seen"
    # callers wait longer on it, none of its own resources or errors moved
    if any(e.hints.get("latency") and e.hints.get("caller") != s.service for e in s.of(SignalKind.EDGE)):
        return FaultType.NETWORK_DELAY, "its callers see it slower while nothing of its own moved"
    return FaultType.UNKNOWN, "no signal matches a known fault"


# the metric family each fault type is read from (the engine's rules above; the report's nodes
# about the fault cite it first): a cache's hit ratio falls, the others rise
FAULT_METRICS = {
    FaultType.CPU_SATURATION: METRIC_CPU,
    FaultType.MEMORY_LEAK: METRIC_MEMORY,
    FaultType.CONNECTION_POOL_EXHAUSTION: METRIC_POOL,
    FaultType.CACHE_FAILURE: METRIC_CACHE,
    FaultType.DEPENDENCY_THROTTLING: THROTTLE,
}


def fault_witnesses(s: Suspect, fault: FaultType) -> list[Signal]:
    """The suspect's own metric signals its fault type was read from (FAULT_METRICS), strongest
    first; a leak's restarts count too, a CPU quota's throttling does not. Empty for a fault read
    from errors, traces or changes, which lead its evidence anyway."""
    family = FAULT_METRICS.get(fault)
    if family is None:
        return []
    direction = -1 if fault == FaultType.CACHE_FAILURE else 1

    def moved(pattern: re.Pattern[str]) -> list[Signal]:
        return [
            sig
            for sig in s.of(SignalKind.METRIC)
            if sig.hints.get("direction", 0) * direction > 0 and pattern.search(str(sig.hints.get("metric")))
        ]

    chosen = moved(family)
    if fault == FaultType.MEMORY_LEAK:
        chosen += moved(METRIC_RESTART)
    if fault == FaultType.DEPENDENCY_THROTTLING:
        chosen = [sig for sig in chosen if not METRIC_CPU.search(str(sig.hints.get("metric")))]
    return sorted(chosen, key=lambda sig: -sig.strength)


def _rising_failures(s: Suspect, client_side: bool) -> bool:
    return any(
        sig.hints.get("direction", 0) > 0
        and FAILURES.search(str(sig.hints.get("metric") or ""))
        and bool(CLIENT_SIDE.search(str(sig.hints.get("metric") or ""))) == client_side
        for sig in s.of(SignalKind.METRIC)
    )


def client_errors_rose(s: Suspect) -> bool:
    """The service's own metrics say its outgoing calls fail more often."""
    return _rising_failures(s, client_side=True)


def server_errors_rose(s: Suspect) -> bool:
    """The service's own metrics say the requests it serves fail more often."""
    return _rising_failures(s, client_side=False)


CLEARLY_SATURATED_SHARE = 0.5  # beside the service's own failures, a CPU must reach this to be the cause
SATURATED_SHARE = 0.3  # a CPU that never reached a third of its capacity is busy, not what slows the service


def _rising_cpu(s: Suspect) -> list[Signal]:
    return [
        sig
        for sig in s.of(SignalKind.METRIC)
        if sig.hints.get("direction", 0) > 0 and METRIC_CPU.search(str(sig.hints.get("metric")))
    ]


def cpu_capacity_share(s: Suspect) -> float | None:
    """The highest share of its capacity the service's rising CPU reached, when the unit says."""
    shares = [share for sig in _rising_cpu(s) if (share := _capacity_share(sig)) is not None]
    return max(shares, default=None)


def saturating_cpu(s: Suspect) -> float:
    """The strength of the service's own CPU rising to a level that can slow it (0 when none)."""
    share = cpu_capacity_share(s)
    if share is not None and share < SATURATED_SHARE:
        return 0.0
    return max((sig.strength for sig in _rising_cpu(s)), default=0.0)


def _cpu_saturated_on(s: Suspect, member: str, zone_of: object) -> bool:
    """Whether the service's saturating CPU rise is on ``member`` (a host, or a host in that zone)."""
    if saturating_cpu(s) <= 0:
        return False
    zones = zone_of if isinstance(zone_of, dict) else {}
    hosts = {str(sig.hints.get("host")) for sig in _rising_cpu(s) if sig.hints.get("host")}
    return member in hosts or any(zones.get(h) == member for h in hosts)


def _capacity_share(sig: Signal) -> float | None:
    """The level a CPU rise reached as a share of capacity, when its unit says so (a percentage,
    or a 0-1 utilisation); None for absolute units (cores, millicores, seconds)."""
    # the level it settled at once the fault was in force: a minute that straddles the onset
    # holds part of the normal and would drag the level down
    settled = sig.hints.get("settled")
    value = settled if isinstance(settled, int | float) else sig.evidence.value
    unit = str(sig.hints.get("unit") or "").strip().lower()
    if value is None:
        return None
    if unit in ("%", "percent"):
        return value / 100
    if unit in ("1", "ratio") or (
        "utilization" in str(sig.hints.get("metric") or "").lower() and value <= 1.0
    ):
        return value
    return None
