"""The traffic engine: requests flow through the topology and leave spans, logs and aggregates.

One request is one trace. A server span picks a host through the load balancer, spends some self
time, runs its steps (calls to other services, DynamoDB, PostgreSQL, Redis, SQS, external APIs)
in order and answers. Faults are consulted at every decision; failures propagate to callers the
way real code propagates them (the SDK retries throttles, the gateway retries 5xx and timeouts,
a proxy passes the upstream status through, a service answers 500 when a step fails).

The request path is split by what a step talks to: :mod:`.service_calls` (other services) and
:mod:`.dependency_calls` (databases, caches, queues, external APIs); :mod:`.engine_state` holds
what they share.
"""

from __future__ import annotations

import math
from typing import Any

from evals.simulator.dependency_calls import DependencyCallMixin
from evals.simulator.effects import (
    CONSUMER,
    INTERNAL,
    NS_PER_MS,
    REASONS,
    SERVER,
    ServerResult,
    StepResult,
    combine_server,
)
from evals.simulator.messages import TIMEOUT, Failure, spelled, stacktrace
from evals.simulator.records import exception_event, span_record
from evals.simulator.service_calls import ServiceCallMixin
from evals.simulator.topology import Host, Operation, Service, Step


class Engine(ServiceCallMixin, DependencyCallMixin):
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
        effect = combine_server([e for f in self.faults if (e := f.server(service, op, host, t)) is not None])
        if effect.queue_ms:  # the request waited (for CPU, for a worker) before the server started on it
            t += int(effect.queue_ms * NS_PER_MS)
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
        if effect.logged is not None and failure is None:
            self.log_handled_error(service, host, t + (end - t) // 2, trace_id, span_id, effect.logged)
        # the answer reaches the caller late when the server's outbound packets are delayed
        return ServerResult(end + int(effect.egress_ms * NS_PER_MS), status, failure if error else None)

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


__all__ = ["Engine"]
