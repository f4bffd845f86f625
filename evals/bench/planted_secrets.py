"""Benchmark: redaction recall on a planted-secrets corpus, across every output channel.

Simulates an incident (dependency throttling in ``visits``, seed 7, size tiny), plants one secret
of each kind in the corpus (``evals.redaction.corpus``: cloud keys, tokens, private keys, URL
passwords, headers, values named by their key...) where the investigation will read them, then
imports, investigates and reports through the real command line, the alarm service, the MCP tools
and the Claude reasoner (a scripted model on a mock transport). The secrets carried in text are
also asked as the question (``--question``, an alarm's reason), as a person or an alarm would. For every channel it prints how
many secrets reached it and how many leaked, and the recall over all of them.

Run: ``python -m evals.bench.planted_secrets [--out build/bench/secrets] [--seed 18]``.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from pathlib import Path

from evals.redaction.channels import collect
from evals.redaction.corpus import KINDS, corpus
from evals.redaction.plant import plant
from evals.redaction.recall import ChannelRecall, measure, overall

SERVICE = "visits"
FAULT = "dependency_throttling"
GOAL = 0.98


def run(out: Path, seed: int = 18) -> list[ChannelRecall]:
    """Simulate, plant, investigate and measure under ``out`` (emptied first)."""
    from evals.simulator import generate_scenario

    shutil.rmtree(out, ignore_errors=True)
    scenario = generate_scenario(FAULT, SERVICE, 7, out / "scenario", size="tiny")
    planted = corpus(seed)
    plant(Path(scenario), planted, SERVICE)
    question = "\n".join(p.text for p in planted if p.carrier == "text")
    channels = collect(Path(scenario), out / "home", SERVICE, FAULT, question)
    return measure(channels, planted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("build/bench/secrets"))
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    logging.disable(logging.INFO)  # Drain3 and httpx narrate every step
    started = time.perf_counter()
    rows = run(args.out, args.seed)
    print(f"planted {KINDS} kinds of secret; channels searched after import, investigation and report")
    print(f"{'channel':<26} {'reached':>8} {'leaked':>7} {'recall':>7}")
    for row in rows:
        print(f"{row.channel:<26} {len(row.reached):>8} {len(row.leaked):>7} {row.recall:>7.3f}")
        for kind in row.leaked:
            print(f"    leaked: {kind}")
    recall = overall(rows)
    print(f"recall over every channel: {recall:.3f} (goal {GOAL}) in {time.perf_counter() - started:.0f}s")
    if recall < GOAL:
        sys.exit(1)


if __name__ == "__main__":
    main()
