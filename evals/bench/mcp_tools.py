"""Benchmark: latency and output size of every MCP tool on a size-S incident, warm.

Generates (once, cached under build/bench) the demo incident at size S, imports it into a DuckDB
store file, then calls each tool through an in-process MCP client: a few warm-up calls, then
``--calls`` timed ones. Reports p50/p95/max latency and the characters of the text and structured
answers against the bars (p95 <= 200 ms, answer <= 16,000 characters). ``investigate`` and
``draft_incident_report`` run whole analyses, so they are timed with fewer calls and reported
apart from the bar.

Run: ``python -m evals.bench.mcp_tools [--size S] [--calls 20] [--no-knowledge]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.server import MCPServer

P95_BAR_MS = 200.0
SIZE_BAR_CHARS = 16_000
SLOW_TOOLS = {"investigate", "draft_incident_report"}


def prepare_store(size: str, root: Path) -> Path:
    """The size-``size`` demo incident in a store file (generated and imported once)."""
    from evals.scenarios.demo import DEMO_PLAN
    from evals.scenarios.suite import ensure_plans
    from mcp_server.backends.local import LocalBackend

    directory = ensure_plans([replace(DEMO_PLAN, name=f"bench-demo-{size}", size=size)], root / "scenarios")[
        0
    ]
    store = root / f"mcp-{size}.duckdb"
    stamp = store.with_suffix(".imported")
    if not (store.exists() and stamp.exists() and stamp.read_text() == str(directory)):
        store.unlink(missing_ok=True)
        started = time.perf_counter()
        with LocalBackend(store) as backend:
            backend.import_scenario(directory, replace=True)
        stamp.write_text(str(directory))
        print(f"imported {directory} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return store


def build(store: Path, knowledge: bool, root: Path) -> MCPServer[Any]:
    from agent.wiring import mcp_investigator, mcp_report_drafter, open_knowledge, open_telemetry
    from mcp_server.deps import ServerDeps
    from mcp_server.server import build_server

    telemetry = open_telemetry(store=store)
    knowledge_store = open_knowledge(
        knowledge,
        data_dir=root / "knowledge",
        on_error=lambda reason: print(f"knowledge base unavailable ({reason})", file=sys.stderr),
    )
    return build_server(
        ServerDeps(
            backend=telemetry.backend,
            knowledge=knowledge_store,
            investigator=mcp_investigator(telemetry.backend, telemetry.spec, lambda: knowledge_store),
            report_drafter=mcp_report_drafter(telemetry.backend),
        )
    )


def discover(store: Path) -> dict[str, Any]:
    """Realistic arguments (the worst SLO, its worst operation, a failing trace, a metric, an alarm),
    read from the store directly so that no tool's cache is warm before its cold call."""
    from mcp_server.analysis.slos import evaluate_slos
    from mcp_server.backends.base import SpanQuery
    from mcp_server.backends.local import LocalBackend
    from mcp_server.telemetry import AlarmState

    with LocalBackend(store, read_only=True) as backend:
        window = backend.time_range()
        assert window is not None, "the store is empty"
        worst = evaluate_slos(backend, window)[0].definition
        failing = backend.query_spans(
            SpanQuery(window=window, service=worst.service, errors_only=True, limit=50)
        )
        operation = worst.operation or max(
            {s.operation for s in failing}, key=lambda op: sum(s.operation == op for s in failing)
        )
        metric = backend.list_metrics(worst.service)[0].name
        alarms = backend.list_alarms(AlarmState.ALARM)
    return {
        "slo": worst.name,
        "service": worst.service,
        "operation": operation,
        "trace_id": failing[0].trace_id,
        "metric": metric,
        "alarm": alarms[0].name if alarms else None,
    }


