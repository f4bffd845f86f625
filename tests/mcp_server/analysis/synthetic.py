"""A tiny, deterministic incident generator for the analysis tests.

It writes a scenario directory (OTLP/JSON traces, metrics and logs, changes, scenario.yaml) for a
small call graph with one injected fault. Names are parameters so a test can rename every
service, operation and metric and check that the ranking does not move.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import yaml

from mcp_server.telemetry import to_nanos

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
NS = 1_000_000_000

# service -> (self ms, [(kind, target)]) where kind is "call" (instrumented) or a db.system
TOPOLOGY: dict[str, tuple[float, list[tuple[str, str]]]] = {
    "web": (4.0, [("call", "gateway")]),
    "gateway": (3.0, [("call", "orders"), ("call", "users")]),
    "orders": (6.0, [("call", "inventory"), ("postgresql", "orders-db")]),
    "users": (5.0, [("redis", "users-cache")]),
    "inventory": (5.0, [("dynamodb", "Stock")]),
}
DEP_MS = {"postgresql": 3.0, "redis": 0.5, "dynamodb": 6.0}
AZS = ["zone-a", "zone-b", "zone-c"]


@dataclass
class Fault:
    kind: str  # "errors" | "dependency_errors" | "latency" | "host_errors" | "none"
    service: str
    onset_minute: float = 11.0
    rate: float = 0.6
    extra_ms: float = 250.0
    host: int = 1
    message: str = "NullPointerException in StockHandler.reserve"
    deploy: bool = False
    log_errors: bool = True


@dataclass
class Options:
    minutes: int = 20
    requests_per_second: float = 1.2
    seed: int = 7
    rename: dict[str, str] = field(default_factory=dict)  # any service/metric/operation name -> new name
    unrelated_change: str | None = "users"  # a deployment 9 minutes before onset on this service
    status_codes: bool = True  # False: leave span status unset (errors only via HTTP attributes/logs)
    trace_ids_in_logs: bool = True
    write_traces: bool = True  # False: a system whose only telemetry is logs and metrics


def build_scenario(directory: Path, fault: Fault, options: Options | None = None) -> Path:
    opts = options or Options()
    gen = _Generator(fault, opts)
    gen.run()
    directory.mkdir(parents=True, exist_ok=True)
    gen.write(directory)
    return directory


class _Generator:
    def __init__(self, fault: Fault, opts: Options) -> None:
        self.fault = fault
        self.opts = opts
        self.rng = random.Random(opts.seed)
        self.spans: dict[str, list[dict[str, Any]]] = {}
        self.logs: dict[str, list[dict[str, Any]]] = {}
        self.minute_stats: dict[tuple[str, int, int], list[float]] = {}  # (svc, host, minute) -> [n, err, ms]
        self.onset_ns = to_nanos(T0 + timedelta(minutes=fault.onset_minute))

    def n(self, name: str) -> str:
        return self.opts.rename.get(name, name)

    def active(self, t: int) -> bool:
        return self.fault.kind != "none" and t >= self.onset_ns

    def _id(self, size: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(size))

    def run(self) -> None:
        start = to_nanos(T0)
        end = start + self.opts.minutes * 60 * NS
        t = float(start)
        gap = NS / self.opts.requests_per_second
        while t < end:
            trace = self._id(32)
            self._serve("web", trace, None, int(t))
            t += self.rng.expovariate(1.0) * gap

    def _serve(self, service: str, trace: str, parent: str | None, t: int) -> tuple[int, bool, bool]:
        """Returns (end time, failed, fault originated here)."""
        fault = self.fault
        host = self.rng.randrange(3)
        span_id = self._id(16)
        self_ms, steps = TOPOLOGY[service]
        cur = t + int(self.rng.uniform(0.5, 1.5) * self_ms * 1e6 / 2)
        failed = False
        message = ""
        here = service == fault.service and self.active(t)
        if here and fault.kind == "latency":
            cur += int(fault.extra_ms * self.rng.uniform(0.8, 1.2) * 1e6)
        for kind, target in steps:
            if kind == "call":
                child_start = cur + int(0.3e6)
                child_end, child_failed, _ = self._serve(target, trace, span_id, child_start)
                cur = child_end + int(0.3e6)
                if child_failed:
                    failed, message = True, f"upstream {self.n(target)} returned 500"
                    break
            else:
                dep_failed = here and fault.kind == "dependency_errors" and self.rng.random() < fault.rate
                dur = DEP_MS[kind] * self.rng.uniform(0.6, 1.6) * 1e6
                self._client_span(
                    service, trace, span_id, host, cur, int(cur + dur), kind, target, dep_failed
                )
                cur += int(dur)
                if dep_failed:
                    failed, message = True, fault.message
                    break
        if here and fault.kind == "errors" and self.rng.random() < fault.rate:
            failed, message = True, fault.message
        if here and fault.kind == "host_errors" and host == fault.host and self.rng.random() < fault.rate:
            failed, message = True, fault.message
        if not failed and self.rng.random() < 0.002:  # harmless background errors
            failed, message = True, "request validation failed for field name"
        end = cur + int(self.rng.uniform(0.5, 1.5) * self_ms * 1e6 / 2)
        op = self.n(f"GET /{service}")
        status = 500 if failed else 200
        span = {
            "traceId": trace,
            "spanId": span_id,
            "name": op,
            "kind": 2,
            "startTimeUnixNano": str(t),
            "endTimeUnixNano": str(end),
            "attributes": _attrs({"http.route": op, "http.response.status_code": status}),
            "status": {"code": 2, "message": message} if failed and self.opts.status_codes else {},
        }
        if parent:
            span["parentSpanId"] = parent
        if failed and self.opts.status_codes and message == fault.message:
            span["events"] = [
                {
                    "name": "exception",
                    "timeUnixNano": str(end),
                    "attributes": _attrs({"exception.type": "RuntimeError", "exception.message": message}),
                }
            ]
        self.spans.setdefault(f"{service}|{host}", []).append(span)
        minute = (t - to_nanos(T0)) // (60 * NS)
        row = self.minute_stats.setdefault((service, host, minute), [0, 0, 0.0])
        row[0] += 1
        row[1] += failed
        row[2] += (end - t) / 1e6
        own_fault = failed and message == fault.message
        self._log(service, host, end, trace, span_id, failed, message, op, (end - t) / 1e6, own_fault)
        return end, failed, own_fault

    def _client_span(
        self,
        service: str,
        trace: str,
        parent: str,
        host: int,
        start: int,
        end: int,
        system: str,
        target: str,
        failed: bool,
    ) -> None:
        attrs: dict[str, Any] = {"db.system": system, "db.namespace": self.n(target)}
        span: dict[str, Any] = {
            "traceId": trace,
            "spanId": self._id(16),
            "parentSpanId": parent,
            "name": f"{system} query",
            "kind": 3,
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(end),
            "attributes": _attrs(attrs),
            "status": {"code": 2, "message": self.fault.message} if failed and self.opts.status_codes else {},
        }
        if failed:
            span["events"] = [
                {
                    "name": "exception",
                    "timeUnixNano": str(end),
                    "attributes": _attrs(
                        {"exception.type": "DependencyError", "exception.message": self.fault.message}
                    ),
                }
            ]
        self.spans.setdefault(f"{service}|{host}", []).append(span)

    def _log(
        self,
        service: str,
        host: int,
        t: int,
        trace: str,
        span: str,
        failed: bool,
        message: str,
        op: str,
        ms: float,
        own_fault: bool,
    ) -> None:
        records = self.logs.setdefault(f"{service}|{host}", [])
        ids = {"traceId": trace, "spanId": span} if self.opts.trace_ids_in_logs else {}
        if self.rng.random() < 0.5:
            records.append(
                {
                    "timeUnixNano": str(t),
                    "severityNumber": 9,
                    "severityText": "INFO",
                    "body": {
                        "stringValue": f"handled {op} in {ms:.1f} ms for customer {self.rng.randrange(10_000)}"
                    },
                    **ids,
                }
            )
        if failed and (self.fault.log_errors or not own_fault):
            records.append(
                {
                    "timeUnixNano": str(t),
                    "severityNumber": 17,
                    "severityText": "ERROR",
                    "body": {"stringValue": f"request {trace[:8]} failed: {message}"},
                    **ids,
                }
            )

    # ----------------------------------------------------------------------------- writing
    def _resource(self, service: str, host: int) -> dict[str, Any]:
        name = self.n(service)
        return {
            "attributes": _attrs(
                {"service.name": name, "host.name": f"{name}-{host}", "cloud.availability_zone": AZS[host]}
            )
        }

    def write(self, directory: Path) -> None:
        if self.opts.write_traces:
            self._write_traces(directory)
        self._write_logs(directory)
        self._write_metrics(directory)
        self._write_changes(directory)
        spec = {
            "name": f"synthetic-{self.fault.kind}-{self.n(self.fault.service)}",
            "window": {
                "start": T0.isoformat(),
                "end": (T0 + timedelta(minutes=self.opts.minutes)).isoformat(),
            },
            "trigger": {"kind": "question", "text": "users report errors on the site"},
            "ground_truth": {
                "root_cause": {"service": self.n(self.fault.service), "fault_type": _truth_type(self.fault)}
            },
        }
        (directory / "scenario.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")

    def _write_traces(self, directory: Path) -> None:
        with (directory / "traces.jsonl").open("wb") as out:
            for key, spans in sorted(self.spans.items()):
                service, host = key.split("|")
                request = {
                    "resourceSpans": [
                        {
                            "resource": self._resource(service, int(host)),
                            "scopeSpans": [{"scope": {"name": "synthetic"}, "spans": spans}],
                        }
                    ]
                }
                out.write(orjson.dumps(request) + b"\n")

    def _write_logs(self, directory: Path) -> None:
        with (directory / "logs.jsonl").open("wb") as out:
            for key, records in sorted(self.logs.items()):
                service, host = key.split("|")
                request = {
                    "resourceLogs": [
                        {
                            "resource": self._resource(service, int(host)),
                            "scopeLogs": [{"scope": {"name": "synthetic"}, "logRecords": records}],
                        }
                    ]
                }
                out.write(orjson.dumps(request) + b"\n")

    def _write_metrics(self, directory: Path) -> None:
        with (directory / "metrics.jsonl").open("wb") as out:
            for service in TOPOLOGY:
                for host in range(3):
                    points_cpu, points_req = [], []
                    total = 0.0
                    for minute in range(self.opts.minutes):
                        t = to_nanos(T0 + timedelta(minutes=minute + 1))
                        n, _err, ms = self.minute_stats.get((service, host, minute), [0, 0, 0.0])
                        total += n
                        cpu = 0.2 + 0.0004 * ms + self.rng.uniform(-0.02, 0.02)
                        points_cpu.append({"timeUnixNano": str(t), "asDouble": min(cpu, 1.0)})
                        points_req.append(
                            {
                                "timeUnixNano": str(t),
                                "startTimeUnixNano": str(to_nanos(T0)),
                                "asDouble": total,
                            }
                        )
                    metrics = [
                        {
                            "name": self.n("system.cpu.utilization"),
                            "unit": "1",
                            "gauge": {"dataPoints": points_cpu},
                        },
                        {
                            "name": self.n("requests.served"),
                            "unit": "{request}",
                            "sum": {
                                "dataPoints": points_req,
                                "aggregationTemporality": 2,
                                "isMonotonic": True,
                            },
                        },
                    ]
                    request = {
                        "resourceMetrics": [
                            {
                                "resource": self._resource(service, host),
                                "scopeMetrics": [{"scope": {"name": "synthetic"}, "metrics": metrics}],
                            }
                        ]
                    }
                    out.write(orjson.dumps(request) + b"\n")

    def _write_changes(self, directory: Path) -> None:
        changes = []
        if self.fault.deploy:
            changes.append(
                {
                    "time": (T0 + timedelta(minutes=self.fault.onset_minute - 1)).isoformat(),
                    "service": self.n(self.fault.service),
                    "kind": "deployment",
                    "version": "2.0.1",
                    "previous_version": "2.0.0",
                }
            )
        if self.opts.unrelated_change and self.opts.unrelated_change != self.fault.service:
            changes.append(
                {
                    "time": (T0 + timedelta(minutes=self.fault.onset_minute - 9)).isoformat(),
                    "service": self.n(self.opts.unrelated_change),
                    "kind": "deployment",
                    "version": "1.4.0",
                }
            )
        (directory / "changes.jsonl").write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in changes))


def _truth_type(fault: Fault) -> str:
    if fault.deploy:
        return "bad_deployment"
    return {
        "errors": "error_exception",
        "dependency_errors": "dependency_throttling",
        "latency": "cpu_saturation",
        "host_errors": "single_host_failure",
        "none": "unknown",
    }[fault.kind]


def _attrs(values: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, value in values.items():
        if isinstance(value, bool):
            v: dict[str, Any] = {"boolValue": value}
        elif isinstance(value, int):
            v = {"intValue": str(value)}
        elif isinstance(value, float):
            v = {"doubleValue": value}
        else:
            v = {"stringValue": str(value)}
        out.append({"key": key, "value": v})
    return out
