"""Eval results for people: a Rich table, JSON, a Markdown results table and an HTML page with plots.

The HTML page is self-contained (plots are inline PNGs), so it opens offline and can be attached
to a pull request.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: render to memory only

import matplotlib.pyplot as plt
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from evals.report_correctness import CHECK_LABELS, CHECKS
from evals.results import EvalRun, MethodRun, MethodSummary
from mcp_server.errors import SleuthError

METHOD_LABELS = {
    "most_errors": "(a) most errors wins",
    "metric_change": "(b) largest metric change (BARO score)",
    "engine": "(c) engine, no knowledge",
    "sleuth": "(d) full investigation",
}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def summary_rows(run: EvalRun) -> list[list[str]]:
    rows = []
    for name in run.methods:
        s: MethodSummary = run.summaries[name]
        rows.append(
            [
                METHOD_LABELS.get(name, name),
                _pct(s.top1),
                _pct(s.top3),
                _pct(s.top5),
                _pct(s.fault_type),
                _num(s.mean_rank),
                str(s.not_ranked),
                str(s.red_herring_first),
                _pct(s.evidence_precision),
                _pct(s.five_whys_coverage),
                _pct(s.report_completeness),
                f"{s.wall_seconds_mean:.2f}",
                f"{s.cpu_seconds_mean:.2f}",
                f"{s.tool_calls_mean:.1f}",
                str(sum(s.tokens_total.values())) if s.tokens_total else "–",
                f"{s.failures}/{s.scenarios}",
            ]
        )
    return rows


CHECK_HEADERS = ["method", "report complete", *(CHECK_LABELS[name] for name in CHECKS)]


def check_rows(run: EvalRun) -> list[list[str]]:
    """Report correctness next to completeness, for the methods that draft a report."""
    rows = []
    for name in run.methods:
        s = run.summaries[name]
        if not s.report_checks:
            continue
        cells = [METHOD_LABELS.get(name, name), _pct(s.report_completeness)]
        for check in CHECKS:
            rate = s.report_checks.get(check)
            cells.append("–" if rate is None or not rate.n else f"{rate.rate:.0%} ({rate.passed}/{rate.n})")
        rows.append(cells)
    return rows


def report_misses(run: EvalRun) -> list[str]:
    """One line per scenario whose report failed a correctness check."""
    return [
        f"{scenario.scenario} [{name}]: {'; '.join(method_run.score.report.misses)}"
        for scenario in run.scenarios
        for name, method_run in scenario.runs.items()
        if method_run.score is not None
        and method_run.score.report is not None
        and method_run.score.report.misses
    ]


SHORT_HEADERS = [
    "method", "top1", "top3", "top5", "fault", "rank", "unranked", "herring", "ev.prec", "5whys",
    "report", "s", "cpu s", "tools", "tokens", "failed",
]  # fmt: skip
SHORT_LABELS = {
    "most_errors": "(a) most errors",
    "metric_change": "(b) metric change",
    "engine": "(c) engine",
    "sleuth": "(d) sleuth",
}

SUMMARY_HEADERS = [
    "method",
    "top-1",
    "top-3",
    "top-5",
    "fault type",
    "mean rank",
    "not ranked",
    "red herring 1st",
    "evidence precision",
    "5-whys coverage",
    "report complete",
    "s / scenario",
    "CPU s / scenario",
    "tool calls",
    "tokens",
    "failed",
]


def print_summary(run: EvalRun, console: Console) -> None:
    table = Table(title=f"Sleuth eval: {len(run.scenarios)} scenarios, suite {run.suite}", padding=(0, 1))
    for index, header in enumerate(SHORT_HEADERS):
        table.add_column(header, justify="left" if index == 0 else "right", no_wrap=True)
    for name, row in zip(run.methods, summary_rows(run), strict=True):
        table.add_row(SHORT_LABELS.get(name, name), *row[1:])
    console.print(table)
    checks = check_rows(run)
    if checks:
        correctness = Table(title="Report correctness (pass rate, passed/scored)", padding=(0, 1))
        for index, header in enumerate(CHECK_HEADERS):
            correctness.add_column(header, justify="left" if index == 0 else "right")
        for row in checks:
            correctness.add_row(*row)
        console.print(correctness)
    failures = [
        (scenario.scenario, name, run_.error or scenario.error)
        for scenario in run.scenarios
        for name, run_ in scenario.runs.items()
        if not run_.ok
    ]
    failures += [(s.scenario, "all", s.error) for s in run.scenarios if s.error and not s.runs]
    for scenario_name, method, error in failures[:20]:
        console.print(f"[red]failed[/] {scenario_name} [{method}]: {error}", highlight=False)
    if len(failures) > 20:
        console.print(f"... and {len(failures) - 20} more failures (see the JSON)")
    console.print(
        f"Wall time {run.wall_seconds:.1f}s with {run.workers} worker(s); CPU time {run.cpu_seconds:.1f}s "
        "(import and every method). Columns: docs/evals.md."
    )


def write_json(run: EvalRun, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(run.model_dump_json(indent=2) + "\n", encoding="utf-8")


def read_json(path: Path) -> EvalRun:
    try:
        return EvalRun.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SleuthError(f"no eval results at {path} (write them with sleuth eval --json)") from None
    except ValidationError as exc:
        raise SleuthError(f"{path} is not a sleuth eval result: {exc.errors()[0]['msg']}") from None


def markdown_table(run: EvalRun) -> str:
    """The README results table, with when and how it was produced."""
    lines = [
        f"Generated {run.created_at:%Y-%m-%d %H:%M} UTC by `{run.command or 'sleuth eval'}` "
        f"on {len(run.scenarios)} scenarios ({run.wall_seconds:.0f}s wall with {run.workers} worker(s), "
        f"{run.cpu_seconds:.0f}s CPU).",
        "",
        "| " + " | ".join(SUMMARY_HEADERS) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(SUMMARY_HEADERS) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in summary_rows(run)]
    checks = check_rows(run)
    if checks:
        lines += ["", "Report correctness (pass rate, passed/scored):", ""]
        lines += [
            "| " + " | ".join(CHECK_HEADERS) + " |",
            "|" + "|".join(["---"] + ["---:"] * (len(CHECK_HEADERS) - 1)) + "|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in checks]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ plots


def _png(fig: plt.Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def plot_accuracy_per_fault_type(run: EvalRun) -> str:
    faults = sorted({fault for s in run.summaries.values() for fault in s.per_fault_type})
    fig, axes = plt.subplots(2, 1, figsize=(max(7.0, 0.7 * len(faults) + 2), 6.5), sharex=True)
    width = 0.8 / max(1, len(run.methods))
    for ax, attribute, label in ((axes[0], "top1", "service top-1"), (axes[1], "fault_type", "fault type")):
        for index, name in enumerate(run.methods):
            per = run.summaries[name].per_fault_type
            values = [getattr(per[f], attribute) if f in per else 0.0 for f in faults]
            ax.bar(
                [i + index * width for i in range(len(faults))],
                values,
                width,
                label=METHOD_LABELS.get(name, name),
            )
        ax.set_ylabel(f"{label} accuracy")
        ax.set_ylim(0, 1.05)
    axes[1].set_xticks([i + width * (len(run.methods) - 1) / 2 for i in range(len(faults))])
    axes[1].set_xticklabels(faults, rotation=40, ha="right", fontsize=8)
    axes[0].set_title("Accuracy per fault type", pad=28)
    axes[0].legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, frameon=False)
    return _png(fig)


def plot_rank_distribution(run: EvalRun) -> str:
    labels = ["1", "2", "3", "4", "5", "6-10", ">10/none", "failed"]

    def bucket(rank: int | None, ok: bool) -> str:
        if not ok:
            return "failed"
        if rank is None or rank > 10:
            return ">10/none"
        return str(rank) if rank <= 5 else "6-10"

    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    width = 0.8 / max(1, len(run.methods))
    for index, name in enumerate(run.methods):
        counts: Counter[str] = Counter()
        for scenario in run.scenarios:
            method_run = scenario.runs.get(name)
            ok = method_run is not None and method_run.ok and method_run.score is not None
            rank = method_run.score.rank if ok and method_run and method_run.score else None
            counts[bucket(rank, ok)] += 1
        ax.bar(
            [i + index * width for i in range(len(labels))],
            [counts[label] for label in labels],
            width,
            label=METHOD_LABELS.get(name, name),
        )
    ax.set_xticks([i + width * (len(run.methods) - 1) / 2 for i in range(len(labels))])
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_xlabel("rank of the true cause")
    ax.set_ylabel("scenarios")
    ax.set_title("Rank distribution")
    ax.legend(fontsize=7, loc="upper right")
    return _png(fig)


def plot_latency_vs_size(run: EvalRun) -> str:
    """Wall time (what a user waits) and CPU time (stable when the machine is shared) per scenario."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharex=True)
    for ax, attribute, import_attribute, label in (
        (axes[0], "wall_seconds", "import_seconds", "wall seconds"),
        (axes[1], "cpu_seconds", "import_cpu_seconds", "CPU seconds"),
    ):
        for name in run.methods:
            points = [
                (scenario.data.records, getattr(scenario.runs[name], attribute))
                for scenario in run.scenarios
                if name in scenario.runs and scenario.runs[name].ok and scenario.data.records
            ]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.scatter(xs, ys, s=14, label=METHOD_LABELS.get(name, name))
        import_points = [
            (s.data.records, getattr(s, import_attribute)) for s in run.scenarios if s.data.records
        ]
        if import_points:
            xs, ys = zip(*import_points, strict=True)
            ax.scatter(xs, ys, s=10, marker="x", color="grey", label="import into DuckDB")
        ax.set_xlabel("records (spans + logs + metric points)")
        ax.set_ylabel(label)
    axes[0].set_title("Latency vs data size")
    axes[1].set_title("CPU time vs data size")
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    return _png(fig)


