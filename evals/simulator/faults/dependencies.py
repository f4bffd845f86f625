"""Faults between a service and what it calls: throttling, timeouts, TLS, network, caches, config."""

from __future__ import annotations

from evals.simulator.faults.base import (
    NS_PER_MIN,
    DepEffect,
    Fault,
    FaultSetupError,
    HostEvent,
    HostResources,
    ServerEffect,
    first_dependency,
)
from evals.simulator.messages import (
    CACHE_DOWN,
    CERT_EXPIRED,
    DYNAMODB_THROTTLE,
    DYNAMODB_THROTTLE_MESSAGE,
    OVERLOAD,
    STATEMENT_TIMEOUT,
    Failure,
    spelled,
    stacktrace,
)
from evals.simulator.topology import Dependency, Host, Operation, Service, Step
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import ChangeEvent, ChangeKind, from_nanos


class DependencyThrottling(Fault):
    """DynamoDB throttles the service's table; the SDK retries (3 attempts) and callers retry 503s."""

    fault_type = FaultType.DEPENDENCY_THROTTLING

    def setup(self) -> None:
        dep = self._table()
        self.dependency = dep.name
        self.table = dep
        runtime = self.target.runtime
        exc = DYNAMODB_THROTTLE.get(runtime, DYNAMODB_THROTTLE["java"])
        self.failure = Failure(
            exc,
            DYNAMODB_THROTTLE_MESSAGE,
            status=503,
            retryable=True,
            duration_ms=6.0,
            stack=stacktrace(runtime, self.target.name, exc, DYNAMODB_THROTTLE_MESSAGE, "query"),
        )
        self.ramp_s = 90.0
        self.detail = (
            f"DynamoDB table {dep.table} exceeded its provisioned read capacity ({dep.provisioned_rcu} RCU) and "
            "throttled requests with ProvisionedThroughputExceededException"
        )
        callers = self.topology.callers_of(self.target.name)
        self.factors = [
            f"AWS SDK retries (3 attempts per call) and {', '.join(callers) or 'caller'} retries on 503 amplified "
            f"the load on the throttled {dep.table} table",
            f"{dep.table} uses provisioned capacity without auto scaling",
        ]

    def _table(self) -> Dependency:
        if self.spec.dependency:
            dep = self.topology.dependencies.get(self.spec.dependency)
            if dep is None or dep.kind != "dynamodb" or dep.name not in self.target.dependencies():
                raise FaultSetupError(
                    f"{self.target.name} does not use a DynamoDB table {self.spec.dependency!r}"
                )
            return dep
        dep_or_none = first_dependency(self.topology, self.target, ("dynamodb",))
        if dep_or_none is None:
            users = ", ".join(self.topology.services_using("dynamodb"))
            raise FaultSetupError(
                f"dependency_throttling needs a service that uses DynamoDB; {self.target.name} does not (try: {users})"
            )
        return dep_or_none

    def dependency_call(
        self, service: Service, host: Host, step: Step, dep: Dependency, t: int
    ) -> DepEffect | None:
        if service is not self.target or dep is not self.table:
            return None
        level = self.level(t)
        if level <= 0:
            return None
        if self.rng.random() < 0.85 * level:
            return DepEffect(failure=self.failure)
        return DepEffect(latency_mult=1.0 + 0.5 * level)


class NetworkDelay(Fault):
    """Packets to and from the service's hosts are delayed: latency only, no errors, no error logs."""

    fault_type = FaultType.NETWORK_DELAY

    def setup(self) -> None:
        self.delay_ms = 180.0
        self.ramp_s = 45.0
        self.detail = (
            f"Network latency on {self.target.name}'s hosts rose by about {self.delay_ms:.0f} ms per round trip "
            "(ENI packet loss and retransmits); requests slowed but did not fail"
        )
        self.factors = ["no latency alarm on inter-service calls; only the p99 latency SLO noticed"]
        if not self.target.dependencies() and not self.target.callees():
            raise FaultSetupError(
                f"network_delay needs a service that calls something; {self.target.name} calls nothing"
            )

    def _delay(self, t: int) -> float:
        level = self.level(t)
        return self.delay_ms * level * (0.6 + 0.8 * self.rng.random()) if level > 0 else 0.0

    def call(
        self, caller: Service, caller_host: Host, callee: Service, step: Step, t: int
    ) -> DepEffect | None:
        if caller is self.target or callee is self.target:
            extra = self._delay(t)
            return DepEffect(extra_ms=extra) if extra else None
        return None

    def dependency_call(
        self, service: Service, host: Host, step: Step, dep: Dependency, t: int
    ) -> DepEffect | None:
        if service is self.target:
            extra = self._delay(t)
            return DepEffect(extra_ms=extra) if extra else None
        return None


