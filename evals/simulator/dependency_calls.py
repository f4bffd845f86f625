"""Calls to what the services depend on: DynamoDB, PostgreSQL, Redis, SQS and external APIs.

The AWS SDK retries (3 attempts for DynamoDB); a cache miss runs the read-through steps; a message
published to SQS is processed by the queue's consumer in the same trace.
"""

from __future__ import annotations

import math
from typing import Any

from evals.simulator.effects import CLIENT, CONSUMER, NS_PER_MS, StepResult, combine_dep
from evals.simulator.engine_state import EngineState
from evals.simulator.messages import TIMEOUT, Failure, spelled
from evals.simulator.records import exception_event, span_record
from evals.simulator.topology import Dependency, Host, Service, Step

DEP_LATENCY_MS = {"dynamodb": 5.0, "postgresql": 2.2, "redis": 0.45, "sqs": 7.0, "external": 120.0}
DB_OP_FACTOR = {"Query": 1.3, "PutItem": 1.5, "GetItem": 1.0, "UPDATE": 1.8, "INSERT": 1.6}
SQL_TEMPLATES = {
    "SELECT": "SELECT * FROM {table} WHERE id = $1",
    "UPDATE": "UPDATE {table} SET status = $1, updated_at = now() WHERE id = $2",
    "INSERT": "INSERT INTO {table} (id, payload) VALUES ($1, $2)",
}


class DependencyCallMixin(EngineState):
    def call_dependency(
        self, service: Service, host: Host, step: Step, t: int, trace_id: str, parent_id: str
    ) -> StepResult:
        rng = self.rng
        dep = self.topology.dependencies[step.dep]
        attempts = 3 if dep.kind == "dynamodb" else 1  # AWS SDK standard retry mode: 3 attempts
        failure: Failure | None = None
        for attempt in range(attempts):
            effect = combine_dep(
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
            self._dependency_span(
                service, host, dep, (name, family, attrs), t, end, latency, failure, trace_id, parent_id
            )
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

    def _dependency_span(
        self,
        service: Service,
        host: Host,
        dep: Dependency,
        described: tuple[str, str, dict[str, Any]],
        t: int,
        end: int,
        latency: float,
        failure: Failure | None,
        trace_id: str,
        parent_id: str,
    ) -> None:
        """The client span of one dependency call (name, span family, attributes) and its aggregate."""
        name, family, attrs = described
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
        effect = combine_dep(
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
        if failure is not None:
            attrs["error.type"] = failure.exception_type
        self._dependency_span(
            service, host, dep, (name, family, attrs), t, end, latency, failure, trace_id, parent_id
        )
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