def _html_table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def scenario_rows(run: EvalRun) -> list[list[str]]:
    rows = []
    for scenario in run.scenarios:
        truth = f"{scenario.truth.service} / {scenario.truth.fault_type}" if scenario.truth else "–"
        cells = [scenario.scenario, truth, f"{scenario.data.records:,}"]
        for name in run.methods:
            method_run = scenario.runs.get(name)
            if method_run is None or not method_run.ok:
                cells.append(
                    "failed: " + ((method_run.error if method_run else None) or scenario.error or "?")
                )
            elif method_run.score is None:
                cells.append("unscored")
            else:
                first = method_run.top[0] if method_run.top else None
                guess = f"{first.service} / {first.fault_type}" if first else "nothing"
                rank = method_run.score.rank if method_run.score.rank is not None else "–"
                cells.append(f"#{rank} ({guess})")
        rows.append(cells)
    return rows


def render_html(run: EvalRun) -> str:
    plots = [
        ("Accuracy per fault type", plot_accuracy_per_fault_type(run)),
        ("Rank distribution", plot_rank_distribution(run)),
        ("Latency vs data size", plot_latency_vs_size(run)),
    ]
    images = "".join(
        f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{data}"></figure>'
        for title, data in plots
    )
    scenario_headers = ["scenario", "truth", "records"] + [METHOD_LABELS.get(m, m) for m in run.methods]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sleuth eval {run.created_at:%Y-%m-%d %H:%M}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: 0.85rem; }}
