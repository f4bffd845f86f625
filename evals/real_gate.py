"""The dev-set gate: figures of a saved ``sleuth eval --json`` run by day and fault type, checked
against a committed floor that only ever rises (``evals/real_floor.json``).

Usage: ``python -m evals.real_gate RUN.json [--floor FILE] [--markdown OUT]``. Exit 1 when a figure
is below its floor or a scenario FAILED (its ground truth unreadable, its run broken).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from evals.render import read_json
from evals.results import EvalRun, ScenarioResult

METRICS = ("top1", "top3", "top5", "exact_top1", "metrics_only_ranked")
DEFAULT_FLOOR = Path(__file__).with_name("real_floor.json")


def _day(case: ScenarioResult) -> str:
    return next((tag.removeprefix("day-") for tag in case.tags if tag.startswith("day-")), "unknown")


def failures(run: EvalRun, method: str = "sleuth") -> list[tuple[str, str]]:
    """(scenario, reason) for every scenario that could not be scored: never silently unranked."""
    out = []
    for case in run.scenarios:
        entry = case.runs.get(method)
        if case.error:
            out.append((case.scenario, case.error))
        elif case.truth is None:
            out.append((case.scenario, "ground truth could not be read"))
        elif entry is None or not entry.ok or entry.score is None:
            out.append((case.scenario, (entry.error if entry else None) or f"{method} did not run"))
    return out


def figures(cases: list[ScenarioResult], method: str = "sleuth") -> dict[str, float | int]:
    """Rates over ``cases``; a failed case counts as a miss."""
    n = len(cases)
    hits = dict.fromkeys(("top1", "top3", "top5", "exact_top1"), 0)
    # issue 14: a case with metrics only must still be ranked (with low confidence), never empty
    metrics_only = ranked = 0
    for case in cases:
        entry = case.runs.get(method)
        score = entry.score if entry and entry.ok else None
        for key in hits:
            hits[key] += bool(score and getattr(score, key))
        if "metrics-only" in case.tags:
            metrics_only += 1
            ranked += bool(entry and entry.ok and entry.top)
    out: dict[str, float | int] = {"n": n}
    out.update({key: round(value / n, 3) if n else 0.0 for key, value in hits.items()})
    out["metrics_only"] = metrics_only
    out["metrics_only_ranked"] = round(ranked / metrics_only, 3) if metrics_only else 1.0
    return out


def breakdown(run: EvalRun) -> dict[str, dict[str, dict[str, float | int]]]:
    groups: dict[str, dict[str, list[ScenarioResult]]] = {
        "overall": {"all": run.scenarios},
        "day": {},
        "fault_type": {},
    }
    for case in run.scenarios:
        groups["day"].setdefault(_day(case), []).append(case)
        fault = case.truth.fault_type if case.truth else "unreadable"
        groups["fault_type"].setdefault(fault, []).append(case)
    return {kind: {key: figures(cases) for key, cases in sorted(by.items())} for kind, by in groups.items()}


def below_floor(overall: dict[str, float | int], floor: dict[str, float]) -> list[str]:
    return [
        f"{name} {overall.get(name, 0.0):.3f} is below its floor {value:.3f}"
        for name, value in floor.items()
        if float(overall.get(name, 0.0)) + 1e-9 < value
    ]


def markdown(table: dict[str, dict[str, dict[str, float | int]]], failed: list[tuple[str, str]]) -> str:
    lines = [
        "| group | n | top-1 | top-3 | top-5 | service+fault top-1 | metrics-only ranked (not empty) |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, by in table.items():
        for key, row in by.items():
            lines.append(
                f"| {kind} {key} | {row['n']} | {row['top1']:.2f} | {row['top3']:.2f} | {row['top5']:.2f} "
                f"| {row['exact_top1']:.2f} | {row['metrics_only_ranked']:.2f} ({row['metrics_only']}) |"
            )
    lines += [f"| FAILED {name} | {reason} | | | | | |" for name, reason in failed]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    floor_path, md_out = DEFAULT_FLOOR, None
    if "--floor" in args:
        i = args.index("--floor")
        floor_path = Path(args.pop(i + 1))
        args.pop(i)
    if "--markdown" in args:
        i = args.index("--markdown")
        md_out = Path(args.pop(i + 1))
        args.pop(i)
    if len(args) != 1:
        print("usage: python -m evals.real_gate RUN.json [--floor FILE] [--markdown OUT]", file=sys.stderr)
        return 2
    run = read_json(Path(args[0]))
    table, failed = breakdown(run), failures(run)
    text = markdown(table, failed)
    print(text, end="")
    if md_out is not None:
        md_out.write_text(text, encoding="utf-8")
    try:
        floor = json.loads(floor_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"floor {floor_path}: cannot read ({exc})", file=sys.stderr)
        return 2
    problems = [f"FAILED {name}: {reason}" for name, reason in failed]
    problems += below_floor(table["overall"]["all"], floor)
    for problem in problems:
        print(f"gate: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
