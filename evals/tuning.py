"""Leave-one-day-out tuning of the engine's few free weights, so no figure is scored on the data
that chose it.

The engine has a handful of weights that are judgement calls rather than statistics (how much a
call-pattern change weighs against an error origin, how much a peer comparison is trusted). This
tool tries a small grid of them on the scenarios carrying one tag (e.g. ``day-2022-08-22``),
keeps the best setting by top-1 then top-3 (ties: the shipped setting, then the first), and scores
that setting on the scenarios carrying the other tag. Run it both ways::

    python -m evals.tuning build/datasets/nezha-ob --tune day-2022-08-22 --test day-2022-08-23
    python -m evals.tuning build/datasets/nezha-ob --tune day-2022-08-23 --test day-2022-08-22

The grid is small on purpose: with 24-32 incidents a day, a wide search would fit noise. The
weights are module constants; the tool sets them in its own worker processes only.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mcp_server.errors import SleuthError

# (module, constant, values tried); the first value of each is what ships
GRID: list[tuple[str, str, tuple[float, ...]]] = [
    ("mcp_server.analysis.ranking", "STRUCTURE_WEIGHT", (2.0, 1.0, 3.0)),
    ("mcp_server.analysis.latency", "PEER_WEIGHT", (0.6, 0.3, 1.0)),
    ("mcp_server.analysis.ranking", "SYMPTOM_DISCOUNT", (0.35, 0.2)),
]


@dataclass(frozen=True)
class Score:
    cases: int
    top1: int
    top3: int
    exact: int  # top-1 service and fault type both right

    def text(self) -> str:
        n = max(self.cases, 1)
        return (
            f"top-1 {self.top1 / n:.2f} ({self.top1}/{self.cases}), top-3 {self.top3 / n:.2f}, "
            f"service and type {self.exact / n:.2f}"
        )


def _apply(setting: dict[str, float]) -> None:
    import importlib

    from mcp_server.analysis import ranking
    from mcp_server.analysis.signals import SignalKind

    for key, value in setting.items():
        module, name = key.rsplit(".", 1)
        setattr(importlib.import_module(module), name, value)
    ranking.WEIGHTS[SignalKind.STRUCTURE] = ranking.STRUCTURE_WEIGHT


def _run_case(args: tuple[str, dict[str, float]]) -> tuple[bool, bool, bool]:
    directory, setting = args
    _apply(setting)
    from agent.wiring import investigate_engine_only
    from mcp_server.backends.local import LocalBackend
    from mcp_server.scenario import load_ground_truth, load_scenario_spec

    spec = load_scenario_spec(Path(directory))
    with LocalBackend(_imported(Path(directory)), read_only=True) as backend:
        result = investigate_engine_only(backend, spec)
    truth = load_ground_truth(Path(directory))
    if truth is None:
        raise SleuthError(f"{directory}: no ground truth to tune against")
    services = [h.service for h in result.hypotheses]
    top = result.hypotheses[0] if result.hypotheses else None
    cause = truth.root_cause
    return (
        bool(services[:1] == [cause.service]),
        cause.service in services[:3],
        bool(top is not None and top.service == cause.service and top.fault_type == cause.fault_type),
    )


def _imported(directory: Path) -> Path:
    """The scenario imported once into a store under build/tuning (git-ignored), reused by every
    setting; re-imported when the scenario or the store's schema changed."""
    from mcp_server.backends.local import LocalBackend
    from mcp_server.backends.local.schema import SCHEMA_VERSION

    store = Path("build/tuning/stores") / directory.parent.name / f"{directory.name}.duckdb"
    stamp = store.with_suffix(".stamp")
    key = f"{(directory / 'scenario.yaml').stat().st_mtime_ns}-{SCHEMA_VERSION}"
    if not stamp.exists() or stamp.read_text() != key:
        store.parent.mkdir(parents=True, exist_ok=True)
        for old in (store, Path(f"{store}.wal")):
            old.unlink(missing_ok=True)
        with LocalBackend(store) as backend:
            backend.import_scenario(directory)
        stamp.write_text(key)
    return store


def score(directories: Sequence[Path], setting: dict[str, float], pool: ProcessPoolExecutor) -> Score:
    outcomes = list(pool.map(_run_case, [(str(d), setting) for d in directories]))
    return Score(
        len(outcomes),
        sum(o[0] for o in outcomes),
        sum(o[1] for o in outcomes),
        sum(o[2] for o in outcomes),
    )


def tagged(suite: Path, tag: str) -> list[Path]:
    from mcp_server.scenario import load_scenario_spec

    found = [p.parent for p in sorted(suite.rglob("scenario.yaml"))]
    return [d for d in found if tag in load_scenario_spec(d).tags]


def settings() -> list[dict[str, float]]:
    keys = [f"{module}.{name}" for module, name, _ in GRID]
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(v for _, _, v in GRID))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.tuning", description=__doc__.split("\n")[0])
    parser.add_argument("suite", type=Path)
    parser.add_argument("--tune", required=True, help="tag of the scenarios to choose the weights on")
    parser.add_argument("--test", required=True, help="tag of the scenarios to score the chosen weights on")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    tune, test = tagged(args.suite, args.tune), tagged(args.suite, args.test)
    if not tune or not test:
        print(
            f"error: no scenarios tagged {args.tune!r} or {args.test!r} under {args.suite}", file=sys.stderr
        )
        return 2
    grid = settings()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        list(pool.map(_imported, tune + test))  # import each scenario once, before the grid
        scored = [(score(tune, s, pool), i, s) for i, s in enumerate(grid)]
        best_score, _, best = max(scored, key=lambda x: (x[0].top1, x[0].top3, x[0].exact, -x[1]))
        shipped_on_tune = scored[0][0]
        held_out = score(test, best, pool)
        shipped_on_test = score(test, grid[0], pool)
    print(f"tuned on {args.tune} ({len(tune)} cases), {len(grid)} settings")
    print(f"  chosen: {best}")
    print(f"  on {args.tune}: chosen {best_score.text()}; shipped {shipped_on_tune.text()}")
    print(f"  on {args.test} (held out): chosen {held_out.text()}; shipped {shipped_on_test.text()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
