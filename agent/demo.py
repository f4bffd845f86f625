"""``make demo``: the whole product on the embedded default, offline, in one command.

1. Simulate the demo incident (the visits availability SLO breaches because DynamoDB throttles;
   retries amplify; an unrelated deployment of customers happened ten minutes earlier).
2. Import it into the local store ($SLEUTH_DATA_DIR/store.duckdb), which ``sleuth mcp`` serves.
3. Open the knowledge base (SOPs and past COEs, embedded offline), in the background from the start.
4. Investigate with the offline reasoner, exactly as ``sleuth investigate`` does.
5. Draft the COE (Markdown, HTML, JSON) and say where it is.
"""

from __future__ import annotations

import threading
import time

from rich.rule import Rule

from agent.commands.common import cli_console
from agent.commands.data import plural
from mcp_server.config import data_dir, default_store_path

console = cli_console()


def _open_knowledge() -> None:
    from agent.wiring import open_knowledge

    open_knowledge()  # a failure is said by the investigation, which opens it again


def main() -> None:
    from agent.commands.investigate import investigate
    from evals.scenarios.demo import ensure_demo
    from mcp_server.backends.local import LocalBackend

    root = data_dir()
    console.print(Rule("Sleuth demo: offline, on the embedded local store"))
    begun = started = time.perf_counter()
    # The first open of the knowledge base loads the embedding model and embeds the bundled SOPs
    # and COEs (the slowest step of a first demo): start it now, behind the simulation and import.
    warming = threading.Thread(target=_open_knowledge, name="knowledge-warm-up", daemon=True)
    warming.start()
    scenario = ensure_demo(root / "scenarios")
    console.print(
        f"1. Demo incident simulated: {scenario} ({time.perf_counter() - started:.1f}s)", markup=False
    )

    store = default_store_path()
    started = time.perf_counter()
    with LocalBackend(store) as backend:
        summary = backend.import_scenario(scenario, replace=True)
    console.print(f"2. Imported into {store} ({time.perf_counter() - started:.1f}s):", markup=False)
    console.print(
        f"   {summary.spans:,} spans, {summary.logs:,} logs, {summary.metric_points:,} metric points, "
        f"{plural(summary.changes, 'change')}, {plural(summary.slos, 'SLO')}, {plural(summary.alarms, 'alarm')}"
    )

    reports = root / "reports" / "demo"
    reports.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with console.status("3. Opening the knowledge base (the first run embeds the bundled SOPs and COEs)"):
        warming.join()
    console.print(f"3. Knowledge base open ({time.perf_counter() - started:.1f}s more)")
    console.print("4. Investigating with the offline reasoner…")
    console.print(Rule())
    investigate(
        data=None,
        store=store,
        json_out=reports / "investigation.json",
        reasoner="offline",
        question=None,
        service=None,
        resume=None,
        answer=None,
        review=False,
        knowledge=True,
        report_dir=reports,
        checkpoints=str(root / "checkpoints.sqlite"),
        backend_kind="local",
        aws_config=None,
        region=None,
        profile=None,
        start=None,
        end=None,
    )
    console.print(Rule())
    console.print(f"Done in {time.perf_counter() - begun:.0f}s. Everything is under {reports}", markup=False)
    console.print(
        "Next: `sleuth mcp` serves this store to your IDE; `sleuth eval --suite builtin` scores the suite."
    )


if __name__ == "__main__":
    main()
