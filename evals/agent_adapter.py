"""Runs the full investigation (the agent graph, knowledge, reasoner, report) for the eval harness.

Kept apart from :mod:`evals.baselines` so the baselines load without the agent's dependencies.
Each run gets an in-memory checkpointer (evals must not fill the user's checkpoint database) and
no report directory: the harness drafts the report in memory to score it.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from evals.baselines import Outcome
from evals.recording import RecordingConfig, ReplayTransport, http_client_for, transport_for
from mcp_server.backends.base import TelemetryBackend
from mcp_server.scenario import ScenarioSpec


@functools.cache
def knowledge_store(auto_ingest: bool = False) -> Any:
    """One knowledge store per process; None when it cannot be opened (the run says so in its notes)."""
    try:
        from knowledge.persistent import open_store

        return open_store(auto_ingest=auto_ingest)
    except Exception:  # optional dependency: the investigation runs without knowledge, as the CLI does
        return None


def prepare_knowledge() -> bool:
    """Open (and if needed ingest) the knowledge base once, before worker processes read it."""
    return knowledge_store(auto_ingest=True) is not None


def _draft(result: Any, backend: TelemetryBackend) -> tuple[list[str] | None, float | None]:
    try:
        from agent.report.completeness import report_completeness
        from agent.report.draft import draft_report
    except ImportError:
        return None, None
    report = draft_report(result, backend)
    nodes = [f"{node.question} {node.answer}" for node in report.five_whys.walk()]
    return nodes, report_completeness(report)


def run_full_investigation(
    backend: TelemetryBackend, spec: ScenarioSpec, *, reasoner: str, recording: RecordingConfig
) -> Outcome:
    from agent.checkpoints import close_checkpointer, sqlite_checkpointer
    from agent.run import investigation_deps, run_investigation

    claude_options: dict[str, Any] = {}
    transport = transport_for(recording, spec.name)
    client = http_client_for(transport) if transport is not None else None
    if client is not None:
        claude_options["http_client"] = client
    env = dict(os.environ)
    if recording.mode == "replay":
        # Replayed answers need no credentials; the SDK only wants something to sign with.
        for key in ("ANTHROPIC_API_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            env.setdefault(key, "replay-without-credentials")
    checkpointer = sqlite_checkpointer(":memory:")
    deps = investigation_deps(
        backend,
        reasoner=reasoner,
        env=env,
        reasoner_options=claude_options,
        knowledge=knowledge_store(),
        spec=spec,
        draft_report=False,
        checkpointer=checkpointer,
    )
    try:
        # A fixed id: it may appear in prompts, and a recorded run must ask the same questions again.
        result = run_investigation(
            spec.trigger.model_copy(), deps, scenario=spec.name, investigation_id=f"eval-{spec.name}"
        )
    finally:
        close_checkpointer(checkpointer)
        if client is not None:
            client.close()
    notes: list[str] = []
    if isinstance(transport, ReplayTransport):
        notes += [f"replay: {mismatch}" for mismatch in transport.mismatches]
    try:
        nodes, completeness = _draft(result, backend)
    except Exception as exc:  # a drafter bug costs the report its score, not the investigation its ranks
        notes.append(f"report drafting failed: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        nodes, completeness = [], 0.0
    return Outcome(result=result, five_whys_nodes=nodes, report_completeness=completeness, notes=notes)
