"""Break a saved eval run down by scenario tag: how each method does on each quirk of real telemetry.

    python -m evals.breakdown build/eval/hardened.json [--method sleuth] [--prefix quirk-]

Reads what ``sleuth eval --json`` wrote (nothing is re-run) and summarises every tag group with
the harness's own scorer, so the rates mean what they mean in the main table. Prints Markdown.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from evals.render import read_json
from evals.results import EvalRun, MethodSummary, ScenarioResult
from evals.scorers import summarize_method
from mcp_server.errors import SleuthError

COLUMNS = "| group | n | top-1 | top-3 | fault type | exact top-1 | red herring first | unranked | failed |"
# tags every simulated scenario carries or that only describe the set-up, not a difficulty
SKIPPED_TAGS = {"simulated", "hardened", "default", "tiny", "S", "L"}


def groups(run: EvalRun, prefixes: Sequence[str]) -> dict[str, list[ScenarioResult]]:
    """Scenarios per tag (tags starting with one of ``prefixes``, all when empty).

    Also "all", "classic" and "hardened" (simulated scenarios without and with the quirks of real
    telemetry), and the hardened scenarios per true fault type.
    """
    out: dict[str, list[ScenarioResult]] = defaultdict(list)
    for scenario in run.scenarios:
        out["all"].append(scenario)
        if "hardened" in scenario.tags:
            out["hardened"].append(scenario)
        elif "simulated" in scenario.tags:
            out["classic"].append(scenario)
        for tag in scenario.tags:
            if tag in SKIPPED_TAGS or (prefixes and not tag.startswith(tuple(prefixes))):
                continue
            out[tag].append(scenario)
        if "hardened" in scenario.tags and scenario.truth is not None:
            out[f"hardened/{scenario.truth.fault_type}"].append(scenario)
    return dict(out)


def _row(name: str, summary: MethodSummary) -> str:
    return (
        f"| {name} | {summary.scenarios} | {summary.top1:.2f} | {summary.top3:.2f} | {summary.fault_type:.2f} "
        f"| {summary.exact_top1:.2f} | {summary.red_herring_first} | {summary.not_ranked} | {summary.failures} |"
    )


def breakdown_table(run: EvalRun, method: str, prefixes: Sequence[str] = ()) -> str:
    if method not in run.methods:
        raise SleuthError(f"method {method!r} is not in this run; it has {', '.join(run.methods)}")
    found = groups(run, prefixes)
    order = ["all", "classic", "hardened"]
    names = [n for n in order if n in found] + sorted(n for n in found if n not in order)
    lines = [COLUMNS, "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines.extend(_row(name, summarize_method(method, found[name])) for name in names)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("results", type=Path, help="a JSON file written by sleuth eval --json")
    parser.add_argument("--method", default="sleuth", help="which method's scores to break down")
    parser.add_argument(
        "--prefix", action="append", default=[], help="only tags with this prefix (repeatable)"
    )
    args = parser.parse_args(argv)
    try:
        print(breakdown_table(read_json(args.results), args.method, args.prefix))
    except SleuthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
