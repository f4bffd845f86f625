"""The traffic engine: requests flow through the topology and leave spans, logs and aggregates.

One request is one trace. A server span picks a host through the load balancer, spends some self
time, runs its steps (calls to other services, DynamoDB, PostgreSQL, Redis, SQS, external APIs)
in order and answers. Faults are consulted at every decision; failures propagate to callers the
way real code propagates them (the SDK retries throttles, the gateway retries 5xx and timeouts,
a proxy passes the upstream status through, a service answers 500 when a step fails).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from evals.simulator.faults.base import NS_PER_MIN, NS_PER_S, DepEffect, Fault, ServerEffect
from evals.simulator.logs import LogWriterMixin
from evals.simulator.messages import (
    TIMEOUT,
    Failure,
    spelled,
    stacktrace,
)
from evals.simulator.metrics import MinuteAggregate
from evals.simulator.records import SCOPES, Resources, exception_event, span_record
from evals.simulator.topology import Dependency, Host, Operation, Service, Step, Topology

SERVER, CLIENT, PRODUCER, CONSUMER, INTERNAL = 2, 3, 4, 5, 1
NS_PER_MS = 1_000_000

DEP_LATENCY_MS = {"dynamodb": 5.0, "postgresql": 2.2, "redis": 0.45, "sqs": 7.0, "external": 120.0}
DB_OP_FACTOR = {"Query": 1.3, "PutItem": 1.5, "GetItem": 1.0, "UPDATE": 1.8, "INSERT": 1.6}
SQL_TEMPLATES = {
    "SELECT": "SELECT * FROM {table} WHERE id = $1",
    "UPDATE": "UPDATE {table} SET status = $1, updated_at = now() WHERE id = $2",
    "INSERT": "INSERT INTO {table} (id, payload) VALUES ($1, $2)",
}
REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    404: "Not Found",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
BACKGROUND_ERROR_RATE = 0.0015


@dataclass
class StepResult:
    end_ns: int
    failure: Failure | None = None
    status: int = 0  # the status a failing server answers with because of this step
    timed_out: bool = False


@dataclass
class ServerResult:
    end_ns: int
    status: int
    failure: Failure | None


def _combine_server(effects: list[ServerEffect]) -> ServerEffect:
    out = ServerEffect()
    for e in effects:
        out.latency_mult *= e.latency_mult
        out.extra_ms += e.extra_ms
        out.failure = out.failure or e.failure
        out.status = out.status or e.status
    return out


def _combine_dep(effects: list[DepEffect]) -> DepEffect:
    out = DepEffect()
    for e in effects:
        out.latency_mult *= e.latency_mult
        out.extra_ms += e.extra_ms
        out.failure = out.failure or e.failure
        if e.timeout_ms is not None:
            out.timeout_ms = e.timeout_ms if out.timeout_ms is None else min(out.timeout_ms, e.timeout_ms)
    return out


class Engine(LogWriterMixin):
    def __init__(
        self,
        topology: Topology,
        faults: list[Fault],
        rng: random.Random,
        resources: Resources,
        background_error_rate: float = BACKGROUND_ERROR_RATE,
    ) -> None:
        self.topology = topology
        self.faults = faults
        self.rng = rng
        self.resources = resources
        self.background_error_rate = background_error_rate
        self.spans: list[tuple[int, int, dict[str, Any], str, dict[str, Any]]] = []
        self.logs: list[tuple[int, int, dict[str, Any], str, dict[str, Any]]] = []
        self.agg = MinuteAggregate()
        self.versions: dict[tuple[str, int], str] = {
            (s.name, h.index): s.version for s in topology.services.values() for h in s.hosts
        }
        self.version_overrides: list[Any] = []  # objects with .version(host, t) -> str | None
        self._consumers = {
            op.consumer_of: (s, op)
            for s in topology.services.values()
            for op in s.operations.values()
            if op.consumer_of
        }
        entries = topology.entry_operations()
        self._entries = entries
        total = sum(op.entry_weight for _, op in entries)
        acc = 0.0
        self._entry_cum: list[float] = []
        for _, op in entries:
            acc += op.entry_weight / total
            self._entry_cum.append(acc)

    # ------------------------------------------------------------------------ identities
    def _span_id(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"

    def trace_id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def version_of(self, service: Service, host: Host, t: int) -> str:
        for source in self.version_overrides:
            v = source.version(host, t)
            if v is not None:
                return str(v)
        return service.version

    def _resource(self, service: Service, host: Host, t: int) -> tuple[int, dict[str, Any]]:
        version = self.version_of(service, host, t)
        self.versions[(service.name, host.index)] = version
        return self.resources.host(service, host, version)

    def _add_span(
        self, service: Service, host: Host, family: str, start: int, record: dict[str, Any]
    ) -> None:
        rid, resource = self._resource(service, host, start)
        self.spans.append((start, rid, resource, SCOPES[service.runtime][family], record))

    # ---------------------------------------------------------------------- load balancing
    def pick_host(self, service: Service, t: int) -> Host | None:
        weights = [1.0] * len(service.hosts)
        for fault in self.faults:
            fault.host_weights(service, t, weights)
        total = sum(weights)
        if total <= 0:
            return None
        x = self.rng.random() * total
        for host, w in zip(service.hosts, weights, strict=True):
            x -= w
            if x < 0:
                return host
        return service.hosts[-1]

    # -------------------------------------------------------------------------- requests
    def request(self, t: int) -> None:
        x = self.rng.random()
        chosen = self._entries[-1]
        for entry, edge in zip(self._entries, self._entry_cum, strict=True):
            if x < edge:
                chosen = entry
                break
        self.serve(chosen[0], chosen[1], t, self.trace_id(), None, SERVER)

    def serve(
        self,
        service: Service,
        op: Operation,
        t: int,
        trace_id: str,
        parent_id: str | None,
        kind: int,
        host: Host | None = None,
    ) -> ServerResult | None:
        rng = self.rng
        host = host or self.pick_host(service, t)
        if host is None:
            return None
        span_id = self._span_id()
        effect = _combine_server(
            [e for f in self.faults if (e := f.server(service, op, host, t)) is not None]
        )
        self_ms = op.self_ms * math.exp(rng.gauss(0.0, 0.35)) * effect.latency_mult + effect.extra_ms
        cursor = t + int(self_ms * 0.6 * NS_PER_MS)
        failure: Failure | None = None
        propagated = False  # the failure came from a step, not from this server's own code
        status = 200
        if effect.failure is not None and effect.failure.at_start:
            failure = effect.failure
            cursor += int(failure.duration_ms * NS_PER_MS)
            status = failure.status
        else:
            for step in op.steps:
                if step.p < 1.0 and rng.random() >= step.p:
                    continue
                result = self.run_step(service, host, step, cursor, trace_id, span_id)
                cursor = result.end_ns
                if result.failure is not None:
                    failure = result.failure
                    status = result.status
                    propagated = True
                    break
            if failure is None and effect.failure is not None:
                failure = effect.failure
                status = failure.status
            elif failure is None and rng.random() < self.background_error_rate:
                failure = self._background_failure(service)
                status = failure.status
        end = cursor + int(self_ms * 0.4 * NS_PER_MS)
        if failure is None and effect.status:
            status = effect.status
        error = status >= 500
        attrs = self._server_attrs(service, op, host, status, kind)
        events = None
        # a proxy passes an upstream failure on without an exception of its own
        if (
            failure is not None
            and error
            and failure.exception_type
            and not (propagated and service.passthrough)
        ):
            events = [
                exception_event(end - NS_PER_MS // 2, failure.exception_type, failure.message, failure.stack)
            ]
        record = span_record(
            trace_id,
            span_id,
            parent_id,
            op.name,
            kind,
            t,
            end,
            attrs,
            (failure.text if failure is not None else REASONS.get(status, "")) if error else None,
            events,
        )
        self._add_span(service, host, "server", t, record)
        duration_ms = (end - t) / NS_PER_MS
        self.agg.add_server(service.name, host.index, op.name, duration_ms, error)
        self.log_request(service, op, host, t, end, status, trace_id, span_id, failure if error else None)
        return ServerResult(end, status, failure if error else None)

    def _background_failure(self, service: Service) -> Failure:
        """A harmless transient error (a read timeout to a peer), the kind every system has."""
        exc, msg = spelled(TIMEOUT, service.runtime, secs=2)
        msg = f"{msg} (transient)"
        return Failure(exc, msg, status=500, stack=stacktrace(service.runtime, service.name, exc, msg))

    def _server_attrs(
        self, service: Service, op: Operation, host: Host, status: int, kind: int
    ) -> dict[str, Any]:
        if kind == CONSUMER:
            dep = self.topology.dependencies[op.consumer_of]
            return {
                "messaging.system": "aws_sqs",
                "messaging.operation.type": "process",
                "messaging.destination.name": dep.queue,
                "rpc.system": "aws-api",
                "rpc.service": "SQS",
                "rpc.method": "ReceiveMessage",
            }
        return {
            "http.request.method": op.method,
            "http.route": op.route,
            "url.path": op.route.replace("{", "").replace("}", ""),
            "url.scheme": "http",
            "server.address": f"{service.name}.{self.topology.name}.svc.cluster.local",
            "server.port": 8080,
            "network.protocol.version": "1.1",
            "client.address": "10.0.0.1",
            "http.response.status_code": status,
        }

    # ----------------------------------------------------------------------------- steps
    def run_step(
        self, service: Service, host: Host, step: Step, t: int, trace_id: str, parent_id: str
    ) -> StepResult:
        if step.kind == "call":
            return self.call_service(service, host, step, t, trace_id, parent_id)
        if step.kind == "cache":
            return self.cache_lookup(service, host, step, t, trace_id, parent_id)
        if step.kind == "publish":
            return self.publish(service, host, step, t, trace_id, parent_id)
        return self.call_dependency(service, host, step, t, trace_id, parent_id)

    def call_service(
        self, caller: Service, host: Host, step: Step, t: int, trace_id: str, parent_id: str
    ) -> StepResult:
        rng = self.rng
        callee = self.topology.services[step.service]
        op = callee.operations[step.op]
        retries = step.retries if step.retries >= 0 else caller.retries
        result = StepResult(t)
        for attempt in range(retries + 1):
            span_id = self._span_id()
            effect = _combine_dep(
                [e for f in self.faults if (e := f.call(caller, host, callee, step, t)) is not None]
            )
            net_ns = int((0.35 + rng.random() * 0.5 + effect.extra_ms) * NS_PER_MS)
            timeout_ms = effect.timeout_ms or step.timeout_ms
            failure: Failure | None = None
            status: int | None = None
            timed_out = False
            if effect.failure is not None:
                end = t + int(effect.failure.duration_ms * NS_PER_MS)
                failure = effect.failure
            else:
                served = self.serve(callee, op, t + net_ns // 2, trace_id, span_id, SERVER)
                if served is None:
                    exc, msg = (
                        "ConnectException",
                        f"Connection refused: {callee.name}:8080 (no healthy endpoints)",
                    )
                    failure = Failure(exc, msg, status=502, retryable=True)
                    end = t + NS_PER_MS
                else:
                    end = served.end_ns + net_ns - net_ns // 2
                    status = served.status
                    if served.failure is not None:
                        failure = served.failure
            if timeout_ms and end - t > timeout_ms * NS_PER_MS:
                end = t + int(timeout_ms * NS_PER_MS)
                exc, msg = spelled(TIMEOUT, caller.runtime, secs=timeout_ms / 1000)
                failure = Failure(
                    exc, f"{msg} after {timeout_ms:.0f}ms calling {callee.name}", status=504, retryable=True
                )
                status = None
                timed_out = True
            error = failure is not None or (status is not None and status >= 400)
            attrs: dict[str, Any] = {
                "http.request.method": op.method,
                "url.full": f"http://{callee.name}.{self.topology.name}.svc.cluster.local:8080{op.route}",
                "server.address": f"{callee.name}.{self.topology.name}.svc.cluster.local",
                "server.port": 8080,
                "peer.service": callee.name,
            }
            if status is not None:
                attrs["http.response.status_code"] = status
            if attempt:
                attrs["http.request.resend_count"] = attempt
            message = None
            if error:
                if failure is not None and (timed_out or status is None):
                    attrs["error.type"] = failure.exception_type
                    message = failure.text
                else:
                    attrs["error.type"] = str(status)
                    message = f"{status} {REASONS.get(status or 0, '')}".strip()
            name = f"{op.method} {op.route}" if op.method else op.name
            self._add_span(
                caller,
                host,
                "http",
                t,
                span_record(trace_id, span_id, parent_id, name, CLIENT, t, end, attrs, message),
            )
            self.agg.add_client(caller.name, host.index, callee.name, (end - t) / NS_PER_MS, error)
            if not error:
                if rng.random() < 0.5:
                    self.log_call(
                        caller, host, end, trace_id, parent_id, callee.name, op.name, status or 200, end - t
                    )
                return StepResult(end)
            retry = (
                timed_out
                or status in (502, 503, 504)
                or (failure is not None and failure.retryable and status is None)
            )
            upstream = status if status is not None else (failure.status if failure else 502)
            answer = upstream if caller.passthrough else 500
            if timed_out:
                answer = 504 if caller.passthrough else 500
            why = failure if failure is not None and (timed_out or status is None) else None
            result = StepResult(
                end, why or self._upstream_failure(caller, callee, op, status or 0), answer, timed_out
            )
            self.log_call_failure(
                caller,
                host,
                end,
                trace_id,
                parent_id,
                callee.name,
                op.name,
                status,
                result.failure,
                will_retry=retry and attempt < retries,
            )
            if not (retry and attempt < retries):
                return result
            t = end + int((25 * 2**attempt) * (0.5 + rng.random()) * NS_PER_MS)
        return result

    def _upstream_failure(self, caller: Service, callee: Service, op: Operation, status: int) -> Failure:
        reason = REASONS.get(status, "")
        if caller.runtime == "java":
            exc = (
                "org.springframework.web.client.HttpServerErrorException"
                if status >= 500
                else "org.springframework.web.client.HttpClientErrorException"
            )
        elif caller.runtime == "python":
            exc = "httpx.HTTPStatusError"
        elif caller.runtime == "go":
            exc = "UpstreamError"
        else:
            exc = "HTTPError"
        msg = f"{status} {reason} from {callee.name} {op.name}"
        return Failure(exc, msg, status=500, stack=stacktrace(caller.runtime, caller.name, exc, msg))

    def call_dependency(
        self, service: Service, host: Host, step: Step, t: int, trace_id: str, parent_id: str
    ) -> StepResult:
        rng = self.rng
        dep = self.topology.dependencies[step.dep]
        attempts = 3 if dep.kind == "dynamodb" else 1  # AWS SDK standard retry mode: 3 attempts
        failure: Failure | None = None
        for attempt in range(attempts):
            effect = _combine_dep(
                [e for f in self.faults if (e := f.dependency_call(service, host, step, dep, t)) is not None]
            )
            base = step.latency_ms or DEP_LATENCY_MS[dep.kind]
            latency = (
                base * DB_OP_FACTOR.get(step.op, 1.0) * math.exp(rng.gauss(0.0, 0.4)) * effect.latency_mult
            )
            latency += effect.extra_ms
            failure = effect.failure
            if failure is not None and failure.duration_ms:
                latency = failure.duration_ms * (0.7 + 0.6 * rng.random())
            if failure is None and effect.timeout_ms is not None and latency > effect.timeout_ms:
                latency = effect.timeout_ms
                exc, msg = spelled(TIMEOUT, service.runtime, secs=effect.timeout_ms / 1000)
                failure = Failure(
                    exc,
                    f"{msg} after {effect.timeout_ms:.0f}ms calling {dep.name}",
                    status=500,
                    retryable=True,
                )
            end = t + int(latency * NS_PER_MS)
            name, family, attrs = self._dependency_attrs(service, step, dep)
            if failure is not None:
                attrs["error.type"] = failure.exception_type
                if dep.kind == "dynamodb":
                    attrs["http.response.status_code"] = (
                        400 if "Throughput" in failure.exception_type else 500
                    )
            elif dep.kind in ("dynamodb", "external", "sqs"):
                attrs["http.response.status_code"] = 200
            events = None
            if failure is not None:
                events = [exception_event(end, failure.exception_type, failure.message, failure.stack)]
            record = span_record(
                trace_id,
                self._span_id(),
                parent_id,
                name,
                CLIENT,
                t,
                end,
                attrs,
                failure.text if failure else None,
                events,
            )
            self._add_span(service, host, family, t, record)
            self.agg.add_client(service.name, host.index, dep.name, latency, failure is not None)
            if dep.kind == "dynamodb":
                row = self.agg.dynamodb.setdefault((service.name, dep.name), [0, 0])
                row[0] += 1
                row[1] += 1 if failure is not None and "Throughput" in failure.exception_type else 0
            if failure is None:
                if rng.random() < 0.5:
                    self.log_dependency_call(service, host, end, trace_id, parent_id, dep, name, latency)
                return StepResult(end)
            will_retry = failure.retryable and attempt + 1 < attempts
            self.log_dependency_failure(
                service, host, end, trace_id, parent_id, dep, failure, attempt, will_retry
            )
            if not will_retry:
                return StepResult(end, failure, failure.status)
            t = end + int(25 * 2**attempt * (0.5 + rng.random()) * NS_PER_MS)
        return StepResult(t, failure, failure.status if failure else 500)

    def _dependency_attrs(
        self, service: Service, step: Step, dep: Dependency
    ) -> tuple[str, str, dict[str, Any]]:
        if dep.kind == "dynamodb":
            return (
                f"DynamoDB.{step.op}",
                "dynamodb",
                {
                    "rpc.system": "aws-api",
                    "rpc.service": "DynamoDB",
                    "rpc.method": step.op,
                    "db.system": "dynamodb",
                    "db.operation": step.op,
                    "aws.dynamodb.table_names": [dep.table],
                    "cloud.region": self.topology.region,
                    "server.address": f"dynamodb.{self.topology.region}.amazonaws.com",
                    "aws.request_id": f"{self.rng.getrandbits(128):032X}",
                },
            )
        if dep.kind == "postgresql":
            statement = SQL_TEMPLATES.get(step.op, "SELECT 1").format(table=step.table)
            return (
                f"{step.op} {dep.database}.{step.table}",
                "sql",
                {
                    "db.system": "postgresql",
                    "db.name": dep.database,
                    "db.operation": step.op,
                    "db.sql.table": step.table,
                    "db.statement": statement,
                    "db.user": f"{service.name}_app",
                    "server.address": dep.address,
                    "server.port": 5432,
                },
            )
        if dep.kind == "redis":
            return (
                "GET",
                "redis",
                {
                    "db.system": "redis",
                    "db.operation": "GET",
                    "db.statement": f"GET {step.key.replace('{id}', '?')}",
                    "db.redis.database_index": 0,
                    "server.address": dep.address,
                    "server.port": 6379,
                },
            )
        if dep.kind == "sqs":
            return (
                f"{dep.queue} publish",
                "sqs",
                {
                    "rpc.system": "aws-api",
                    "rpc.service": "SQS",
                    "rpc.method": "SendMessage",
                    "messaging.system": "aws_sqs",
                    "messaging.operation.type": "publish",
                    "messaging.destination.name": dep.queue,
                    "server.address": f"sqs.{self.topology.region}.amazonaws.com",
                },
            )
        method, _, path = step.op.partition(" ")
        return (
            step.op,
            "http",
            {
                "http.request.method": method,
                "url.full": f"https://{dep.address}{path}",
                "server.address": dep.address,
                "server.port": 443,
                "peer.service": dep.name,
            },
        )

    def cache_lookup(
        self, service: Service, host: Host, step: Step, t: int, trace_id: str, parent_id: str
    ) -> StepResult:
        rng = self.rng
        dep = self.topology.dependencies[step.dep]
        effect = _combine_dep(
            [e for f in self.faults if (e := f.dependency_call(service, host, step, dep, t)) is not None]
        )
        failure = effect.failure
        latency = (
            DEP_LATENCY_MS["redis"] * math.exp(rng.gauss(0.0, 0.4)) * effect.latency_mult + effect.extra_ms
        )
        if failure is not None and failure.duration_ms:
            latency = failure.duration_ms * (0.7 + 0.6 * rng.random())
        end = t + int(latency * NS_PER_MS)
        hit = failure is None and rng.random() < step.hit_ratio
        name, family, attrs = self._dependency_attrs(service, step, dep)
        events = None
        if failure is not None:
            attrs["error.type"] = failure.exception_type
            events = [exception_event(end, failure.exception_type, failure.message, failure.stack)]
        record = span_record(
            trace_id,
            self._span_id(),
            parent_id,
            name,
            CLIENT,
            t,
            end,
            attrs,
            failure.text if failure else None,
            events,
        )
        self._add_span(service, host, family, t, record)
        self.agg.add_client(service.name, host.index, dep.name, latency, failure is not None)
        row = self.agg.cache.setdefault(service.name, [0, 0])
        row[0] += hit
        row[1] += 1
        if failure is not None:
            self.log_cache_fallback(service, host, end, trace_id, parent_id, failure)
        if hit:
            return StepResult(end)
        cursor = end
        for miss in step.miss:
            result = self.run_step(service, host, miss, cursor, trace_id, parent_id)
            cursor = result.end_ns
            if result.failure is not None:
                return result
        return StepResult(cursor)

    def publish(
        self, service: Service, host: Host, step: Step, t: int, trace_id: str, parent_id: str
    ) -> StepResult:
        result = self.call_dependency(service, host, step, t, trace_id, parent_id)
        if result.failure is not None:
            return result
        dep = self.topology.dependencies[step.dep]
        consumer = self._consumers.get(dep.name)
        producer_span = self.spans[-1][4]["spanId"]
        if consumer is not None:
            c_service, c_op = consumer
            delay = int((40 + self.rng.random() * 900) * NS_PER_MS)
            served = self.serve(c_service, c_op, result.end_ns + delay, trace_id, producer_span, CONSUMER)
            row = self.agg.queue.setdefault(dep.name, [0, 0])
            row[0] += 1
            row[1] += 1 if served is None or served.failure is not None else 0
        return result

    # ----------------------------------------------------------------------- batch jobs
    def run_batch(self, service: Service, host: Host, op: Operation, t: int, failure: Failure | None) -> None:
        """One scheduled job execution: an INTERNAL root span with its queries."""
        trace_id = self.trace_id()
        span_id = self._span_id()
        cursor = t + int(op.self_ms * 0.5 * NS_PER_MS)
        for step in op.steps:
            cursor = self.run_step(service, host, step, cursor, trace_id, span_id).end_ns
        end = cursor + int(op.self_ms * 0.5 * (0.5 + self.rng.random()) * NS_PER_MS)
        events = None
        if failure is not None:
            events = [exception_event(end, failure.exception_type, failure.message, failure.stack)]
        attrs = {
            "code.function": op.name.replace("-", "_"),
            "code.namespace": f"{service.name.replace('-', '_')}.jobs",
            "job.name": op.name,
        }
        record = span_record(
            trace_id,
            span_id,
            None,
            op.name,
            INTERNAL,
            t,
            end,
            attrs,
            failure.text if failure else None,
            events,
        )
        self._add_span(service, host, "internal", t, record)
        self.log_batch(service, host, t, end, op, trace_id, span_id, failure)

    # ------------------------------------------------------------------------ minute flush
    def take_minute(self) -> tuple[list[Any], list[Any], MinuteAggregate]:
        spans, logs, agg = self.spans, self.logs, self.agg
        self.spans, self.logs, self.agg = [], [], MinuteAggregate()
        return spans, logs, agg


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def diurnal(t_ns: int) -> float:
    hour = (t_ns / NS_PER_S / 3600.0) % 24.0
    return 1.0 + 0.3 * math.sin(2 * math.pi * (hour - 10.0) / 24.0)


__all__ = ["NS_PER_MIN", "Engine", "diurnal", "poisson"]
