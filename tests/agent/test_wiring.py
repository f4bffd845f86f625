"""The composition root opens every part an entry point needs, the same way for all of them."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from mcp.server import MCPServer

from agent.reasoners.base import ReasoningContext
from agent.reasoners.claude import ClaudeReasoner
from agent.wiring import (
    BackgroundKnowledge,
    coe_drafter,
    investigate_engine_only,
    investigation_deps,
    open_telemetry,
)
from mcp_server.analysis.models import EvidenceKind
from mcp_server.backends.local import LocalBackend
from mcp_server.errors import SleuthError
from mcp_server.scenario import ScenarioSpec


def test_a_scenario_directory_is_imported_in_memory_with_its_incident(scenario_dir: Path) -> None:
    with open_telemetry(data=scenario_dir) as telemetry:
        assert isinstance(telemetry.backend, LocalBackend) and telemetry.backend.path is None
        assert telemetry.spec is not None and telemetry.spec.name == "payments-throttling"
        assert telemetry.backend.list_services() == ["checkout", "frontend", "payments"]
        assert telemetry.description == f"scenario directory {scenario_dir}"


def test_importing_a_scenario_into_a_store_that_holds_it_is_refused(
    scenario_dir: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store.duckdb"
    open_telemetry(data=scenario_dir, store=store).close()

    with pytest.raises(SleuthError, match=r"is already in .*importing it again would count every span twice"):
        open_telemetry(data=scenario_dir, store=store)
    with open_telemetry(store=store) as reopened:
        assert reopened.spec is not None and reopened.spec.name == "payments-throttling"


def test_a_missing_store_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SleuthError, match="no local store at"):
        open_telemetry(store=tmp_path / "missing.duckdb")


def test_the_coe_drafter_is_given_only_when_a_report_directory_is(
    backend: LocalBackend, tmp_path: Path
) -> None:
    drafting = investigation_deps(backend, reasoner="offline", report_dir=str(tmp_path))
    plain = investigation_deps(backend, reasoner="offline")

    assert drafting.drafter is coe_drafter() and drafting.report_dir == str(tmp_path)
    assert plain.drafter is None


def test_claudes_tool_session_reaches_sleuths_own_server_over_the_investigations_backend(
    backend: LocalBackend,
) -> None:
    deps = investigation_deps(backend, reasoner="anthropic", env={"ANTHROPIC_API_KEY": "test-key"})

    assert isinstance(deps.reasoner, ClaudeReasoner) and deps.reasoner.builtin_tools is not None
    server = deps.reasoner.builtin_tools(ReasoningContext(backend=backend))
    assert isinstance(server, MCPServer)
    assert deps.reasoner.builtin_tools(ReasoningContext()) is None


def test_the_engine_only_investigation_neither_verifies_nor_consults(
    backend: LocalBackend, spec: ScenarioSpec
) -> None:
    result = investigate_engine_only(backend, spec)

    assert result.hypotheses[0].service == "payments"
    assert all(h.verified is None for h in result.hypotheses)
    assert not [e for e in result.evidence if e.kind in (EvidenceKind.VERIFICATION, EvidenceKind.KNOWLEDGE)]
    assert result.reasoner == "offline" and "verify" not in result.timings


def test_knowledge_opening_in_the_background_says_it_is_loading_then_answers() -> None:
    release = threading.Event()
    opened: list[str] = []

    class Store:
        def search(self, query: str, **options: Any) -> list[str]:
            return [query]

        def get_document(self, doc_id: str) -> str:
            return doc_id

    def opener() -> Store:
        release.wait(30)
        opened.append("yes")
        return Store()

    knowledge = BackgroundKnowledge(opener, wait_seconds=0.05).start()
    with pytest.raises(SleuthError, match="the knowledge base is still loading"):
        knowledge.search("throttling")
    assert knowledge.loaded() is None

    release.set()
    knowledge.wait_seconds = 30
    assert knowledge.search("throttling") == ["throttling"]
    assert knowledge.get_document("sop-x") == "sop-x"
    assert knowledge.loaded() is not None


def test_a_knowledge_store_that_fails_to_open_is_reported_on_use() -> None:
    def opener() -> Any:
        raise OSError("disk full")

    knowledge = BackgroundKnowledge(opener, wait_seconds=30).start()

    with pytest.raises(SleuthError, match="the knowledge base could not open: OSError: disk full"):
        knowledge.search("anything")
