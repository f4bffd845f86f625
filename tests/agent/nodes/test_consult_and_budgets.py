from __future__ import annotations

import pytest

from agent.context import Budgets, BudgetUse
from agent.run import run_investigation
from knowledge.embeddings import HashingEmbedder
from knowledge.ingest import bundled_paths, ingest_paths
from knowledge.store import InMemoryKnowledgeStore
from mcp_server.scenario import ScenarioSpec
from tests.agent.conftest import DepsFactory


@pytest.fixture(scope="module")
def knowledge() -> InMemoryKnowledgeStore:
    store = InMemoryKnowledgeStore(HashingEmbedder())
    ingest_paths(store, bundled_paths())
    return store


def test_consult_finds_the_throttling_runbook_and_mitigations_cite_it(
    make_deps: DepsFactory, spec: ScenarioSpec, knowledge: InMemoryKnowledgeStore
) -> None:
    result = run_investigation(spec.trigger, make_deps(knowledge=knowledge))

    sops = [k for k in result.knowledge if k.doc_type == "sop"]
    assert any("throttl" in k.title.lower() for k in sops)
    assert any(ev.id.startswith("knowledge-") for ev in result.evidence)
    cited = {m.sop for m in result.mitigations}
    assert cited == {next(k.doc_id for k in sops if "throttl" in k.title.lower())}


def test_without_a_knowledge_store_the_investigation_says_so_and_still_ranks(
    make_deps: DepsFactory, spec: ScenarioSpec
) -> None:
    result = run_investigation(spec.trigger, make_deps(knowledge=None))

    assert result.hypotheses[0].service == "payments"
    assert any("knowledge store not configured" in n for n in result.notes)


def test_each_budget_names_itself_when_it_runs_out() -> None:
    budgets = Budgets(max_tool_calls=5, max_tokens=100, wall_seconds=10)

    assert BudgetUse(tool_calls=2, tokens=50, seconds=1).exhausted(budgets) is None
    assert "tool-call budget" in (BudgetUse(tool_calls=5).exhausted(budgets) or "")
    assert "token budget" in (BudgetUse(tokens=100).exhausted(budgets) or "")
    assert "wall-time budget" in (BudgetUse(seconds=11).exhausted(budgets) or "")


def test_a_spent_budget_stops_the_verification_loop_and_is_noted(
    make_deps: DepsFactory, spec: ScenarioSpec
) -> None:
    result = run_investigation(spec.trigger, make_deps(budgets=Budgets(max_tool_calls=1)))

    assert result.hypotheses[0].service == "payments"
    assert any("verification stopped: tool-call budget reached" in n for n in result.notes)
