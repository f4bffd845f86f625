"""The composition root: every entry point gets its parts here, and only here.

    telemetry = open_telemetry(data=Path("scenario"))               # or store=..., or kind="aws"
    knowledge = open_knowledge(on_error=warn)                        # None when off or unavailable
    deps = investigation_deps(telemetry.backend, spec=telemetry.spec, knowledge=knowledge)
    result = run_investigation(trigger, deps)                        # agent/run.py

The CLI (investigate, report, serve, mcp), the alarm service and Slack, the eval harness and the
benchmarks open telemetry, the knowledge base, the investigator, the report drafter and Claude's
tool session through these functions; nothing else builds a backend or picks a reasoner. Heavy
parts (LangGraph, the Anthropic SDK, the COE drafter) are imported when first asked for, so a
command that needs none of them starts quickly.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp.types import Resource

from mcp_server.backends.base import TelemetryBackend
from mcp_server.backends.factory import open_backend
from mcp_server.config import default_store_path
from mcp_server.errors import SleuthError
from mcp_server.scenario import SCENARIO_FILE, ScenarioSpec, Trigger, load_scenario_spec
from mcp_server.telemetry import TimeWindow

if TYPE_CHECKING:
    from mcp.server import MCPServer

    from agent.context import InvestigationDeps, ReportDrafter
    from agent.reasoners.base import ReasoningContext
    from knowledge.base import KnowledgeStore
    from mcp_server.analysis.models import InvestigationResult
    from mcp_server.deps import ServerDeps

Warn = Callable[[str], None]


# ------------------------------------------------------------------------------------ telemetry


@dataclass
class Telemetry:
    """An open backend, the incident it holds (when recorded) and a phrase saying what it is."""

    backend: TelemetryBackend
    spec: ScenarioSpec | None
    description: str
    store_path: Path | None = None  # the local store file, when one is served

    def close(self) -> None:
        close = getattr(self.backend, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> Telemetry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_telemetry(
    kind: str = "local",
    *,
    data: Path | None = None,
    store: Path | None = None,
    aws: Mapping[str, Any] | None = None,
    missing_ok: bool = False,
) -> Telemetry:
    """A scenario directory (imported in memory, or into ``store``), a local store opened
    read-only (default ``$SLEUTH_DATA_DIR/store.duckdb``), or AWS (``aws``: config_path, region,
    profile). With ``missing_ok`` a store that does not exist yet is served empty (a server that
    starts and explains beats one that exits before its client can say why)."""
    if kind != "local":
        if data is not None or store is not None:
            raise SleuthError("--data and --store serve the local backend; leave them out with --backend aws")
        options = {k: v for k, v in (aws or {}).items() if v is not None}
        backend = open_backend(kind, **options)
        return Telemetry(backend, None, f"{kind} backend ({options.get('region') or 'default region'})")
    if data is not None:
        # a directory of telemetry without scenario.yaml is still investigated, over all of its data
        described = (data / SCENARIO_FILE).exists() or not data.is_dir()
        spec = load_scenario_spec(data) if described else None
        backend = open_backend("local", scenario=data, path=store)
        return Telemetry(backend, spec, f"scenario directory {data}")
    path = (store or default_store_path()).absolute()
    if missing_ok and not path.exists():
        return Telemetry(
            open_backend("local", memory=True), None, f"local store {path} (not created yet)", path
        )
    backend = open_backend("local", path=path, read_only=True)
    spec_of = getattr(backend, "scenario_spec", None)
    return Telemetry(backend, spec_of() if callable(spec_of) else None, f"local store {path}", path)


# ------------------------------------------------------------------------------------ knowledge


def open_knowledge(
    enabled: bool = True,
    *,
    on_error: Warn | None = None,
    auto_ingest: bool = True,
    data_dir: Path | None = None,
) -> KnowledgeStore | None:
    """The persistent knowledge store (the first open embeds the bundled SOPs and COEs), or None
    when it is switched off or cannot open; ``on_error`` hears why. ``data_dir`` defaults to
    ``$SLEUTH_DATA_DIR/knowledge``."""
    if not enabled:
        return None
    try:
        from knowledge.persistent import open_store

        return open_store(data_dir, auto_ingest=auto_ingest)
    except Exception as exc:  # the knowledge base is optional: investigate without it, and say so
        if on_error is not None:
            on_error(f"{type(exc).__name__}: {exc}")
        return None


class BackgroundKnowledge:
    """The knowledge store, opened in a background thread so a server answers at once.

    The first start embeds the bundled runbooks and reviews, which can take a minute; an IDE
    gives up on an MCP server that does not answer its handshake within seconds. Until the store
    is open, searches say so; ``loaded()`` gives the investigator the store only once ready.
    """

    def __init__(
        self, opener: Callable[[], Any], wait_seconds: float = 5.0, on_error: Warn | None = None
    ) -> None:
        self.wait_seconds = wait_seconds
        self._opener = opener
        self._on_error = on_error
        self._done = threading.Event()
        self._store: Any = None
        self._error: Exception | None = None

    def start(self, work: Any = None) -> BackgroundKnowledge:
        """Begin opening (call once the server itself is built, so the two do not compete). With
        ``work`` (the server's ``BackgroundWork``) the thread is one the server waits for before it
        closes the telemetry store."""

        def open_it() -> None:
            try:
                self._store = self._opener()
            except Exception as exc:  # outermost handler of the thread: reported by every later call
                self._error = exc
                if self._on_error is not None:
                    self._on_error(f"{type(exc).__name__}: {exc}")
            finally:
                self._done.set()

        if work is not None:
            work.start("knowledge-open", open_it)
        else:
            threading.Thread(target=open_it, name="knowledge-open", daemon=True).start()
        return self

    def loaded(self) -> Any:
        return self._store if self._done.is_set() else None

    def _ready(self) -> Any:
        if not self._done.wait(self.wait_seconds):
            raise SleuthError(
                "the knowledge base is still loading (its first start embeds the bundled runbooks); "
                "try again in a minute"
            )
        if self._error is not None:
            raise SleuthError(
                f"the knowledge base could not open: {type(self._error).__name__}: {self._error}"
            )
        return self._store

    def search(self, query: str, **options: Any) -> Any:
        return self._ready().search(query, **options)

    def get_document(self, doc_id: str) -> Any:
        return self._ready().get_document(doc_id)

    def resources(self) -> list[Resource]:
        """Every runbook and past incident review as a listed resource: the store's documents
        once it is open (your own COEs too), the bundled ones until then."""
        store = self.loaded()
        if store is not None:
            documents = [d for d in (store.get_document(i) for i in store.document_ids()) if d is not None]
        else:
            documents = _bundled_documents()
        return [
            Resource(
                uri=f"sleuth://{doc.type}/{doc.id}",
                name=doc.id,
                title=doc.title,
                description=("Runbook (SOP): " if doc.type == "sop" else "Past incident review (COE): ")
                + doc.title,
                mime_type="text/markdown",
            )
            for doc in sorted(documents, key=lambda d: (str(d.type), d.id))
        ]


@functools.cache
def _bundled_documents() -> list[Any]:
    from knowledge.ingest import bundled_paths, discover, load_documents

    documents, _errors = load_documents(discover(bundled_paths()))
    return documents


def open_knowledge_in_background(
    enabled: bool = True, *, wait_seconds: float = 5.0, on_error: Warn | None = None
) -> BackgroundKnowledge | None:
    """The knowledge store opening in the background (call ``start()``), or None when switched off."""
    if not enabled:
        return None

    def opener() -> Any:
        from knowledge.persistent import open_store

        store = open_store()
        # one search waits for the embedding model the store loads on a thread of its own, so no
        # thread is left inside onnxruntime when this one ends (and the server may exit)
        store.search("warm up", k=1)
        return store

    return BackgroundKnowledge(opener, wait_seconds, on_error)


# ----------------------------------------------------------------------------- investigations


def sleuth_tools_server(backend: TelemetryBackend, knowledge: Any = None) -> MCPServer[ServerDeps]:
    """Sleuth's own MCP server over ``backend``, in process: the tools Claude's session calls."""
    from mcp_server.deps import ServerDeps
    from mcp_server.server import build_server

    return build_server(ServerDeps(backend=backend, knowledge=knowledge))


def _tools_for(context: ReasoningContext) -> Any:
    return sleuth_tools_server(context.backend, context.knowledge) if context.backend is not None else None


def coe_drafter() -> ReportDrafter:
    """The graph's report step: the COE drafted and written as Markdown, HTML, JSON and customer RCA."""
    from agent.report.draft import draft_and_write

    return draft_and_write


def investigation_deps(
    backend: TelemetryBackend,
    *,
    reasoner: str | None = None,
    env: Mapping[str, str] | None = None,
    reasoner_options: Mapping[str, Any] | None = None,
    knowledge: KnowledgeStore | None = None,
    spec: ScenarioSpec | None = None,
    report_dir: str | None = None,
    **fields: Any,
) -> InvestigationDeps:
    """Dependencies for one investigation: the engine's steps, the chosen reasoner (Claude with a
    tool session on Sleuth's own MCP server), and the COE drafter when ``report_dir`` is given.

    ``fields`` are the other :class:`InvestigationDeps` fields (human_review, checkpointer, budgets...).
    """
    from agent.analysis import default_analysis
    from agent.context import InvestigationDeps
    from agent.reasoners.select import choose_reasoner

    analysis = default_analysis()
    chosen = choose_reasoner(
        reasoner, analysis, env, builtin_tools=_tools_for, **dict(reasoner_options or {})
    )
    return InvestigationDeps(
        backend=backend,
        reasoner=chosen,
        analysis=analysis,
        knowledge=knowledge,
        spec=spec,
        drafter=coe_drafter() if report_dir else None,
        report_dir=report_dir,
        **fields,
    )


def engine_only_deps(
    backend: TelemetryBackend, spec: ScenarioSpec | None = None, **fields: Any
) -> InvestigationDeps:
    """The analysis engine alone: offline ranking, no knowledge base, no verification, no report."""
    from agent.context import Budgets

    return investigation_deps(
        backend, reasoner="offline", spec=spec, budgets=Budgets(max_verify_rounds=0), **fields
    )


def run_in_memory(
    deps: InvestigationDeps,
    trigger: Trigger | None = None,
    *,
    window: TimeWindow | None = None,
    investigation_id: str | None = None,
) -> InvestigationResult:
    """Run one investigation to its end with a throwaway checkpointer (evals, benchmarks, MCP)."""
    from agent.checkpoints import close_checkpointer, sqlite_checkpointer
    from agent.run import run_investigation

    chosen = trigger or (deps.spec.trigger.model_copy() if deps.spec else Trigger())
    if deps.checkpointer is not None:
        return run_investigation(chosen, deps, window=window, investigation_id=investigation_id)
    saver = sqlite_checkpointer(":memory:")
    try:
        return run_investigation(
            chosen, replace(deps, checkpointer=saver), window=window, investigation_id=investigation_id
        )
    finally:
        close_checkpointer(saver)


def investigate_engine_only(
    backend: TelemetryBackend,
    spec: ScenarioSpec | None = None,
    *,
    trigger: Trigger | None = None,
    window: TimeWindow | None = None,
) -> InvestigationResult:
    """The engine's own ranking, run through the same graph as every investigation."""
    return run_in_memory(engine_only_deps(backend, spec), trigger, window=window)


# -------------------------------------------------------------------------- the MCP server's parts


def mcp_investigator(
    backend: TelemetryBackend, spec: ScenarioSpec | None, knowledge: Callable[[], Any] = lambda: None
) -> Callable[[Trigger | None, TimeWindow | None], InvestigationResult]:
    """The MCP ``investigate`` tool's investigator: the graph with the offline reasoner, in memory.

    ``knowledge()`` gives the knowledge store when it is ready (None until then or without one).
    The graph is imported on the first investigation, not at start-up: an IDE waits for the
    server's handshake, and LangGraph takes seconds to import on a busy machine.
    """

    @functools.cache
    def serializer() -> Any:
        from agent.checkpoints import serializer

        return serializer()

    def investigate(trigger: Trigger | None, window: TimeWindow | None) -> InvestigationResult:
        from langgraph.checkpoint.memory import InMemorySaver

        deps = investigation_deps(
            backend,
            reasoner="offline",
            knowledge=knowledge(),
            spec=spec,
            checkpointer=InMemorySaver(serde=serializer()),
        )
        return run_in_memory(deps, trigger, window=window)

    return investigate


def mcp_report_drafter(backend: TelemetryBackend) -> Callable[[InvestigationResult], tuple[str, str]]:
    """The MCP ``draft_incident_report`` tool's drafter: (title, Markdown), imported on first use
    (it brings matplotlib for the charts)."""

    @functools.cache
    def parts() -> tuple[Any, ...]:
        from agent.report import draft_report
        from agent.report.past_coes import load_past_coes
        from agent.report.render_markdown import render_markdown

        past, _problems = load_past_coes()
        return draft_report, render_markdown, past

    def draft(result: InvestigationResult) -> tuple[str, str]:
        draft_report, render_markdown, past = parts()
        report = draft_report(result, backend, past_coes=past)
        return str(report.title), str(render_markdown(report))

    return draft