def tool_calls(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    service = found["service"]
    return {
        "list_services": {},
        "audit_slos": {},
        "list_slos": {},
        "get_slo": {"name": found["slo"]},
        "audit_services": {},
        "list_metrics": {},
        "query_metrics": {"name": found["metric"], "service": service},
        "detect_metric_anomalies": {},
        "get_active_alarms": {},
        "get_alarm_history": {"name": found["alarm"]},
        "query_logs": {"service": service, "min_severity": "ERROR"},
        "count_logs": {"min_severity": "WARN", "period_seconds": 300},
        "log_patterns": {},
        "search_traces": {"service": service, "operation": found["operation"], "errors_only": True},
        "get_trace": {"trace_id": found["trace_id"]},
        "service_map": {},
        "trace_hotspots": {},
        "list_changes": {},
        "search_runbooks": {"query": f"{service} DynamoDB throttling"},
        "search_past_incidents": {"query": f"{service} DynamoDB throttling"},
        "investigate": {},
        "draft_incident_report": {},
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def measure(
    server: MCPServer[Any], found: dict[str, Any], calls: int, slow_calls: int
) -> list[dict[str, Any]]:
    rows = []
    async with Client(server) as client:
        offered = {t.name for t in (await client.list_tools()).tools}
        for tool, arguments in tool_calls(found).items():
            if tool not in offered or any(v is None for v in arguments.values()):
                continue
            n = slow_calls if tool in SLOW_TOOLS else calls
            started = time.perf_counter()
            await client.call_tool(tool, arguments)  # cold: the first call (caches, page faults)
            cold_ms = (time.perf_counter() - started) * 1000
            if tool not in SLOW_TOOLS:
                await client.call_tool(tool, arguments)  # one more warm-up
            timings, text_chars, json_chars, errors = [], 0, 0, 0
            for _ in range(n):
                started = time.perf_counter()
                result = await client.call_tool(tool, arguments)
                timings.append((time.perf_counter() - started) * 1000)
                errors += bool(result.is_error)
                text_chars = max(text_chars, sum(len(getattr(c, "text", "")) for c in result.content))
                json_chars = max(
                    json_chars, len(json.dumps(result.structured_content or {}, separators=(",", ":")))
                )
            p95 = _percentile(timings, 0.95)
            rows.append(
                {
                    "tool": tool,
                    "calls": n,
                    "cold_ms": round(cold_ms, 1),
                    "p50_ms": round(statistics.median(timings), 1),
                    "p95_ms": round(p95, 1),
                    "max_ms": round(max(timings), 1),
                    "text_chars": text_chars,
                    "json_chars": json_chars,
                    "errors": errors,
                    "held_to_bar": tool not in SLOW_TOOLS,
                    "meets_bar": p95 <= P95_BAR_MS
                    and max(text_chars, json_chars) <= SIZE_BAR_CHARS
                    and not errors,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="S", help="simulator size: tiny, default, S, L")
    parser.add_argument("--calls", type=int, default=20, help="timed calls per tool")
    parser.add_argument("--slow-calls", type=int, default=3, help="timed calls for investigate/draft")
    parser.add_argument("--no-knowledge", action="store_true", help="skip the knowledge tools")
    parser.add_argument("--root", type=Path, default=Path("build/bench"), help="cache and output directory")
    args = parser.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    store = prepare_store(args.size, args.root)
    found = discover(store)
    server = build(store, not args.no_knowledge, args.root)
    rows = anyio.run(measure, server, found, args.calls, args.slow_calls)
    print(
        f"{'tool':<24} {'cold ms':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'text':>7} {'json':>7}  bar"
    )
    for r in rows:
        verdict = ("ok" if r["meets_bar"] else "MISS") if r["held_to_bar"] else "(analysis, not held)"
        print(
            f"{r['tool']:<24} {r['cold_ms']:>8.1f} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['max_ms']:>8.1f} "
            f"{r['text_chars']:>7} {r['json_chars']:>7}  {verdict}"
        )
    held = [r for r in rows if r["held_to_bar"]]
    misses = [r["tool"] for r in held if not r["meets_bar"]]
    report = {
        "size": args.size,
        "load_average": os.getloadavg(),
        "store": str(store),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "bars": {"p95_ms": P95_BAR_MS, "chars": SIZE_BAR_CHARS},
        "tools": rows,
        "misses": misses,
    }
    out = args.root / "mcp_tools.json"
    out.write_text(json.dumps(report, indent=2))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{len(held) - len(misses)}/{len(held)} tools meet the bars (load average {load}); wrote {out}")
    return 0 if not misses else 1


if __name__ == "__main__":
    raise SystemExit(main())
