"""What usually lies below the trigger, widens the blast radius, or delays detection, per fault type.

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
    detection: tuple[Factor, ...] = ()  # fault-specific reasons an alarm did not fire sooner


S, M, L = ActionTerm.SHORT, ActionTerm.MID, ActionTerm.LONG


def _gameday(what: str) -> str:
    return f"Done when a game day or test reproduces {what} and customers see no errors."


def _f(
    question: str, answer: str, kinds: tuple[K, ...], title: str, term: ActionTerm, validation: str
) -> Factor:
    return Factor(question, answer, kinds, Action(title, term, validation))


_CANARY = _f(
    "Why did the canary stage not stop the change before it reached every customer?",
    "The change reached all of {service} without a canary that exercised the failing requests, or bypassed it.",
    (K.CHANGE,),
    "Deploy {service} (code and configuration) through a one-box/canary stage that carries real traffic for every route",
    M,
    "Done when a deliberately faulty build is stopped in the canary stage.",
)
_ROLLBACK = _f(
    "Why did the change not roll back automatically?",
    "Automatic rollback on error-rate alarms was not enabled for {service}'s deployments.",
    (K.CHANGE,),
    "Enable automatic rollback of {service} deployments on 5xx and latency alarms",
    S,
    "Done when a deliberately faulty deployment rolls itself back within 10 minutes.",
)
_PER_HOST_ALARM = _f(
    "Why did no alarm single out the failing {component}?",
    "Alarms aggregate over the fleet, so one bad host or zone moves the average slowly.",
    (K.HOST_SKEW,),
    "Alarm on per-host and per-zone error-rate outliers for {service}",
    S,
    "Done when replaying this incident's data fires the outlier alarm within 3 minutes.",
)

KNOWLEDGE: dict[F, FaultKnowledge] = {
    F.SINGLE_HOST_FAILURE: FaultKnowledge(
        deeper=(
            _f(
                "Why did {component} fail?",
                "The host's own logs show the failure; the underlying fault must be confirmed.",
                (K.LOG_PATTERN, K.HOST_SKEW),
                "Replace {component} and check the fleet for the same fault",
                S,
                "Done when {component} is out of service and no other host shows the same errors.",
            ),
            _f(
                "Why did the hardware, disk or volume under {component} fail?",
                "Not visible in application telemetry: check the host's system logs and the provider's events.",
                (),
                "Get the provider's root cause for {component} and alarm on host-level disk and volume errors",
                M,
                "Done when an injected disk error on a test host raises the alarm.",
            ),
        ),
        blast_radius=(
            _f(
                "Why did health checks not take {component} out of service?",
                "The load balancer's health check is shallow (it does not touch what real requests use), so it passed while real requests failed.",
                (K.HOST_SKEW,),
                "Make {service}'s health check exercise its disk and dependencies (deep health check) and eject failing hosts",
                M,
                _gameday("a host that fails every request"),
            ),
        ),
        detection=(_PER_HOST_ALARM,),
    ),
    F.AZ_IMPAIRMENT: FaultKnowledge(
        deeper=(
            _f(
                "Why did {component} degrade?",
                "An infrastructure impairment in the zone; confirm with the provider's health dashboard.",
                (K.HOST_SKEW,),
                "Record the provider's explanation for the {component} impairment",
                S,
                "Done when the provider's root cause is linked here.",
            ),
        ),
        blast_radius=(
            _f(
                "Why did traffic keep flowing to {component}?",
                "Cross-zone load balancing kept sending the impaired zone its share of traffic, and zonal shift is manual.",
                (K.HOST_SKEW,),
                "Enable automatic zonal shift (zonal autoshift) for {service}'s load balancer",
                M,
                _gameday("an impaired zone"),
            ),
        ),
        detection=(_PER_HOST_ALARM,),
    ),
    F.BAD_DEPLOYMENT: FaultKnowledge(
        deeper=(
            _f(
                "Why did the new version of {service} fail?",
                "A code defect in the deployed version; the exception and the commit must be identified.",
                (K.LOG_PATTERN, K.ERROR_ORIGIN),
                "Fix the defect in {service} and add a regression test",
                S,
                "Done when the regression test fails on the bad version and passes on the fix.",
            ),
        ),
        blast_radius=(_CANARY, _ROLLBACK),
    ),
    F.CONFIG_CHANGE: FaultKnowledge(
        deeper=(
            _f(
                "Why did the configuration change break {service}?",
                "The new value was invalid for this environment and nothing validated it before it was applied.",
                (K.CHANGE, K.LOG_PATTERN),
                "Validate {service}'s configuration values (types, ranges such as timeouts) before they are applied",
                M,
                "Done when applying the bad value is rejected in a test.",
            ),
        ),
        blast_radius=(_CANARY, _ROLLBACK),
    ),
    F.DEPENDENCY_THROTTLING: FaultKnowledge(
        deeper=(
            _f(
                "Why did {component} throttle {service}?",
                "Provisioned capacity without auto scaling was below the request rate; confirm the capacity settings and traffic growth.",
                (K.LOG_PATTERN, K.ERROR_ORIGIN, K.METRIC_ANOMALY),
                "Enable auto scaling (or on-demand capacity) for {component}, with a capacity alarm at 80%",
                S,
                "Done when a load test at peak rate sees no throttling.",
            ),
        ),
        blast_radius=(
            _f(
                "Why did throttling turn into customer errors instead of being absorbed?",
                "SDK and caller retries without jitter or a budget multiplied the load on the throttled dependency.",
                (K.LOG_PATTERN, K.METRIC_ANOMALY),
                "Use exponential backoff with jitter and a retry budget in {service} and its callers",
                M,
                _gameday("throttling of the dependency"),
            ),
        ),
    ),
    F.DOWNSTREAM_TIMEOUT_RETRY_STORM: FaultKnowledge(
        deeper=(
            _f(
                "Why did {component} become slow?",
                "The downstream slowed first; its own cause must be confirmed by its owners.",
                (K.LATENCY, K.METRIC_ANOMALY),
                "Confirm and fix the downstream slowdown in {component}",
                S,
                "Done when the downstream's latency is back to baseline under load.",
            ),
        ),
        blast_radius=(
            _f(
                "Why did a slow dependency take its callers down with it?",
                "Callers retried timed-out calls without backoff or a retry budget, multiplying the load.",
                (K.LATENCY, K.LOG_PATTERN),
                "Retry at one layer only, with backoff and a retry budget; align timeouts down the call chain",
                M,
                _gameday("a slow downstream"),
            ),
            _f(
                "Why did no circuit breaker stop the calls?",
                "No circuit breaker sits between the callers and the slow service, so calls kept piling up.",
                (K.TOPOLOGY, K.LATENCY),
                "Add circuit breakers between {service}'s callers and {service}",
                M,
                _gameday("a slow downstream"),
            ),
        ),
    ),
    F.CONNECTION_POOL_EXHAUSTION: FaultKnowledge(
        deeper=(
            _f(
                "Why was {service}'s connection pool exhausted?",
                "Connections were held longer than usual (slow queries or leaks) while the pool size stayed fixed.",
                (K.LOG_PATTERN, K.METRIC_ANOMALY),
                "Find what held connections and size the pool from measured concurrency",
                S,
                "Done when a load test at peak holds pool usage below 80%.",
            ),
        ),
        blast_radius=(
            _f(
                "Why did waiting for a connection fail requests outright?",
                "The pool's connection timeout fails requests fast instead of queueing them briefly, and no bulkhead separates request types.",
                (K.LATENCY, K.LOG_PATTERN),
                "Tune the pool's connection timeout against the request timeout and add bulkheads per dependency",
                M,
                _gameday("pool exhaustion"),
            ),
        ),
        detection=(
            _f(
                "Why did no alarm watch the connection pool?",
                "No alarm on pending connection requests or pool utilisation.",
                (K.METRIC_ANOMALY,),
                "Alarm on {service}'s pending connection requests and pool utilisation",
                S,
                "Done when replaying this incident's data fires the pool alarm before the SLO breaches.",
            ),
        ),
    ),
    F.CACHE_FAILURE: FaultKnowledge(
        deeper=(
            _f(
                "Why did the cache fail?",
                "The cache node became unavailable or failed over; its own cause must be confirmed.",
                (K.ERROR_ORIGIN, K.LOG_PATTERN),
                "Run the cache with a replica and tested automatic failover",
                M,
                _gameday("the loss of a cache node"),
            ),
            _f(
                "Why did {service} not reconnect after the cache failed over?",
                "The cache client keeps the resolved primary endpoint and does not re-resolve it after a failover.",
                (K.LOG_PATTERN, K.ERROR_ORIGIN),
                "Make {service}'s cache client re-resolve the primary endpoint on connection errors",
                S,
                "Done when a cache failover in staging causes under a minute of misses.",
            ),
        ),
        blast_radius=(
            _f(
                "Why did losing the cache hurt customers?",
                "Every miss fell through to the database, which was sized for a high cache hit ratio, so its queries slowed.",
                (K.LATENCY, K.METRIC_ANOMALY),
                "Size the database for cache loss and shed or coalesce requests when the cache is down",
                L,
                _gameday("a cold or missing cache"),
            ),
        ),
    ),
    F.CPU_SATURATION: FaultKnowledge(
        deeper=(
            _f(
                "Why did {service} saturate its CPU?",
                "Load or per-request cost grew beyond the fleet's capacity.",
                (K.METRIC_ANOMALY,),
                "Profile {service}'s hot path and fix the regression or add capacity",
                S,
                "Done when peak load runs below 70% CPU.",
            ),
        ),
        blast_radius=(
            _f(
                "Why did the fleet not scale out in time?",
                "Auto scaling was capped at the current host count, or reacts slower than the load grew.",
                (K.METRIC_ANOMALY,),
                "Raise {service}'s auto scaling cap and scale on a leading metric with headroom",
                M,
                _gameday("a load spike"),
            ),
        ),
        detection=(
            _f(
                "Why did no alarm fire on CPU?",
                "No CPU utilisation alarm on {service}.",
                (K.METRIC_ANOMALY,),
                "Alarm on {service}'s CPU utilisation and throttling",
                S,
                "Done when replaying this incident's data fires the CPU alarm.",
            ),
        ),
    ),
    F.MEMORY_LEAK: FaultKnowledge(
        deeper=(
            _f(
                "Why did {service} leak memory?",
                "A code path retains objects; a heap profile must confirm which.",
                (K.METRIC_ANOMALY, K.LOG_PATTERN),
                "Fix the leak in {service} and add a soak test",
                S,
                "Done when a 24-hour soak test shows flat memory.",
            ),
        ),
        blast_radius=(
            _f(
                "Why did restarts not contain the damage?",
                "Restarts reset memory and hid the leak between deploys, until hosts ran out together.",
                (K.METRIC_ANOMALY, K.LOG_PATTERN),
                "Stagger restarts and track memory growth across deploys",
                M,
                "Done when a soak test shows the growth rate on a dashboard and alarm.",
            ),
        ),
        detection=(
            _f(
                "Why did no alarm warn of memory growth?",
                "No alarm on container memory against its limit.",
                (K.METRIC_ANOMALY,),
                "Alarm on {service}'s container memory at 80% of its limit and on growth rate",
                S,
                "Done when a soak test raises the memory alarm.",
            ),
        ),
    ),
    F.NETWORK_DELAY: FaultKnowledge(
        deeper=(
            _f(
                "Why did the network between {service} and {component} slow down?",
                "A network path degraded; confirm with the provider or network team.",
                (K.LATENCY,),
                "Record the network root cause from the provider",
                S,
                "Done when the provider's explanation is linked here.",
            ),
        ),
        blast_radius=(
            _f(
                "Why did extra network latency reach customers?",
                "Sequential calls add the delay on every hop; no hedging or timeouts cap it.",
                (K.LATENCY,),
                "Cap per-hop timeouts and parallelise independent calls in {service}",
                M,
                _gameday("added network latency"),
            ),
        ),
        detection=(
            _f(
                "Why did only the latency SLO notice?",
                "No latency alarm on inter-service calls.",
                (K.LATENCY,),
                "Alarm on p99 latency of {service}'s inter-service calls",
                S,
                "Done when replaying this incident's data fires the latency alarm.",
            ),
        ),
    ),
    F.CERTIFICATE_EXPIRY: FaultKnowledge(
        deeper=(
            _f(
                "Why did the certificate expire?",
                "Automatic renewal was failing silently (or renewal is manual).",
                (K.LOG_PATTERN, K.ERROR_ORIGIN),
                "Fix certificate renewal and alarm when a renewal attempt fails",
                S,
                "Done when a failed renewal in staging raises an alarm.",
            ),
        ),
        blast_radius=(
            _f(
                "Why did one certificate fail every call?",
                "All clients use the same endpoint and certificate; there is no fallback path.",
                (K.ERROR_ORIGIN,),
                "Inventory certificates per endpoint with owners and expiry dates",
                M,
                "Done when every endpoint's certificate has an owner and an alarm.",
            ),
        ),
        detection=(
            _f(
                "Why did no alarm warn before the certificate expired?",
                "No alarm on certificate days-to-expiry.",
                (),
                "Alarm on certificate days-to-expiry at 30 and 7 days",
                S,
                "Done when a test certificate near expiry raises the alarm.",
            ),
        ),
    ),
    F.ERROR_EXCEPTION: FaultKnowledge(
        deeper=(
            _f(
                "Why does {service} throw on these requests?",
                "An input or state the code does not handle; the exception names where.",
                (K.LOG_PATTERN, K.ERROR_ORIGIN),
                "Handle the failing case in {service} and add a test with the failing input",
                S,
                "Done when the test reproduces the exception before the fix and passes after.",
            ),
            _f(
                "Why did the failing input reach {service}?",
                "No input validation at the API boundary rejected it.",
                (K.LOG_PATTERN,),
                "Validate input at the API boundary and return 4xx for invalid requests",
                M,
                "Done when the failing input is rejected with a 4xx in a test.",
            ),
        ),
        blast_radius=(
            _f(
                "Why did the exception fail the customer's whole request?",
                "Callers pass the error through instead of degrading gracefully.",
                (K.ERROR_ORIGIN, K.TOPOLOGY),
                "Degrade gracefully in callers of {service} when it fails",
                L,
                _gameday("errors from the service"),
            ),
        ),
    ),
    F.INCORRECT_RESPONSE: FaultKnowledge(
        deeper=(
            _f(
                "Why does {service} return a wrong response?",
                "A logic error; the requests and responses must be compared.",
                (K.ERROR_ORIGIN, K.LOG_PATTERN),
                "Fix {service}'s response and add a contract test with its callers",
                S,
                "Done when the contract test fails on the bad version.",
            ),
        ),
        blast_radius=(
            _f(
                "Why did callers fail on the wrong response?",
                "Callers do not distinguish a 'not found' answer from a broken dependency and trust the response without validating it.",
                (K.ERROR_ORIGIN, K.TOPOLOGY),
                "Validate responses at the callers of {service} and treat unexpected 4xx as failures",
                M,
                "Done when a malformed response is rejected in a test.",
            ),
        ),
        detection=(
            _f(
                "Why did {service}'s own monitoring stay green?",
                "Its SLO counts client errors (4xx) as good, so wrong answers did not burn its error budget.",
                (),
                "Count unexpected 4xx answers as bad events in {service}'s SLO",
                S,
                "Done when replaying this incident's data burns {service}'s error budget.",
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
