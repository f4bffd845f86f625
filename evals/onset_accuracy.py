"""How far the engine's onset lands from each scenario's labelled onset.

Usage: ``python -m evals.onset_accuracy SUITE_DIR [--json OUT]``. Prints the signed error
(+ is late) per scenario and its summary: median, median absolute, and how many within 60 s.
Every scenario whose ground truth dates its onset counts; the others are listed as skipped.
The onset is what ``analysis.engine.scope`` decides from the data and the trigger, as an
investigation would; the ground truth is read only here, after it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from mcp_server.analysis.engine import scope
from mcp_server.backends.local import LocalBackend
from mcp_server.errors import SleuthError
from mcp_server.scenario import SCENARIO_FILE, load_ground_truth, load_scenario_spec

WITHIN_SECONDS = 60.0


@dataclass(frozen=True)
class OnsetSummary:
    n: int
    median_error: float
    median_abs_error: float
    within: int  # scenarios within WITHIN_SECONDS of the labelled onset


def onset_error(directory: Path) -> float | None:
    """Seconds from the labelled onset to the engine's (None: the truth dates no onset)."""
    truth = load_ground_truth(directory)
    if truth is None or truth.onset is None:
        return None
    spec = load_scenario_spec(directory)
    with LocalBackend.from_scenario(directory) as backend:
        decided = scope(backend, spec)
    return (decided.onset - truth.onset).total_seconds()


def summarize(errors: list[float]) -> OnsetSummary | None:
    if not errors:
        return None
    return OnsetSummary(
        n=len(errors),
        median_error=statistics.median(errors),
        median_abs_error=statistics.median(abs(e) for e in errors),
        within=sum(abs(e) <= WITHIN_SECONDS for e in errors),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.onset_accuracy", description=__doc__.split("\n")[0]
    )
    parser.add_argument("suite", type=Path, help="a directory of scenario directories")
    parser.add_argument("--json", type=Path, dest="out", help="write each scenario's error here")
    args = parser.parse_args(argv)
    suite, out = args.suite, args.out
    if not suite.is_dir():
        print(f"{suite}: not a directory (expected a suite of scenario directories)", file=sys.stderr)
        return 2
    errors: dict[str, float] = {}
    for directory in sorted(p for p in suite.iterdir() if (p / SCENARIO_FILE).is_file()):
        try:
            error = onset_error(directory)
        except SleuthError as exc:
            print(f"{directory.name}: skipped ({exc})", file=sys.stderr)
            continue
        if error is None:
            print(f"{directory.name}: skipped (its ground truth dates no onset)")
            continue
        errors[directory.name] = error
        print(f"{directory.name}: {error:+.0f} s")
    summary = summarize(list(errors.values()))
    if summary is None:
        print(f"{suite}: no scenario with a labelled onset", file=sys.stderr)
        return 1
    print(
        f"n={summary.n} median error {summary.median_error:+.1f} s, median |error| "
        f"{summary.median_abs_error:.1f} s, within {WITHIN_SECONDS:.0f} s: {summary.within}/{summary.n}"
    )
    if out is not None:
        out.write_text(json.dumps(errors, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
