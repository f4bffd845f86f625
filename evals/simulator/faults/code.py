"""Faults in the service's own code: a bad deployment, an exception, a wrong response."""

from __future__ import annotations

from evals.simulator.faults.base import NS_PER_S, Fault, FaultSetupError, ServerEffect
from evals.simulator.messages import MODELS, UNHANDLED, Failure, spelled, stacktrace
from evals.simulator.topology import Host, Operation, Service
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import ChangeEvent, ChangeKind, from_nanos


def bump_minor(version: str) -> str:
    parts = version.split(".")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{parts[0]}.{int(parts[1]) + 1}.0"
    return version + "-next"


def _unhandled(service: Service, frame: str) -> Failure:
    model, var = MODELS.get(service.name, ("Record", "record"))
    exc, msg = spelled(
        UNHANDLED, service.runtime, model=f"org.springframework.samples.petclinic.model.{model}", var=var
    )
    return Failure(exc, msg, status=500, stack=stacktrace(service.runtime, service.name, exc, msg, frame))


class BadDeployment(Fault):
    """A new version rolls out host by host; hosts on it fail a share of requests."""

    fault_type = FaultType.BAD_DEPLOYMENT

    def setup(self) -> None:
        if self.target.batch:
            raise FaultSetupError(
                f"bad_deployment needs a service that serves requests; {self.target.name} is a batch job"
            )
        self.old_version = self.target.version
        self.new_version = bump_minor(self.old_version)
        self.change_ns = self.onset_ns - 75 * NS_PER_S
        # the rollout replaces one host every 40 s; the first new host serves at onset
        self.switch_ns = {h.index: self.onset_ns + i * 40 * NS_PER_S for i, h in enumerate(self.target.hosts)}
        self.ramp_s = 0.001
        self.bad_op = next(iter(self.target.operations))
        self.failure = _unhandled(self.target, "handle")
        self.change = ChangeEvent(
            time=from_nanos(self.change_ns),
            service=self.target.name,
            kind=ChangeKind.DEPLOYMENT,
            version=self.new_version,
            previous_version=self.old_version,
            description=f"Deploy {self.target.name} {self.new_version} (rolling, {len(self.target.hosts)} hosts)",
            actor="codepipeline/petclinic-release",
            id=f"deploy-{self.rng.randrange(100_000, 999_999)}",
        )
        self.detail = (
            f"{self.target.name} {self.new_version} throws {self.failure.exception_type} on {self.bad_op} "
            "(a null field that older clients still send)"
        )
        self.factors = [
            "the canary stage had no traffic for the failing route",
            "automatic rollback on 5xx was disabled",
        ]

    def changes(self) -> list[ChangeEvent]:
        return [self.change]

    def version(self, host: Host, t: int) -> str | None:
        if host.service != self.target.name:
            return None
        return self.new_version if t >= self.switch_ns[host.index] else None

    def server(self, service: Service, op: Operation, host: Host, t: int) -> ServerEffect | None:
        if service is not self.target or t < self.switch_ns[host.index]:
            return None
        rate = 0.6 if op.name == self.bad_op else 0.15
        if self.rng.random() < rate * self.spec.intensity:
            return ServerEffect(failure=self.failure, latency_mult=1.2)
        return ServerEffect(latency_mult=1.2)


class ErrorException(Fault):
    """A latent bug: code throws on some requests (a data shape it never handled). No change event."""

    fault_type = FaultType.ERROR_EXCEPTION

    def setup(self) -> None:
        if self.target.batch:
            raise FaultSetupError(
                f"error_exception needs a service that serves requests; {self.target.name} is a batch job"
            )
        ops = list(self.target.operations)
        self.bad_op = ops[self.rng.randrange(len(ops))]
        if self.spec.host_index is not None:  # injected into one replica only
            self.host = self.target.hosts[self.spec.host_index % len(self.target.hosts)]
        self.failure = _unhandled(self.target, "process")
        self.ramp_s = 120.0
        self.detail = (
            f"{self.target.name} throws {self.failure.exception_type} on {self.bad_op} for records created by the "
            "new mobile app (a field the code assumes is always present)"
        )
        if self.host is not None:
            self.detail += f"; only pod {self.host.pod} throws (the fault was injected into that replica)"
        self.factors = [
            "no input validation at the API boundary",
            "error-rate alarm evaluated over 5 minutes",
        ]

    def server(self, service: Service, op: Operation, host: Host, t: int) -> ServerEffect | None:
        if (
            service is self.target
            and op.name == self.bad_op
            and (self.host is None or host is self.host)
            and self.rng.random() < 0.45 * self.level(t)
        ):
            return ServerEffect(failure=self.failure)
        return None


class IncorrectResponse(Fault):
    """The service answers valid requests with 404; it logs nothing wrong, its callers fail."""

    fault_type = FaultType.INCORRECT_RESPONSE

    def setup(self) -> None:
        callers = [c for c in self.topology.callers_of(self.target.name)]
        if not callers:
            raise FaultSetupError(
                f"incorrect_response needs a service with callers; nothing calls {self.target.name}"
            )
        self.ramp_s = 60.0
        model, _ = MODELS.get(self.target.name, ("Record", "record"))
        self.detail = (
            f"{self.target.name} answers 404 Not Found for existing {model.lower()}s (a query filter inverted in a "
            "shared library); callers treat the 404 as a failure"
        )
        self.factors = [
            "the service's own SLO counts 4xx as good, so its dashboards stayed green",
            "callers do not distinguish 'not found' from a broken dependency",
        ]

    def server(self, service: Service, op: Operation, host: Host, t: int) -> ServerEffect | None:
        if service is self.target and op.method and self.rng.random() < 0.5 * self.level(t):
            return ServerEffect(status=404)
        return None