class CertificateExpiry(Fault):
    """The service's TLS certificate expires: callers' handshakes fail, no request reaches it."""

    fault_type = FaultType.CERTIFICATE_EXPIRY

    def setup(self) -> None:
        callers = self.topology.callers_of(self.target.name)
        if not callers:
            raise FaultSetupError(
                f"certificate_expiry needs a service with callers; nothing calls {self.target.name}"
            )
        # certificates expire on the minute
        self.onset_ns -= self.onset_ns % NS_PER_MIN
        self.ramp_s = 0.001
        host = f"{self.target.name}.{self.topology.name}.svc.cluster.local"
        self.detail = f"The TLS certificate for {host} expired at {from_nanos(self.onset_ns).isoformat()}"
        self.factors = [
            "cert-manager renewal had been failing silently for 30 days (ACME challenge blocked)",
            "no alarm on certificate days-to-expiry",
        ]
        self._failures: dict[str, Failure] = {}

    def call(
        self, caller: Service, caller_host: Host, callee: Service, step: Step, t: int
    ) -> DepEffect | None:
        if callee is not self.target or t < self.onset_ns:
            return None
        failure = self._failures.get(caller.runtime)
        if failure is None:
            exc, msg = spelled(CERT_EXPIRED, caller.runtime)
            failure = Failure(
                exc, msg, status=502, duration_ms=4.0, stack=stacktrace(caller.runtime, caller.name, exc, msg)
            )
            self._failures[caller.runtime] = failure
        return DepEffect(failure=failure)

    def host_events(self) -> list[HostEvent]:
        events = []
        t = self.onset_ns + 2_000_000_000
        java = self.target.runtime == "java"
        while t < self.window_end_ns:
            for host in self.target.hosts:
                text = (
                    "javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_expired"
                    if java
                    else f"http: TLS handshake error from 10.0.{self.rng.randrange(0, 48)}.{self.rng.randrange(4, 250)}:"
                    f"{self.rng.randrange(32768, 60999)}: remote error: tls: bad certificate"
                )
                events.append(
                    HostEvent(t + self.rng.randrange(0, 5_000_000_000), self.target.name, host, "WARN", text)
                )
            t += 15_000_000_000
        return events


class CacheFailure(Fault):
    """The service's Redis client cannot reach the cache: every lookup falls back to the database."""

    fault_type = FaultType.CACHE_FAILURE

    def setup(self) -> None:
        dep = first_dependency(self.topology, self.target, ("redis",))
        if dep is None:
            users = ", ".join(self.topology.services_using("redis"))
            raise FaultSetupError(
                f"cache_failure needs a service with a cache; {self.target.name} has none (try: {users})"
            )
        self.cache = dep
        self.dependency = dep.name
        self.ramp_s = 20.0
        runtime = self.target.runtime
        exc, msg = spelled(CACHE_DOWN, runtime, address=dep.address)
        self.failure = Failure(
            exc, msg, status=500, duration_ms=2.0, stack=stacktrace(runtime, self.target.name, exc, msg)
        )
        exc2, msg2 = spelled(STATEMENT_TIMEOUT, runtime)
        self.db_timeout = Failure(
            exc2,
            msg2,
            status=500,
            duration_ms=1500.0,
            stack=stacktrace(runtime, self.target.name, exc2, msg2),
        )
        self.detail = (
            f"{self.target.name} lost its connections to Redis ({dep.name}) after a failover and every lookup "
            "fell through to PostgreSQL"
        )
        self.factors = [
            "the database was sized for a 90% cache hit ratio; the fallback load slowed its queries",
            "the Redis client does not re-resolve the primary endpoint after failover",
        ]

    def dependency_call(
        self, service: Service, host: Host, step: Step, dep: Dependency, t: int
    ) -> DepEffect | None:
        if service is not self.target:
            return None
        level = self.level(t)
        if level <= 0:
            return None
        if dep is self.cache:
            return DepEffect(failure=self.failure) if self.rng.random() < level else None
        if dep.kind == "postgresql":
            if self.rng.random() < 0.04 * level:
                return DepEffect(failure=self.db_timeout)
            return DepEffect(latency_mult=1.0 + 5.0 * level)
        return None

    def resources(self, service: Service, host: Host, t: int, res: HostResources) -> None:
        if service is self.target and self.level(t) > 0:
            res.pool_used = min(res.pool_max or 10.0, res.pool_used + 4.0 * self.level(t))
            res.cpu += 0.08 * self.level(t)


