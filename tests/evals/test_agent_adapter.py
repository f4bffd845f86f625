from evals.agent_adapter import knowledge_store
from evals.baselines import FullInvestigation
from evals.harness import evaluate_scenario, sentence_embedder
from tests.evals.scenario_fixtures import write_scenario


def test_full_investigation_is_scored_on_its_ranking_and_on_its_drafted_report(tmp_path, monkeypatch):
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SLEUTH_EMBEDDER", "hashing")  # the model is not what is under test
    knowledge_store.cache_clear()
    sentence_embedder.cache_clear()
    try:
        result = evaluate_scenario(write_scenario(tmp_path / "s"), [FullInvestigation()])
    finally:
        knowledge_store.cache_clear()
        sentence_embedder.cache_clear()
    run = result.runs["sleuth"]
    assert run.ok, run.error
    assert run.score.rank == 1
    assert run.score.report_completeness is not None and run.score.report_completeness > 0
    assert run.score.five_whys_coverage is not None
    assert run.tool_calls >= 0 and run.cpu_seconds > 0
