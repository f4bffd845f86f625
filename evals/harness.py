"""Run every scenario of a suite through every method and score the results.

Per scenario: read the public description (no ground truth), import the whole scenario into an
in-memory :class:`LocalBackend`, run each method on it, then, and only then, read the ground
truth and score. A method that raises is a failure with its error; the run continues. A scenario
that cannot be loaded is a failure for every method.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path

from evals.methods import available
from evals.outcome import Method, Outcome
from evals.results import DataSize, EvalRun, MethodRun, ScenarioResult, TruthSummary
from evals.scorers import Embed, score_case, summarize_method, top_guesses
from mcp_server.backends.local import LocalBackend
from mcp_server.errors import SleuthError
from mcp_server.scenario import SCENARIO_FILE, GroundTruth, load_ground_truth, load_scenario_spec

OnResult = Callable[[ScenarioResult], None]


def discover_scenarios(suite_dir: Path) -> list[Path]:
    """Every directory under ``suite_dir`` (itself included) holding a scenario.yaml, sorted."""
    suite_dir = Path(suite_dir)
    if not suite_dir.is_dir():
        raise SleuthError(f"suite directory {suite_dir} does not exist or is not a directory")
    found = sorted(path.parent for path in suite_dir.rglob(SCENARIO_FILE))
    if not found:
        raise SleuthError(f"no scenarios under {suite_dir} (expected directories holding {SCENARIO_FILE})")
    return found


def quick_subset(directories: Sequence[Path]) -> list[Path]:
    """One scenario per true fault type (the first by name), plus the first two-fault scenario.

    Small enough for CI, and still covers every fault type the suite labels.
    """
    chosen: dict[str, Path] = {}
    concurrent: Path | None = None
    for directory in sorted(directories):
        try:
            truth = load_ground_truth(directory)
        except SleuthError:
            continue
        if truth is None:
            continue
        if truth.secondary_root_causes:
            concurrent = concurrent or directory
            continue
        chosen.setdefault(str(truth.root_cause.fault_type), directory)
    subset = sorted(chosen.values())
    if concurrent is not None:
        subset.append(concurrent)
    return subset


def _truth_summary(truth: GroundTruth) -> TruthSummary:
    return TruthSummary(
        service=truth.root_cause.service,
        fault_type=str(truth.root_cause.fault_type),
        secondary=[f"{cause.service}:{cause.fault_type}" for cause in truth.secondary_root_causes],
        red_herrings=list(truth.red_herrings),
        contributing_factors=list(truth.contributing_factors),
    )


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, SleuthError):
        return str(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


@functools.cache
def sentence_embedder() -> Embed | None:
    """The knowledge base's offline embedder, for five-whys coverage; None when it cannot load."""
    try:
        from knowledge.embeddings import default_embedder

        embedder = default_embedder()
        embedder.embed(["warm up"])
        return embedder.embed
    except Exception:  # optional: coverage then falls back to word overlap alone
        return None


