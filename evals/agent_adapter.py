"""The methods that run Sleuth's own investigation graph for the eval harness.

- ``engine`` (c): the analysis engine alone: offline ranking, no knowledge base, no verification.
- ``sleuth`` (d): the full investigation (agent graph, knowledge, reasoner, report).

Both get their dependencies from the composition root (``agent/wiring.py``), exactly as the CLI
does. Each run gets an in-memory checkpointer (evals must not fill the user's checkpoint database)
and no report directory: the harness drafts the report in memory to score it.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Any

from evals.outcome import Outcome
from evals.recording import RecordingConfig, ReplayTransport, http_client_for, transport_for
from evals.report_correctness import ReportFacts
from evals.report_facts import report_facts
from mcp_server.analysis.models import InvestigationResult
from mcp_server.backends.base import TelemetryBackend
from mcp_server.scenario import ScenarioSpec


@functools.cache
def knowledge_store(auto_ingest: bool = False) -> Any:
    """One knowledge store per process; None when it cannot be opened (the run says so in its notes)."""
    from agent.wiring import open_knowledge

    return open_knowledge(auto_ingest=auto_ingest)


def prepare_knowledge() -> bool:
    """Open (and if needed ingest) the knowledge base once, before worker processes read it."""
    return knowledge_store(auto_ingest=True) is not None


def _draft(result: InvestigationResult, backend: TelemetryBackend) -> tuple[list[str], float, ReportFacts]:
    from agent.report.completeness import report_completeness
    from agent.report.draft import draft_report

    report = draft_report(result, backend)
    nodes = [f"{node.question} {node.answer}" for node in report.five_whys.walk()]
    return nodes, report_completeness(report), report_facts(report)


@dataclass(frozen=True)
class EngineOnly:
    """Method (c): the analysis engine, offline, without the knowledge base or verification."""

    name: str = "engine"

    def run(self, backend: TelemetryBackend, spec: ScenarioSpec) -> Outcome:
        from agent.wiring import investigate_engine_only

        return Outcome.of(investigate_engine_only(backend, spec))


@dataclass(frozen=True)
class FullInvestigation:
    """Method (d): the whole investigation (agent graph with knowledge, mitigation and report)."""

    name: str = "sleuth"
    reasoner: str = "offline"
    recording: RecordingConfig = field(default_factory=RecordingConfig)

    def run(self, backend: TelemetryBackend, spec: ScenarioSpec) -> Outcome:
        return run_full_investigation(backend, spec, reasoner=self.reasoner, recording=self.recording)

    def prepare(self) -> None:
        """Open the knowledge base once in the parent, so worker processes only read it."""
        prepare_knowledge()


def run_full_investigation(
    backend: TelemetryBackend, spec: ScenarioSpec, *, reasoner: str, recording: RecordingConfig
) -> Outcome:
    from agent.wiring import investigation_deps, run_in_memory

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
    deps = investigation_deps(
        backend,
        reasoner=reasoner,
        env=env,
        reasoner_options=claude_options,
        knowledge=knowledge_store(),
        spec=spec,
    )
    try:
        # A fixed id: it may appear in prompts, and a recorded run must ask the same questions again.
        result = run_in_memory(deps, spec.trigger.model_copy(), investigation_id=f"eval-{spec.name}")
    finally:
        if client is not None:
            client.close()
    notes: list[str] = []
    if isinstance(transport, ReplayTransport):
        notes += [f"replay: {mismatch}" for mismatch in transport.mismatches]
    facts: ReportFacts | None = None
    try:
        nodes, completeness, facts = _draft(result, backend)
    except Exception as exc:  # a drafter bug costs the report its score, not the investigation its ranks
        notes.append(f"report drafting failed: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        nodes, completeness = [], 0.0
    return Outcome.of(
        result, five_whys_nodes=nodes, report_completeness=completeness, report_facts=facts, notes=notes
    )
