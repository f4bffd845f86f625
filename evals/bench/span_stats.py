"""What a ``span_stats`` call costs on the local store, with and without trace counts.

The report and the engine call ``span_stats`` dozens of times per investigation; distinct trace
counts (``SpanStatsQuery.count_traces``) are the dearest part of the query, so only the onset's
error-rate series asks for them. This prints the median time per call of both, per-service
buckets of 15 s over the store's whole range, and their ratio.

Run: ``python -m evals.bench.span_stats DIR [DIR ...]`` with scenario directories (``make eval``
writes the built-in suite to ``.data/scenarios/builtin``; ``make eval-real`` unpacks the real set
under ``build/datasets/nezha-ob``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from mcp_server.backends.base import SpanStatsQuery
from mcp_server.backends.local import LocalBackend


def _median_ms(backend: LocalBackend, query: SpanStatsQuery, runs: int) -> float:
    backend.span_stats(query)  # warm: the first call pays for loading
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        backend.span_stats(query)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.bench.span_stats", description=__doc__.splitlines()[0]
    )
    parser.add_argument("scenarios", nargs="+", type=Path, help="scenario directories")
    parser.add_argument("--runs", type=int, default=20, help="timed calls per query (default 20)")
    args = parser.parse_args(argv)
    for directory in args.scenarios:
        if not (directory / "scenario.yaml").is_file():
            print(f"error: {directory}: not a scenario directory (no scenario.yaml)", file=sys.stderr)
            return 2
        with LocalBackend.from_scenario(directory) as backend:
            window = backend.time_range()
            if window is None:
                print(f"{directory.name}: no telemetry")
                continue
            plain = SpanStatsQuery(window=window, bucket_seconds=15, group_by=["service"])
            counted = plain.model_copy(update={"count_traces": True})
            spans = backend.count_spans(window)
            fast, slow = _median_ms(backend, plain, args.runs), _median_ms(backend, counted, args.runs)
        print(
            f"{directory.name}: {spans:,} spans; span_stats {fast:.1f} ms, with trace counts {slow:.1f} ms "
            f"({slow / fast:.2f}x), median of {args.runs}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
