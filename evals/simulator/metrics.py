"""Per-minute aggregation of simulated requests into OTLP metrics (RED and resource metrics).

The RED metrics are computed from the very spans the engine wrote, so traces and metrics agree.
Every emitted value is also kept per (service, metric, minute) for alarm evaluation.
"""

from __future__ import annotations

import bisect
import functools
import math
import random
from dataclasses import dataclass, field
from typing import Any

from evals.simulator.faults.base import NS_PER_MIN, HostResources, TrafficHooks
from evals.simulator.otlp import attributes
from evals.simulator.periods import BatchWriter
from evals.simulator.records import Resources
from evals.simulator.topology import Host, Service, Topology

LATENCY_BOUNDS_MS = [5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0]
GIB = 1024.0**3

# name -> (unit, description); ``rename`` in the generator maps these names
METRIC_INFO: dict[str, tuple[str, str]] = {
    "http.server.request.count": ("{request}", "Requests served, per operation"),
    "http.server.request.errors": ("{request}", "Requests that failed (5xx or exception), per operation"),
    "http.server.request.duration": ("ms", "Server request duration"),
    "http.server.request.duration.p99": ("ms", "99th percentile server request duration over the minute"),
    "client.request.count": ("{request}", "Outgoing calls, per peer"),
    "client.request.errors": ("{request}", "Outgoing calls that failed, per peer"),
    "client.request.duration.p99": ("ms", "99th percentile outgoing call duration, per peer"),
    "system.cpu.utilization": ("1", "CPU utilization of the host (0..1)"),
    "process.memory.usage": ("By", "Resident memory of the service process"),
    "process.memory.limit": ("By", "Container memory limit"),
    "runtime.gc.pause.duration": ("ms", "Total garbage-collection pause time in the minute"),
    "k8s.container.restarts": ("{restart}", "Container restarts since the pod started"),
    "db.client.connection.count": ("{connection}", "Connections in the pool, by state"),
    "db.client.connection.max": ("{connection}", "Maximum pool size"),
    "db.client.connection.pending_requests": ("{request}", "Requests waiting for a pool connection"),
    "db.client.connection.wait_time": ("ms", "Average time to obtain a pool connection"),
    "cache.hit_ratio": ("1", "Cache hits / lookups over the minute"),
    "aws.dynamodb.consumed_read_capacity": (
        "{unit}",
        "Consumed read capacity units (ConsumedReadCapacityUnits)",
    ),
    "aws.dynamodb.provisioned_read_capacity": ("{unit}", "Provisioned read capacity units"),
    "aws.dynamodb.throttled_requests": ("{request}", "Throttled requests (ThrottledRequests)"),
    "aws.sqs.approximate_number_of_messages_visible": (
        "{message}",
        "Queue depth (ApproximateNumberOfMessagesVisible)",
    ),
}

BASE_MEMORY = {
    "java": (1.15, 2.0),
    "go": (0.18, 0.5),
    "python": (0.35, 1.0),
    "nodejs": (0.3, 1.0),
}  # GiB used, limit
BASE_GC_MS = {"java": 35.0, "go": 8.0, "python": 12.0, "nodejs": 15.0}
POOL_MAX = 10
SCOPE = "io.opentelemetry.runtime-telemetry"


@dataclass
class MinuteAggregate:
    # (service, host index, operation) -> [count, errors, durations ms]
    server: dict[tuple[str, int, str], list[Any]] = field(default_factory=dict)
    # (service, host index, peer) -> [count, errors, durations ms]
    client: dict[tuple[str, int, str], list[Any]] = field(default_factory=dict)
    # (service, dependency) -> [attempts, throttled]
    dynamodb: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    # service -> [hits, lookups]
    cache: dict[str, list[int]] = field(default_factory=dict)
    # queue dependency -> [published, failed processing]
    queue: dict[str, list[int]] = field(default_factory=dict)
    # (service, host index) -> busy extra CPU fraction from batch work
    batch_cpu: dict[tuple[str, int], float] = field(default_factory=dict)

    def add_server(self, service: str, host: int, op: str, duration_ms: float, error: bool) -> None:
        row = self.server.get((service, host, op))
        if row is None:
            row = self.server[(service, host, op)] = [0, 0, []]
        row[0] += 1
        row[1] += error
        row[2].append(duration_ms)

    def add_client(self, service: str, host: int, peer: str, duration_ms: float, error: bool) -> None:
        row = self.client.get((service, host, peer))
        if row is None:
            row = self.client[(service, host, peer)] = [0, 0, []]
        row[0] += 1
        row[1] += error
        row[2].append(duration_ms)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] if ordered else 0.0