def evaluate_scenario(directory: Path, methods: Sequence[Method]) -> ScenarioResult:
    """Import one scenario, run every method on it, and score. Never raises for a scenario's sake."""
    directory = Path(directory)
    result = ScenarioResult(scenario=directory.name, path=str(directory))
    try:
        spec = load_scenario_spec(directory)
        result.scenario = spec.name
        result.tags = list(spec.tags)
        started, cpu = time.perf_counter(), time.process_time()
        backend = LocalBackend()
        summary = backend.import_scenario(directory)
        result.import_seconds = round(time.perf_counter() - started, 4)
        result.import_cpu_seconds = round(time.process_time() - cpu, 4)
        result.data = DataSize(spans=summary.spans, logs=summary.logs, metric_points=summary.metric_points)
    except Exception as exc:  # the scenario itself is broken: record it, let the suite go on
        result.error = _error_text(exc)
        return result
    try:
        outcomes: dict[str, tuple[Outcome | None, float, float, str | None]] = {}
        for method in methods:
            started, cpu = time.perf_counter(), time.process_time()
            outcome: Outcome | None = None
            error: str | None = None
            try:
                outcome = method.run(backend, spec)
            except Exception as exc:  # a crashing method is a scored failure, not a crashed eval
                error = _error_text(exc)
            outcomes[method.name] = (outcome, time.perf_counter() - started, time.process_time() - cpu, error)
    finally:
        backend.close()
    # Ground truth is read only now, after every method has finished with the data.
    try:
        truth = load_ground_truth(directory)
    except SleuthError as exc:
        result.error = f"ground truth unreadable: {exc}"
        truth = None
    result.truth = _truth_summary(truth) if truth is not None else None
    for name, (outcome, seconds, cpu_seconds, error) in outcomes.items():
        run = MethodRun(
            method=name,
            ok=outcome is not None,
            error=error,
            wall_seconds=round(seconds, 4),
            cpu_seconds=round(cpu_seconds, 4),
        )
        if outcome is not None:
            run.top = top_guesses(outcome)
            run.tool_calls = outcome.tool_calls
            run.tokens = dict(outcome.tokens)
            run.notes = list(outcome.notes)
            run.reasoner = outcome.reasoner
            if truth is not None:
                run.score = score_case(
                    outcome,
                    truth,
                    five_whys_nodes=outcome.five_whys_nodes,
                    report_completeness=outcome.report_completeness,
                    report_facts=outcome.report_facts,
                    embed=sentence_embedder() if outcome.five_whys_nodes else None,
                )
        result.runs[name] = run
    return result


def usable_methods(methods: Sequence[Method]) -> tuple[list[Method], list[str]]:
    """The methods whose code exists here, and a note for each one skipped."""
    usable, skipped = [], []
    for method in methods:
        if available(method):
            usable.append(method)
        else:
            skipped.append(f"{method.name} (its code is not in this checkout)")
    return usable, skipped


def _init_worker() -> None:
    # The suite is already parallel across scenarios; nested import pools would only oversubscribe.
    os.environ.setdefault("SLEUTH_IMPORT_WORKERS", "1")


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def run_suite(
    directories: Sequence[Path],
    methods: Sequence[Method],
    *,
    workers: int = 1,
    on_result: OnResult | None = None,
    suite: str = "",
    reasoner: str = "offline",
    command: str = "",
) -> EvalRun:
    """Evaluate every scenario (in ``workers`` processes when > 1) and summarise each method."""
    started = time.perf_counter()
    for method in methods:
        prepare = getattr(method, "prepare", None)
        if callable(prepare):
            prepare()
    results: list[ScenarioResult] = []

    def collect(result: ScenarioResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    if workers <= 1 or len(directories) <= 1:
        for directory in directories:
            collect(evaluate_scenario(directory, methods))
    else:
        # spawn, not fork: the parent holds threads (Rich's refresher, DuckDB) that fork would copy mid-lock.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker) as pool:
            futures: dict[Future[ScenarioResult], Path] = {
                pool.submit(evaluate_scenario, directory, list(methods)): directory
                for directory in directories
            }
            for future in as_completed(futures):
                directory = futures[future]
                try:
                    collect(future.result())
                except Exception as exc:  # the worker process died (e.g. out of memory)
                    collect(
                        ScenarioResult(scenario=directory.name, path=str(directory), error=_error_text(exc))
                    )
    order = {str(directory): index for index, directory in enumerate(directories)}
    results.sort(key=lambda result: order.get(result.path, len(order)))
    names = [method.name for method in methods]
    return EvalRun(
        created_at=datetime.now(UTC),
        command=command,
        suite=suite,
        reasoner=reasoner,
        methods=names,
        workers=workers,
        wall_seconds=round(time.perf_counter() - started, 3),
        cpu_seconds=round(
            sum(r.import_cpu_seconds + sum(m.cpu_seconds for m in r.runs.values()) for r in results), 3
        ),
        scenarios=results,
        summaries={name: summarize_method(name, results) for name in names},
    )
