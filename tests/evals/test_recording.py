import json

import anthropic
import httpx2
import pytest

from evals.recording import (
    RecordingConfig,
    RecordingTransport,
    ReplayMissError,
    ReplayTransport,
    read_cassette,
)


def fake_api(request: httpx2.Request) -> httpx2.Response:
    """Answers like the Messages API, echoing the prompt so each reply is tied to its request."""
    body = json.loads(request.content)
    prompt = body["messages"][-1]["content"]
    return httpx2.Response(
        200,
        json={
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": f"answer to {prompt}"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 11, "output_tokens": 7},
        },
    )


def ask(transport: httpx2.BaseTransport, prompt: str) -> str:
    client = anthropic.Anthropic(
        api_key="test-key", http_client=httpx2.Client(transport=transport), max_retries=0
    )
    reply = client.messages.create(
        model="claude-test-model", max_tokens=64, messages=[{"role": "user", "content": prompt}]
    )
    return reply.content[0].text


def record(tmp_path, *prompts: str):
    cassette = RecordingConfig(mode="record", directory=str(tmp_path)).cassette("visits/ddb throttle")
    transport = RecordingTransport(httpx2.MockTransport(fake_api), cassette)
    return cassette, [ask(transport, prompt) for prompt in prompts]


def test_recorded_exchanges_replay_through_the_sdk_without_the_api(tmp_path):
    cassette, answers = record(tmp_path, "why is visits failing?", "and billing?")
    assert cassette.name == "visits_ddb_throttle.jsonl"
    assert len(read_cassette(cassette)) == 2
    replay = ReplayTransport(cassette)
    assert [ask(replay, "why is visits failing?"), ask(replay, "and billing?")] == answers


def test_strict_replay_of_a_changed_prompt_is_a_miss_not_an_api_call(tmp_path):
    cassette, _ = record(tmp_path, "why is visits failing?")
    with pytest.raises(anthropic.APIConnectionError) as raised:
        ask(ReplayTransport(cassette), "a reworded prompt")
    assert isinstance(raised.value.__cause__, ReplayMissError)


def test_sequential_replay_serves_recorded_replies_in_order_and_notes_changed_requests(tmp_path):
    cassette, answers = record(tmp_path, "first", "second")
    replay = ReplayTransport(cassette, strict=False)
    assert [ask(replay, "first"), ask(replay, "second, reworded")] == answers
    assert replay.mismatches == ["call 2: request differs from the recording"]


def test_replay_without_a_recording_says_to_record_first(tmp_path):
    with pytest.raises(ReplayMissError, match="record them first"):
        ReplayTransport(tmp_path / "missing.jsonl")
