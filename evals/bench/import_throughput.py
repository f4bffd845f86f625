"""Benchmark: OTLP/JSON import throughput of the local store (spans/s, log records/s).

Writes a deterministic synthetic scenario (OTLP/JSON as the Collector's file exporter writes it)
into build/bench/import, then times ``LocalBackend.import_scenario`` end to end: JSON decoding,
validation, bulk insert and the derived-column SQL. Run: ``python -m evals.bench.import_throughput``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from pathlib import Path

from mcp_server.backends.local import LocalBackend

T0 = 1_767_261_600_000_000_000
SERVICES = [f"svc-{i}" for i in range(12)]


def _attr(key: str, value: object) -> dict[str, object]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


def _resource(service: str, host: int) -> dict[str, object]:
    return {
        "attributes": [
            _attr("service.name", service),
            _attr("host.name", f"{service}-{host}"),
            _attr("cloud.availability_zone", f"eu-west-1{'abc'[host % 3]}"),
        ]
    }


def write_synthetic(directory: Path, spans: int, logs: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "scenario.yaml").write_text(
        "name: import-bench\nwindow: {start: '2026-01-01T10:00:00Z', end: '2026-01-01T10:30:00Z'}\n"
    )
    per_request = 5
    with (directory / "traces.jsonl").open("w") as out:
        for batch_start in range(0, spans, 500):
            by_service: dict[tuple[str, int], list[dict[str, object]]] = {}
            for i in range(batch_start, min(spans, batch_start + 500), per_request):
                trace_id = f"{rng.getrandbits(128):032x}"
                start = T0 + i * 18_000_000
                parent = None
                for depth in range(per_request):
                    span_id = f"{rng.getrandbits(64):016x}"
                    service = SERVICES[(i // per_request + depth) % len(SERVICES)]
                    status = 500 if rng.random() < 0.01 else 200
                    span: dict[str, object] = {
                        "traceId": trace_id,
                        "spanId": span_id,
                        "name": f"GET /api/{service}/{{id}}",
                        "kind": 2 if depth % 2 == 0 else 3,
                        "startTimeUnixNano": str(start + depth * 1_000_000),
                        "endTimeUnixNano": str(start + (20 - depth) * 1_000_000),
                        "attributes": [
                            _attr("http.route", f"/api/{service}/{{id}}"),
                            _attr("http.response.status_code", status),
                            _attr("http.request.method", "GET"),
                        ],
                        "status": {"code": 2 if status >= 500 else 0},
                    }
                    if parent:
                        span["parentSpanId"] = parent
                    parent = span_id
                    by_service.setdefault((service, rng.randrange(3)), []).append(span)
            request = {
                "resourceSpans": [
                    {"resource": _resource(s, h), "scopeSpans": [{"spans": group}]}
                    for (s, h), group in by_service.items()
                ]
            }
            out.write(json.dumps(request) + "\n")
    with (directory / "logs.jsonl").open("w") as out:
        for batch_start in range(0, logs, 1000):
            records = [
                {
                    "timeUnixNano": str(T0 + i * 9_000_000),
                    "severityNumber": 9,
                    "severityText": "INFO",
                    "body": {
                        "stringValue": f"request handled id={rng.randrange(10**6)} in {rng.randrange(5, 90)}ms"
                    },
                    "attributes": [_attr("code.function", "Handler.handle")],
                    "traceId": f"{rng.getrandbits(128):032x}",
                    "spanId": f"{rng.getrandbits(64):016x}",
                }
                for i in range(batch_start, min(logs, batch_start + 1000))
            ]
            service = SERVICES[(batch_start // 1000) % len(SERVICES)]
            request = {
                "resourceLogs": [{"resource": _resource(service, 0), "scopeLogs": [{"logRecords": records}]}]
            }
            out.write(json.dumps(request) + "\n")


def _time_import(directory: Path, keep: set[str]) -> float:
    staged = directory.parent / f"{directory.name}-{'-'.join(sorted(keep))}"
    staged.mkdir(exist_ok=True)
    for name in ("scenario.yaml", *keep):
        target = staged / name
        if not target.exists():
            target.symlink_to((directory / name).resolve())
    started = time.perf_counter()
    with LocalBackend() as backend:
        backend.import_scenario(staged)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--logs", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=Path("build/bench/import"))
    args = parser.parse_args()
    data = args.out / f"s{args.spans}-l{args.logs}"
    if not (data / "logs.jsonl").exists():
        write_synthetic(data, args.spans, args.logs)
    span_seconds = _time_import(data, {"traces.jsonl"})
    log_seconds = _time_import(data, {"logs.jsonl"})
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"machine: {machine}")
    print(
        f"spans: {args.spans:,} in {span_seconds:.2f}s = {args.spans / span_seconds:,.0f} spans/s (goal 50,000)"
    )
    print(
        f"logs:  {args.logs:,} in {log_seconds:.2f}s = {args.logs / log_seconds:,.0f} records/s (goal 100,000)"
    )


if __name__ == "__main__":
    main()
