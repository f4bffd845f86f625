"""What usually widens the blast radius, and what lies below the trigger, for each fault type.

This table only proposes questions. A node built from it cites evidence of ``supported_by`` kinds
from *this* incident; without such evidence it is marked ``needs_human_input`` and its answer is
phrased as a typical cause for the team to confirm or replace.

Placeholders: ``{service}`` (the faulty service), ``{component}`` (host, zone or dependency).
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.documents import ActionTerm
from mcp_server.analysis.models import EvidenceKind as K
from mcp_server.analysis.taxonomy import FaultType as F


@dataclass(frozen=True)
class Action:
    title: str
    term: ActionTerm
    validation: str


@dataclass(frozen=True)
class Factor:
    question: str
    answer: str
    supported_by: tuple[K, ...]
    action: Action


@dataclass(frozen=True)
class FaultKnowledge:
    deeper: tuple[Factor, ...] = ()  # continues the trigger chain below the fault itself
    blast_radius: tuple[Factor, ...] = ()


S, M, L = ActionTerm.SHORT, ActionTerm.MID, ActionTerm.LONG


def _gameday(what: str) -> str:
    return f"Done when a game day or test reproduces {what} and customers see no errors."


_CHANGE_GATE = Factor(
    "Why did the pipeline not stop the change before it reached every customer?",
    "The change went to all of {service} at once, without a canary or a bake time that watches error rates.",
    (K.CHANGE,),
    Action(
        "Deploy {service} through a one-box/canary stage with automatic rollback on error-rate alarms",
        M,
        "Done when a deliberately faulty build is rolled back automatically in the canary stage.",
    ),
)

KNOWLEDGE: dict[F, FaultKnowledge] = {
    F.SINGLE_HOST_FAILURE: FaultKnowledge(
        deeper=(
            Factor(
                "Why did {component} fail?",
                "The host's logs show the failure; the underlying hardware or volume fault must be confirmed.",
                (K.LOG_PATTERN, K.HOST_SKEW),
                Action(
                    "Replace {component} and check the fleet for the same hardware/volume fault",
                    S,
                    "Done when {component} is out of service and no other host shows the same errors.",
                ),
            ),
            Factor(
                "Why did the hardware or volume under {component} fail?",
                "Not visible in application telemetry: check the host's system logs and the provider's events.",
                (),
                Action(
                    "Get the provider's root cause for {component} and alarm on host-level disk and volume errors",
                    M,
                    "Done when an injected disk error on a test host raises the alarm.",
                ),
            ),
        ),
        blast_radius=(
            Factor(
                "Why did health checks not take {component} out of service?",
                "The load balancer's health check is shallow: it passes while real requests fail.",
                (K.HOST_SKEW,),
                Action(
                    "Make {service}'s health check exercise its dependencies (deep health check) and eject failing hosts",
                    M,
                    _gameday("a host that fails every request"),
                ),
            ),
        ),
    ),
    F.AZ_IMPAIRMENT: FaultKnowledge(
        deeper=(
            Factor(
                "Why did {component} degrade?",
                "An infrastructure impairment in the zone; confirm with the provider's health dashboard.",
                (K.HOST_SKEW,),
                Action(
                    "Record the provider's explanation for the {component} impairment",
                    S,
                    "Done when the provider's root cause is linked here.",
                ),
            ),
        ),
        blast_radius=(
            Factor(
                "Why did traffic keep flowing to {component}?",
                "Zonal shift is manual; nothing moved traffic away from the impaired zone automatically.",
                (K.HOST_SKEW,),
                Action(
                    "Enable automatic zonal shift (or autoshift) for {service}'s load balancer",
                    M,
                    _gameday("an impaired zone"),
                ),
            ),
        ),
    ),
    F.BAD_DEPLOYMENT: FaultKnowledge(
        deeper=(
            Factor(
                "Why did the new version of {service} fail?",
                "A code defect in the deployed version; the exception and the commit must be identified.",
                (K.LOG_PATTERN, K.ERROR_ORIGIN),
                Action(
                    "Fix the defect in {service} and add a regression test",
                    S,
                    "Done when the regression test fails on the bad version and passes on the fix.",
                ),
            ),
        ),
        blast_radius=(_CHANGE_GATE,),
    ),
    F.CONFIG_CHANGE: FaultKnowledge(
        deeper=(
            Factor(
                "Why did the configuration change break {service}?",
                "The new value was invalid for this environment and nothing validated it.",
                (K.CHANGE, K.LOG_PATTERN),
                Action(
                    "Validate {service}'s configuration against a schema before it is applied",
                    M,
                    "Done when applying the bad value is rejected in a test.",
                ),
            ),
        ),
        blast_radius=(_CHANGE_GATE,),
    ),
    F.DEPENDENCY_THROTTLING: FaultKnowledge(
        deeper=(
            Factor(
                "Why did {component} throttle {service}?",
                "Provisioned capacity was below the request rate; confirm the capacity settings and traffic growth.",
                (K.LOG_PATTERN, K.ERROR_ORIGIN, K.METRIC_ANOMALY),
                Action(
                    "Raise {component} capacity or switch to on-demand, with a capacity alarm at 80%",
                    S,
                    "Done when a load test at peak rate sees no throttling.",
                ),
            ),
        ),
        blast_radius=(
            Factor(
                "Why did throttling turn into customer errors instead of being absorbed?",
                "Client retries without jitter or a budget multiplied the load on the throttled dependency.",
                (K.LOG_PATTERN, K.METRIC_ANOMALY),
                Action(
                    "Use exponential backoff with jitter and a retry budget in {service}'s client",
                    M,
                    _gameday("throttling of the dependency"),
                ),
            ),
        ),
    ),
    F.DOWNSTREAM_TIMEOUT_RETRY_STORM: FaultKnowledge(
        deeper=(
            Factor(
                "Why did {component} become slow?",
                "The downstream slowed first; its own cause must be confirmed by its owners.",
                (K.LATENCY, K.METRIC_ANOMALY),
                Action(
                    "Confirm and fix the downstream slowdown in {component}",
                    S,
                    "Done when the downstream's latency is back to baseline under load.",
                ),
            ),
        ),
        blast_radius=(
            Factor(
                "Why did a slow dependency take {service} down with it?",
                "Timeouts were longer than the callers' and every layer retried, multiplying load.",
                (K.LATENCY, K.LOG_PATTERN),
                Action(
                    "Align timeouts down the call chain and retry at one layer only, with a budget",
                    M,
                    _gameday("a slow downstream"),
                ),
            ),
        ),
    ),
    F.CONNECTION_POOL_EXHAUSTION: FaultKnowledge(
        deeper=(
            Factor(
                "Why was {service}'s connection pool exhausted?",
                "Connections were held longer than usual (slow queries or leaks) while the pool size stayed fixed.",
                (K.LOG_PATTERN, K.METRIC_ANOMALY),
                Action(
                    "Find what held connections and size the pool from measured concurrency",
                    S,
                    "Done when a load test at peak holds pool usage below 80%.",
                ),
            ),
        ),
        blast_radius=(
            Factor(
                "Why did waiting for connections fail every request, not only the slow ones?",
                "No bulkhead separates request types, and the acquire timeout exceeds the request timeout.",
                (K.LATENCY, K.LOG_PATTERN),
                Action(
                    "Add bulkheads per dependency and an acquire timeout shorter than the request timeout",
                    M,
                    _gameday("pool exhaustion"),
                ),
            ),
        ),
    ),
    F.CACHE_FAILURE: FaultKnowledge(
        deeper=(
            Factor(
                "Why did the cache fail?",
                "The cache node became unavailable; its own cause must be confirmed.",
                (K.ERROR_ORIGIN, K.LOG_PATTERN),
                Action(
                    "Run the cache with a replica and automatic failover",
                    M,
                    _gameday("the loss of a cache node"),
                ),
            ),
        ),
        blast_radius=(
            Factor(
                "Why did losing the cache hurt customers?",
                "Every miss fell through to the database, which is not sized for uncached load.",
                (K.LATENCY, K.METRIC_ANOMALY),
                Action(
                    "Shed or coalesce requests when the cache is down, and size the database for cache loss",
                    L,
                    _gameday("a cold or missing cache"),
                ),
            ),
        ),
    ),
    F.CPU_SATURATION: FaultKnowledge(
        deeper=(
            Factor(
                "Why did {service} saturate its CPU?",
                "Load or per-request cost grew beyond the fleet's capacity.",
                (K.METRIC_ANOMALY,),
                Action(
                    "Profile {service}'s hot path and fix the regression or add capacity",
                    S,
                    "Done when peak load runs below 70% CPU.",
                ),
            ),
        ),
        blast_radius=(
            Factor(
                "Why did the fleet not scale out in time?",
                "Auto scaling reacts slower than the load grew, or is capped.",
                (K.METRIC_ANOMALY,),
                Action(
                    "Scale {service} on a leading metric with headroom and a higher cap",
                    M,
                    _gameday("a load spike"),
                ),
            ),
        ),
    ),
    F.MEMORY_LEAK: FaultKnowledge(
        deeper=(
            Factor(
                "Why did {service} leak memory?",
                "A code path retains objects; a heap profile must confirm which.",
                (K.METRIC_ANOMALY, K.LOG_PATTERN),
                Action(
                    "Fix the leak in {service} and add a soak test",
                    S,
                    "Done when a 24-hour soak test shows flat memory.",
                ),
            ),
        ),
        blast_radius=(
            Factor(
                "Why did restarts not contain the damage?",
                "All hosts leak at the same rate and restart together.",
                (K.METRIC_ANOMALY,),
                Action(
                    "Alarm on memory growth rate and stagger restarts",
                    M,
                    "Done when a memory-growth alarm fires in a soak test.",
                ),
            ),
        ),
    ),
    F.NETWORK_DELAY: FaultKnowledge(
        deeper=(
            Factor(
                "Why did the network between {service} and {component} slow down?",
                "A network path degraded; confirm with the provider or network team.",
                (K.LATENCY,),
                Action(
                    "Record the network root cause from the provider",
                    S,
                    "Done when the provider's explanation is linked here.",
                ),
            ),
        ),
        blast_radius=(
            Factor(
                "Why did extra network latency reach customers?",
                "Sequential calls add the delay on every hop; no hedging or timeouts cap it.",
                (K.LATENCY,),
                Action(
                    "Cap per-hop timeouts and parallelise independent calls in {service}",
                    M,
                    _gameday("added network latency"),
                ),
            ),
        ),
    ),
    F.CERTIFICATE_EXPIRY: FaultKnowledge(
        deeper=(
            Factor(
                "Why did the certificate expire unnoticed?",
                "Renewal is manual and nothing alarms on expiry dates.",
                (K.LOG_PATTERN, K.ERROR_ORIGIN),
                Action(
                    "Automate certificate renewal and alarm 30 days before expiry",
                    S,
                    "Done when a test certificate near expiry raises the alarm.",
                ),
            ),
        ),
        blast_radius=(
            Factor(
                "Why did one certificate fail every call?",
                "All clients use the same endpoint and certificate; there is no fallback path.",
                (K.ERROR_ORIGIN,),
                Action(
                    "Inventory certificates per endpoint with owners and expiry dates",
                    M,
                    "Done when every endpoint's certificate has an owner and an alarm.",
                ),
            ),
        ),
    ),
    F.ERROR_EXCEPTION: FaultKnowledge(
        deeper=(
            Factor(
                "Why does {service} throw on these requests?",
                "An input or state the code does not handle; the exception names where.",
                (K.LOG_PATTERN, K.ERROR_ORIGIN),
                Action(
                    "Handle the failing case in {service} and add a test with the failing input",
                    S,
                    "Done when the test reproduces the exception before the fix and passes after.",
                ),
            ),
        ),
        blast_radius=(
            Factor(
                "Why did the exception fail the customer's whole request?",
                "Callers pass the error through instead of degrading gracefully.",
                (K.ERROR_ORIGIN, K.TOPOLOGY),
                Action(
                    "Degrade gracefully in callers of {service} when it fails",
                    L,
                    _gameday("errors from the service"),
                ),
            ),
        ),
    ),
    F.INCORRECT_RESPONSE: FaultKnowledge(
        deeper=(
            Factor(
                "Why does {service} return a wrong response?",
                "A logic error; the requests and responses must be compared.",
                (K.ERROR_ORIGIN, K.LOG_PATTERN),
                Action(
                    "Fix {service}'s response and add a contract test with its callers",
                    S,
                    "Done when the contract test fails on the bad version.",
                ),
            ),
        ),
        blast_radius=(
            Factor(
                "Why did callers fail on the wrong response?",
                "Callers trust the response without validating it.",
                (K.ERROR_ORIGIN, K.TOPOLOGY),
                Action(
                    "Validate responses at the callers of {service}",
                    M,
                    "Done when a malformed response is rejected in a test.",
                ),
            ),
        ),
    ),
}

DETECTION_NO_ALARM = Action(
    "Add an SLO burn-rate alarm on {service}'s customer-facing availability and latency",
    ActionTerm.SHORT,
    "Done when replaying this incident's data fires the alarm within 5 minutes of onset.",
)
DETECTION_SLOW_ALARM = Action(
    "Tighten alarm {alarm}: fewer evaluation periods or a multi-window burn-rate rule",
    ActionTerm.SHORT,
    "Done when replaying this incident's data fires the alarm in half the time.",
)
DETECTION_WRONG_PLACE = Action(
    "Add an alarm and a dashboard on {service}, where this failure started",
    ActionTerm.MID,
    "Done when a game day on {service} pages its owners directly.",
)
ENGAGEMENT = Action(
    "Review paging and escalation for this alarm: who was paged, how fast they engaged",
    ActionTerm.SHORT,
    "Done when the paging policy has been tested with a test page.",
)
PROPAGATION = Action(
    "Add timeouts and circuit breakers where {service}'s failure spread to its callers",
    ActionTerm.LONG,
    _gameday("the failure of {service}"),
)
RECURRENCE = Action(
    "Finish or replace past action item '{title}' from {coe}",
    ActionTerm.MID,
    "Done when the action item's own validation step has been run and recorded.",
)
UNEXPLAINED = Action(
    "Find and fix the root cause of {service}'s failure (the investigation could not name it)",
    ActionTerm.SHORT,
    "Done when the cause is confirmed and this report's five whys are updated.",
)
