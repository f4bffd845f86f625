"""Benchmark: how the offline investigation's time and memory grow with data size.

Simulates one incident (DynamoDB throttling on ``visits``) at each size tier, imports it once into
a DuckDB file under ``build/bench/engine`` (cached between runs), then times the engine-only
investigation (the graph with the offline reasoner and no verification, after import, best of
``--repeat``) and reports its peak RSS. Generation and import run in a process of their own, and
each tier is measured in a fresh process, so the RSS printed is the investigation's alone (the L
tier's in-process generation alone peaks near 4.3 GB, which is not what a user's investigation costs).

Run: ``python -m evals.bench.engine_scaling --sizes tiny default S`` (add ``L`` for the 10x tier;
its generation and import take several minutes).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import time
from pathlib import Path

from agent.wiring import investigate_engine_only, open_telemetry
from evals.simulator import FaultSpec, ScenarioPlan, write_scenario
from mcp_server.backends.local import LocalBackend
from mcp_server.scenario import load_scenario_spec
from mcp_server.taxonomy import FaultType

ROOT = Path(__file__).resolve().parents[2] / "build" / "bench" / "engine"


def prepare(size: str, root: Path) -> tuple[Path, Path]:
    directory, store = root / size, root / f"{size}.duckdb"
    if not store.exists():
        plan = ScenarioPlan(
            name=f"engine-bench-{size}",
            faults=(FaultSpec(FaultType.DEPENDENCY_THROTTLING, "visits", onset_fraction=0.55),),
            seed=77,
            size=size,
        )
        write_scenario(plan, directory)
        partial = store.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        LocalBackend.from_scenario(directory, partial).close()
        partial.rename(store)
    return directory, store


def measure(size: str, root: Path, repeat: int) -> dict[str, object]:
    directory, store = root / size, root / f"{size}.duckdb"
    telemetry = open_telemetry(store=store)
    backend = telemetry.backend
    spec = load_scenario_spec(directory)
    spans = backend.count_spans()
    width = int(spec.window.duration.total_seconds()) + 1
    logs = sum(c.count for c in backend.log_counts(spec.window, bucket_seconds=width))
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = investigate_engine_only(backend, spec)
        best = min(best, time.perf_counter() - start)
    assert result is not None
    top = result.hypotheses[0] if result.hypotheses else None
    telemetry.close()
    return {
        "size": size,
        "spans": spans,
        "logs": logs,
        "seconds": round(best, 2),
        "steps": result.timings,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "top": f"{top.service} {top.fault_type.value} {top.confidence:.2f}" if top else "-",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["tiny", "default", "S"])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    rows = []
    context = multiprocessing.get_context("spawn")
    for size in args.sizes:
        with context.Pool(1, maxtasksperchild=1) as pool:  # a fresh process for each task
            pool.apply(prepare, (size, args.root))
            rows.append(pool.apply(measure, (size, args.root, args.repeat)))
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    print("| size | spans | log records | investigate (s) | peak RSS (MB) | top hypothesis |")
    print("|---|---:|---:|---:|---:|---|")
    for r in rows:
        print(
            f"| {r['size']} | {r['spans']:,} | {r['logs']:,} | {r['seconds']} | {r['peak_rss_mb']} | {r['top']} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