th, td {{ border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
figure {{ display: inline-block; margin: 0.5rem; }}
img {{ max-width: 100%; }}
code {{ background: #f4f4f4; padding: 0 0.25rem; }}
</style></head><body>
<h1>Sleuth eval</h1>
<p>{len(run.scenarios)} scenarios from suite <code>{html.escape(run.suite)}</code>, reasoner
<code>{html.escape(run.reasoner)}</code>, generated {run.created_at:%Y-%m-%d %H:%M} UTC by
<code>{html.escape(run.command or "sleuth eval")}</code> in {run.wall_seconds:.1f}s
({run.cpu_seconds:.1f}s CPU, {run.workers} worker(s)).</p>
<h2>Summary</h2>
{_html_table(SUMMARY_HEADERS, summary_rows(run))}
<h2>Report correctness</h2>
{_html_table(CHECK_HEADERS, check_rows(run)) if check_rows(run) else "<p>No report was drafted.</p>"}
<ul>{"".join(f"<li>{html.escape(line)}</li>" for line in report_misses(run))}</ul>
<h2>Plots</h2>
{images}
<h2>Scenarios</h2>
{_html_table(scenario_headers, scenario_rows(run))}
</body></html>
"""


def write_html(run: EvalRun, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(run), encoding="utf-8")


def write_markdown(run: EvalRun, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown_table(run), encoding="utf-8")


# ------------------------------------------------------------------------------------ comparison

COMPARED = (("top1", "top-1"), ("top3", "top-3"), ("fault_type", "fault type"), ("exact_top1", "exact top-1"))


OUTCOMES = ("right", "service only", "wrong", "failed")


def _outcome(run: MethodRun) -> str:
    if not run.ok or run.score is None:
        return "failed"
    if run.score.exact_top1:
        return "right"
    return "service only" if run.score.top1 else "wrong"


def compare_runs(before: EvalRun, after: EvalRun) -> tuple[list[list[str]], list[str]]:
    """Per-method deltas of the headline rates, and the scenarios whose outcome changed."""
    rows: list[list[str]] = []
    for name in after.methods:
        if name not in before.summaries:
            continue
        old, new = before.summaries[name], after.summaries[name]
        cells = [METHOD_LABELS.get(name, name)]
        for attribute, _ in COMPARED:
            delta = getattr(new, attribute) - getattr(old, attribute)
            cells.append(f"{getattr(new, attribute):.0%} ({delta:+.0%})")
        cells.append(f"{new.cpu_seconds_mean:.2f} ({new.cpu_seconds_mean - old.cpu_seconds_mean:+.2f})")
        rows.append(cells)
    changes: list[str] = []
    previous = {scenario.scenario: scenario for scenario in before.scenarios}
    for scenario in after.scenarios:
        old_scenario = previous.get(scenario.scenario)
        if old_scenario is None:
            continue
        for name, run in scenario.runs.items():
            old_run = old_scenario.runs.get(name)
            if old_run is None or _outcome(old_run) == _outcome(run):
                continue
            guess = f"{run.top[0].service}/{run.top[0].fault_type}" if run.top else run.error or "nothing"
            better = OUTCOMES.index(_outcome(run)) < OUTCOMES.index(_outcome(old_run))
            changes.append(
                f"{'better' if better else 'worse'}: {scenario.scenario} · {name}: "
                f"{_outcome(old_run)} → {_outcome(run)} (first guess {guess})"
            )
    return rows, changes


def print_comparison(before: EvalRun, after: EvalRun, console: Console) -> None:
    rows, changes = compare_runs(before, after)
    table = Table(title=f"Against the run of {before.created_at:%Y-%m-%d %H:%M} UTC", padding=(0, 1))
    for index, header in enumerate(["method", *(label for _, label in COMPARED), "cpu s"]):
        table.add_column(header, justify="left" if index == 0 else "right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    for line in changes:
        console.print(Text(line, style="green" if line.startswith("better") else "red"))
    if not changes:
        console.print("No scenario changed its outcome.")