class ConfigChange(Fault):
    """A config push lowers a client timeout below the dependency's normal latency: calls time out."""

    fault_type = FaultType.CONFIG_CHANGE

    def setup(self) -> None:
        self.step_dep: Dependency | None = None
        self.step_callee: Service | None = None
        for kind in ("external", "dynamodb", "postgresql"):
            dep = first_dependency(self.topology, self.target, (kind,))
            if dep is not None:
                self.step_dep = dep
                break
        if self.step_dep is None:
            callees = self.target.callees()
            if not callees:
                raise FaultSetupError(
                    f"config_change needs a service that calls something; {self.target.name} calls nothing"
                )
            self.step_callee = self.topology.services[callees[-1]]
        peer = self.step_dep.name if self.step_dep else (self.step_callee.name if self.step_callee else "")
        self.dependency = peer
        typical = {"external": 120.0, "dynamodb": 6.0, "postgresql": 2.5}.get(
            self.step_dep.kind if self.step_dep else "", 0
        )
        self.timeout_ms = round(typical * 0.9, 1) if typical else 12.0
        self.ramp_s = 0.001
        self.change_ns = self.onset_ns - 45_000_000_000
        key = f"{peer}.client.timeout_ms"
        self.change = ChangeEvent(
            time=from_nanos(self.change_ns),
            service=self.target.name,
            kind=ChangeKind.CONFIG,
            description=f"AppConfig deployment: {key} 2000 -> {self.timeout_ms:g}",
            actor="appconfig/ops-pipeline",
            id=f"cfg-{self.rng.randrange(10_000, 99_999)}",
            attributes={
                "config.key": key,
                "config.old_value": "2000",
                "config.new_value": f"{self.timeout_ms:g}",
            },
        )
        self.detail = (
            f"A configuration change set {self.target.name}'s {peer} client timeout to {self.timeout_ms:g} ms"
        )
        self.factors = [
            "the configuration change bypassed the canary stage",
            "no validation of timeout values",
        ]

    def changes(self) -> list[ChangeEvent]:
        return [self.change]

    def dependency_call(
        self, service: Service, host: Host, step: Step, dep: Dependency, t: int
    ) -> DepEffect | None:
        if service is self.target and dep is self.step_dep and t >= self.onset_ns:
            return DepEffect(timeout_ms=self.timeout_ms)
        return None

    def call(
        self, caller: Service, caller_host: Host, callee: Service, step: Step, t: int
    ) -> DepEffect | None:
        if caller is self.target and callee is self.step_callee and t >= self.onset_ns:
            return DepEffect(timeout_ms=self.timeout_ms)
        return None


class DownstreamTimeoutRetryStorm(Fault):
    """The service turns slow; callers time out and retry, multiplying its load until it sheds requests."""

    fault_type = FaultType.DOWNSTREAM_TIMEOUT_RETRY_STORM

    def setup(self) -> None:
        callers = self.topology.callers_of(self.target.name)
        if not callers:
            raise FaultSetupError(
                f"downstream_timeout_retry_storm needs callers; nothing calls {self.target.name}"
            )
        self.db = first_dependency(self.topology, self.target, ("postgresql", "dynamodb"))
        self.ramp_s = 120.0
        where = f"its {self.db.name} queries" if self.db else "its request handling"
        self.detail = f"{self.target.name} slowed down ({where} took seconds) beyond its callers' timeouts"
        self.factors = [
            f"{', '.join(callers)} retried timed-out calls without backoff or a retry budget, multiplying the load",
            "no circuit breaker between the callers and " + self.target.name,
        ]
        runtime = self.target.runtime
        exc, msg = spelled(OVERLOAD, runtime)
        self.shed = Failure(
            exc,
            msg,
            status=503,
            at_start=True,
            duration_ms=2.0,
            stack=stacktrace(runtime, self.target.name, exc, msg),
        )

    def _slow_ms(self, t: int) -> float:
        level = self.level(t)
        if level <= 0 or self.rng.random() > 0.75:
            return 0.0
        return level * (1400.0 + self.rng.random() * 2600.0)

    def server(self, service: Service, op: Operation, host: Host, t: int) -> ServerEffect | None:
        if service is not self.target:
            return None
        level = self.level(t)
        if level <= 0:
            return None
        if self.rng.random() < 0.18 * level:
            return ServerEffect(failure=self.shed)
        if self.db is None:
            return ServerEffect(extra_ms=self._slow_ms(t))
        return None

    def dependency_call(
        self, service: Service, host: Host, step: Step, dep: Dependency, t: int
    ) -> DepEffect | None:
        if service is self.target and dep is self.db:
            extra = self._slow_ms(t)
            return DepEffect(extra_ms=extra) if extra else None
        return None

    def resources(self, service: Service, host: Host, t: int, res: HostResources) -> None:
        if service is self.target and self.level(t) > 0:
            res.pool_used = res.pool_max or res.pool_used
            res.pool_pending = 6.0 * self.level(t) if res.pool_max else 0.0