class MetricRecorder:
    def __init__(
        self,
        topology: Topology,
        resources: Resources,
        writer: BatchWriter,
        faults: list[TrafficHooks],
        rng: random.Random,
        first_onset_ns: int,
        metric_names: dict[str, str],
    ) -> None:
        self.topology = topology
        self.resources = resources
        self.writer = writer
        self.faults = faults
        self.rng = rng
        self.first_onset_ns = first_onset_ns
        self.names = metric_names
        self.values: dict[tuple[str, str], dict[int, list[float]]] = {}
        self._host_baseline: dict[tuple[str, int], list[int]] = {}
        self._restarts: dict[tuple[str, int], int] = {}
        self._queue_depth: dict[str, float] = {}
        self._items: list[tuple[int, dict[str, Any], str, dict[str, Any]]] = []
        self._metrics: dict[tuple[int, str], dict[str, Any]] = {}
        self._dynamodb_baseline: dict[str, list[int]] = {}

    # ------------------------------------------------------------------------------ output
    def _emit(
        self,
        service: Service,
        host: Host | None,
        version: str,
        minute: int,
        t_ns: int,
        name: str,
        kind: str,
        value: float,
        attrs: dict[str, Any] | None = None,
        histogram: list[float] | None = None,
    ) -> None:
        rid, resource = (
            self.resources.host(service, host, version)
            if host is not None
            else self.resources.service_level(service)
        )
        out_name = self.names.get(name, name)
        unit, description = METRIC_INFO[name]
        start = str(t_ns - NS_PER_MIN)
        point: dict[str, Any] = {}
        if attrs:
            point["attributes"] = attributes(attrs)
        point["startTimeUnixNano"] = start
        point["timeUnixNano"] = str(t_ns)
        metric: dict[str, Any] = {"name": out_name, "unit": unit, "description": description}
        if kind == "histogram":
            values = histogram or []
            counts = [0] * (len(LATENCY_BOUNDS_MS) + 1)
            for v in values:
                counts[bisect.bisect_left(LATENCY_BOUNDS_MS, v)] += 1
            point["count"] = str(len(values))
            point["sum"] = round(sum(values), 3)
            point["bucketCounts"] = [str(c) for c in counts]
            point["explicitBounds"] = LATENCY_BOUNDS_MS
            if values:
                point["min"] = round(min(values), 3)
                point["max"] = round(max(values), 3)
            metric["histogram"] = {"dataPoints": [point], "aggregationTemporality": 1}
            value = sum(values) / len(values) if values else 0.0
        elif kind == "sum":
            point["asInt"] = str(int(value))
            metric["sum"] = {"dataPoints": [point], "aggregationTemporality": 1, "isMonotonic": True}
        else:
            point["asDouble"] = round(float(value), 6)
            metric["gauge"] = {"dataPoints": [point]}
        existing = self._metrics.get((rid, out_name))
        if existing is None:
            self._metrics[(rid, out_name)] = metric
            self._items.append((rid, resource, SCOPE, metric))
        else:  # one metric per resource, one data point per attribute set
            body = existing.get("histogram") or existing.get("sum") or existing["gauge"]
            body["dataPoints"].append(point)
        self.values.setdefault((service.name, out_name), {}).setdefault(minute, []).append(float(value))

    def _emit_red(
        self,
        service: Service,
        host: Host,
        version: str,
        minute: int,
        t_end: int,
        prefix: str,
        attrs: dict[str, Any],
        row: Any,
        with_histogram: bool = True,
    ) -> None:
        """Rate, errors and duration of one operation or peer, always in this order."""
        emit = functools.partial(self._emit, service, host, version, minute, t_end)
        emit(f"{prefix}.count", "sum", row[0], attrs)
        emit(f"{prefix}.errors", "sum", row[1], attrs)
        if with_histogram:
            emit(f"{prefix}.duration", "histogram", 0, attrs, row[2])
        emit(f"{prefix}.duration.p99", "gauge", percentile(row[2], 0.99), attrs)

    # ---------------------------------------------------------------------------- a minute
    def record_minute(
        self, minute: int, t0_ns: int, agg: MinuteAggregate, versions: dict[tuple[str, int], str]
    ) -> None:
        t_end = t0_ns + NS_PER_MIN
        for service in self.topology.services.values():
            for host in service.hosts:
                version = versions[(service.name, host.index)]
                host_requests = 0
                for op in service.operations:
                    row = agg.server.get((service.name, host.index, op))
                    if row is None:
                        continue
                    host_requests += row[0]
                    self._emit_red(
                        service, host, version, minute, t_end, "http.server.request", {"operation": op}, row
                    )
                for peer in self._peers(service):
                    row = agg.client.get((service.name, host.index, peer))
                    if row is None:
                        continue
                    self._emit_red(
                        service,
                        host,
                        version,
                        minute,
                        t_end,
                        "client.request",
                        {"peer.service": peer},
                        row,
                        with_histogram=False,
                    )
                self._host_resources(service, host, version, minute, t0_ns, t_end, host_requests, agg)
            self._service_level(service, minute, t_end, agg)
        self.writer.write_batch(self._items)
        self._items = []
        self._metrics = {}

    def _peers(self, service: Service) -> list[str]:
        return service.callees() + service.dependencies()

    def _host_resources(
        self,
        service: Service,
        host: Host,
        version: str,
        minute: int,
        t0: int,
        t_end: int,
        requests: int,
        agg: MinuteAggregate,
    ) -> None:
        key = (service.name, host.index)
        history = self._host_baseline.setdefault(key, [])
        if t0 < self.first_onset_ns or not history:
            history.append(requests)
        baseline = max(1.0, sum(history) / len(history))
        rng = self.rng
        load = requests / baseline
        # a minute's sampled request count is noisy; CPU follows the load, not every blip
        cpu = 0.14 + 0.18 * min(load, 2.2) + rng.gauss(0, 0.015) + agg.batch_cpu.get(key, 0.0)
        used_gib, limit_gib = BASE_MEMORY.get(service.runtime, (0.5, 1.0))
        memory = (used_gib + 0.04 * math.sin(minute / 3.0 + host.index) + rng.gauss(0, 0.01)) * GIB
        gc = BASE_GC_MS.get(service.runtime, 10.0) * (0.8 + 0.4 * rng.random()) * max(0.5, load)
        has_pool = any(self.topology.dependencies[d].kind == "postgresql" for d in service.dependencies())
        res = HostResources(
            cpu=cpu,
            memory_bytes=memory,
            memory_limit=limit_gib * GIB,
            gc_ms=gc,
            restarts=self._restarts.get(key, 0),
            pool_used=min(POOL_MAX, 1.0 + 2.0 * load + rng.random()) if has_pool else 0.0,
            pool_max=POOL_MAX if has_pool else 0.0,
            pool_pending=0.0,
            pool_wait_ms=(0.2 + rng.random() * 0.6) if has_pool else 0.0,
        )
        for fault in self.faults:
            fault.resources(service, host, t0, res)
        self._restarts[key] = res.restarts
        emit = self._emit
        emit(
            service,
            host,
            version,
            minute,
            t_end,
            "system.cpu.utilization",
            "gauge",
            min(1.0, max(0.01, res.cpu)),
        )
        emit(service, host, version, minute, t_end, "process.memory.usage", "gauge", round(res.memory_bytes))
        emit(service, host, version, minute, t_end, "process.memory.limit", "gauge", res.memory_limit)
        emit(service, host, version, minute, t_end, "runtime.gc.pause.duration", "gauge", res.gc_ms)
        emit(service, host, version, minute, t_end, "k8s.container.restarts", "gauge", res.restarts)
        if has_pool:
            used = min(res.pool_max, res.pool_used)
            emit(
                service,
                host,
                version,
                minute,
                t_end,
                "db.client.connection.count",
                "gauge",
                used,
                {"state": "used", "pool.name": "HikariPool-1"},
            )
            emit(
                service,
                host,
                version,
                minute,
                t_end,
                "db.client.connection.count",
                "gauge",
                res.pool_max - used,
                {"state": "idle", "pool.name": "HikariPool-1"},
            )
            emit(
                service,
                host,
                version,
                minute,
                t_end,
                "db.client.connection.max",
                "gauge",
                res.pool_max,
                {"pool.name": "HikariPool-1"},
            )
            emit(
                service,
                host,
                version,
                minute,
                t_end,
                "db.client.connection.pending_requests",
                "gauge",
                res.pool_pending,
                {"pool.name": "HikariPool-1"},
            )
            emit(
                service,
                host,
                version,
                minute,
                t_end,
                "db.client.connection.wait_time",
                "gauge",
                res.pool_wait_ms,
                {"pool.name": "HikariPool-1"},
            )

    def _service_level(self, service: Service, minute: int, t_end: int, agg: MinuteAggregate) -> None:
        for dep_name in service.dependencies():
            dep = self.topology.dependencies[dep_name]
            if dep.kind == "dynamodb":
                attempts, throttled = agg.dynamodb.get((service.name, dep_name), [0, 0])
                a = {"aws.dynamodb.table_name": dep.table}
                # traces are a sample: express consumption against the table's provisioned units
                history = self._dynamodb_baseline.setdefault(dep_name, [])
                if t_end - NS_PER_MIN < self.first_onset_ns or not history:
                    history.append(attempts)
                usual = max(1.0, sum(history) / len(history))
                consumed = dep.provisioned_rcu * min(0.55 * attempts / usual, 1.0) * 60
                if throttled:
                    consumed = dep.provisioned_rcu * 60 * (0.97 + 0.03 * self.rng.random())
                self._emit(
                    service,
                    None,
                    "",
                    minute,
                    t_end,
                    "aws.dynamodb.consumed_read_capacity",
                    "sum",
                    consumed,
                    a,
                )
                self._emit(
                    service,
                    None,
                    "",
                    minute,
                    t_end,
                    "aws.dynamodb.provisioned_read_capacity",
                    "gauge",
                    dep.provisioned_rcu,
                    a,
                )
                self._emit(
                    service, None, "", minute, t_end, "aws.dynamodb.throttled_requests", "sum", throttled, a
                )
            elif dep.kind == "redis":
                hits, lookups = agg.cache.get(service.name, [0, 0])
                if lookups:
                    self._emit(
                        service,
                        None,
                        "",
                        minute,
                        t_end,
                        "cache.hit_ratio",
                        "gauge",
                        hits / lookups,
                        {"cache.name": dep_name},
                    )
        for dep in self.topology.dependencies.values():
            if dep.kind == "sqs" and dep.consumer == service.name:
                published, failed = agg.queue.get(dep.name, [0, 0])
                depth = self._queue_depth.get(dep.name, 6.0)
                # the queue drains in bursts: depth wanders around a dozen and grows with failures
                depth = max(0.0, depth + self.rng.gauss(0, 4.0) + 0.3 * (8.0 - depth) + failed * 1.5)
                self._queue_depth[dep.name] = depth
                self._emit(
                    service,
                    None,
                    "",
                    minute,
                    t_end,
                    "aws.sqs.approximate_number_of_messages_visible",
                    "gauge",
                    round(depth + published * 0.1),
                    {"messaging.destination.name": dep.queue},
                )
