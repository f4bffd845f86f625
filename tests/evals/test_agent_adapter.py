import json

from evals.agent_adapter import FullInvestigation, knowledge_store
from evals.harness import evaluate_scenario, sentence_embedder
from evals.recording import Exchange, RecordingConfig
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


def submit_reply(service: str, fault_type: str) -> str:
    hypothesis = {
        "service": service,
        "fault_type": fault_type,
        "confidence": 0.8,
        "summary": f"{fault_type} in {service}",
        "evidence_ids": ["traces-1"],
    }
    return json.dumps(
        {
            "id": "msg_recorded",
            "type": "message",
            "role": "assistant",
            "model": "claude-recorded",
            "content": [
                {
                    "type": "tool_use",
                    "id": "tu_1",
                    "name": "submit_hypotheses",
                    "input": {"hypotheses": [hypothesis]},
                }
            ],
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {"input_tokens": 100, "output_tokens": 20},
        }
    )


def test_a_recorded_claude_run_replays_through_the_full_investigation_without_credentials(
    tmp_path, monkeypatch
):
    for key in ("ANTHROPIC_API_KEY", "AWS_ACCESS_KEY_ID", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SLEUTH_EMBEDDER", "hashing")
    monkeypatch.setenv("SLEUTH_MODEL", "claude-recorded")  # the SDK warns about deprecated default models
    replay = RecordingConfig(mode="replay", directory=str(tmp_path / "recorded"), strict=False)
    cassette = replay.cassette("orders-errors")
    cassette.parent.mkdir(parents=True)
    exchange = Exchange(
        key="recorded-with-another-prompt",
        method="POST",
        path="/v1/messages",
        request_body=None,
        status=200,
        headers={"content-type": "application/json"},
        body=submit_reply("orders", "error_exception"),
    )
    cassette.write_text((exchange.to_json() + "\n") * 6, encoding="utf-8")
    knowledge_store.cache_clear()
    sentence_embedder.cache_clear()
    try:
        result = evaluate_scenario(
            write_scenario(tmp_path / "s"), [FullInvestigation(reasoner="anthropic", recording=replay)]
        )
    finally:
        knowledge_store.cache_clear()
        sentence_embedder.cache_clear()
    run = result.runs["sleuth"]
    assert run.ok, run.error
    assert run.score.rank == 1
    assert run.reasoner == "anthropic" and run.tokens.get("input", 0) >= 100
    assert "replay: call 1: request differs from the recording" in run.notes
