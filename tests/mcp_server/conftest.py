from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp.server import MCPServer

from agent.wiring import investigate_engine_only
from knowledge.base import KnowledgeStore
from knowledge.embeddings import HashingEmbedder
from knowledge.ingest import bundled_paths, ingest_paths
from knowledge.store import InMemoryKnowledgeStore
from mcp_server.analysis.models import InvestigationResult
from mcp_server.backends.local import LocalBackend
from mcp_server.deps import ServerDeps
from mcp_server.scenario import Trigger
from mcp_server.server import build_server
from mcp_server.telemetry import TimeWindow
from tests.mcp_server.scenario_fixture import write_checkout_incident


@pytest.fixture(scope="session")
def checkout_incident_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_checkout_incident(tmp_path_factory.mktemp("checkout-incident"))


@pytest.fixture(scope="session")
def checkout_backend(checkout_incident_dir: Path) -> Iterator[LocalBackend]:
    backend = LocalBackend.from_scenario(checkout_incident_dir)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def knowledge_store() -> KnowledgeStore:
    """The bundled SOPs and COEs, embedded with the fast hashing embedder."""
    store = InMemoryKnowledgeStore(HashingEmbedder())
    ingest_paths(store, bundled_paths())
    return store


@pytest.fixture(scope="session")
def checkout_server(checkout_backend: LocalBackend, knowledge_store: KnowledgeStore) -> MCPServer[ServerDeps]:
    spec = checkout_backend.scenario_spec()

    def investigator(trigger: Trigger | None, window: TimeWindow | None) -> InvestigationResult:
        return investigate_engine_only(checkout_backend, spec, trigger=trigger, window=window)

    def drafter(result: InvestigationResult) -> tuple[str, str]:
        top = result.hypotheses[0]
        return f"{top.service} incident", f"# {top.service} incident\n\n{top.summary}\n"

    return build_server(
        ServerDeps(
            backend=checkout_backend,
            knowledge=knowledge_store,
            investigator=investigator,
            report_drafter=drafter,
            description="checkout incident fixture",
        )
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
