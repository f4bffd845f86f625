from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk import WebClient
from starlette.applications import Starlette
from starlette.testclient import TestClient

from agent.service.payloads import AlarmEvent, AlarmSource, AlarmStatus
from agent.service.queue import InvestigationQueue
from agent.service.worker import Worker
from agent.slack.bot import SlackNotifier, SleuthSlackBot, parse_request
from agent.slack.routes import slack_routes
from agent.slack.threads import SlackThreads
from tests.agent.slack.fake_slack import FakeSlackApi

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def _signed(body: str, secret: str = SIGNING_SECRET) -> dict[str, str]:
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": f"v0={digest}",
        "content-type": "application/x-www-form-urlencoded",
    }


class Setup:
    def __init__(self, tmp_path: Path, api: FakeSlackApi) -> None:
        self.api = api
        self.queue = InvestigationQueue(tmp_path / "q.sqlite", rng=random.Random(0))
        self.threads = SlackThreads(tmp_path / "q.sqlite")
        self.client = WebClient(token="xoxb-test", base_url=api.base_url)
        self.reviews: list[tuple[str, int, bool, str]] = []
        self.bot = SleuthSlackBot(
            client=self.client,
            signing_secret=SIGNING_SECRET,
            queue=self.queue,
            threads=self.threads,
            review=lambda job, rank, ok, user: self.reviews.append((job, rank, ok, user)) or "Resumed.",
            draft_coe=lambda job: f"file:///tmp/coe-{job}.html",
            known_services=lambda: ["visits", "billing"],
        )
        self.http = TestClient(Starlette(routes=slack_routes(self.bot)))

    def command(self, text: str, trigger: str = "t1") -> Any:
        body = urlencode(
            {
                "command": "/sleuth",
                "text": text,
                "channel_id": "C42",
                "user_id": "U7",
                "trigger_id": trigger,
                "team_id": "T1",
                "response_url": self.api.base_url + "respond",
            }
        )
        return self.http.post("/slack/events", content=body, headers=_signed(body))

    def action(self, action_id: str, value: str) -> Any:
        payload = {
            "type": "block_actions",
            "user": {"id": "U9"},
            "team": {"id": "T1"},
            "channel": {"id": "C42"},
            "response_url": self.api.base_url + "respond",
            "actions": [{"action_id": action_id, "value": value, "type": "button", "block_id": "b"}],
        }
        body = urlencode({"payload": json.dumps(payload)})
        return self.http.post("/slack/events", content=body, headers=_signed(body))


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    with FakeSlackApi() as api:
        yield Setup(tmp_path, api)


def test_the_slash_command_queues_an_investigation_and_opens_a_thread(setup: Setup) -> None:
    response = setup.command("investigate visits 30m")

    assert response.status_code == 200 and "Investigating `visits`" in response.text
    [job] = setup.queue.jobs()
    assert job.service == "visits" and job.event.labels["window"] == "30m"
    [root] = setup.api.posted()
    assert root["channel"] == "C42" and job.id in root["text"]
    assert setup.threads.find(job.id) is not None


def test_a_retried_slash_command_does_not_start_a_second_investigation(setup: Setup) -> None:
    setup.command("investigate visits", trigger="same")
    setup.command("investigate visits", trigger="same")

    assert len(setup.queue.jobs()) == 1


def test_a_request_with_a_bad_signature_is_refused(setup: Setup) -> None:
    body = urlencode(
        {"command": "/sleuth", "text": "investigate visits", "channel_id": "C42", "user_id": "U7"}
    )

    response = setup.http.post("/slack/events", content=body, headers=_signed(body, secret="wrong"))

    assert response.status_code == 401 and setup.queue.jobs() == []


def test_progress_and_the_summary_are_posted_in_the_investigation_thread(setup: Setup) -> None:
    setup.command("investigate visits")
    notifier = SlackNotifier(setup.client, setup.threads, default_channel="C-oncall")

    def investigate(job_id: str, event: AlarmEvent, progress: Any) -> dict[str, Any]:
        progress("scoped: visits, onset 10:02")
        return {
            "headline": "DynamoDB throttling on visits",
            "hypotheses": [
                {
                    "rank": 1,
                    "service": "visits",
                    "fault_type": "dependency_throttling",
                    "confidence": 0.86,
                    "summary": "Throttled",
                    "evidence": [
                        {
                            "id": "traces-1",
                            "kind": "error_origin",
                            "description": "412 ProvisionedThroughputExceededException",
                        }
                    ],
                }
            ],
            "mitigations": ["Roll back: no deployment on visits in the window", "Raise table capacity"],
        }

    Worker(setup.queue, investigate, [notifier]).drain()

    root, progress_msg, summary = setup.api.posted()
    assert (
        progress_msg["thread_ts"] == root["thread_ts"] if "thread_ts" in root else progress_msg["thread_ts"]
    )
    assert "scoped: visits" in progress_msg["text"]
    assert summary["thread_ts"] == progress_msg["thread_ts"]
    blocks = json.loads(summary["blocks"]) if isinstance(summary["blocks"], str) else summary["blocks"]
    assert "dependency_throttling" in json.dumps(blocks) and "Roll back" in json.dumps(blocks)


def test_an_alarm_triggered_investigation_gets_its_own_thread_in_the_oncall_channel(setup: Setup) -> None:
    event = AlarmEvent(
        source=AlarmSource.SNS,
        message_id="m1",
        alarm_name="visits-5xx",
        status=AlarmStatus.FIRING,
        time=datetime(2026, 1, 1, tzinfo=UTC),
    )
    setup.queue.enqueue(event)
    notifier = SlackNotifier(setup.client, setup.threads, default_channel="C-oncall")

    Worker(setup.queue, lambda job_id, ev, progress: {"headline": "done"}, [notifier]).drain()

    root, summary = setup.api.posted()
    assert root["channel"] == "C-oncall" and "visits-5xx" in root["text"]
    assert summary["thread_ts"] == setup.threads.find(setup.queue.jobs()[0].id)[1]  # type: ignore[index]


def test_accept_reject_draft_and_feedback_buttons_reach_their_handlers(setup: Setup) -> None:
    setup.command("investigate visits")
    [job] = setup.queue.jobs()

    assert setup.action("sleuth_accept", f"{job.id}:1").status_code == 200
    assert setup.action("sleuth_reject", f"{job.id}:2").status_code == 200
    setup.action("sleuth_draft_coe", job.id)
    setup.action("sleuth_feedback_up", job.id)

    assert setup.reviews == [(job.id, 1, True, "U9"), (job.id, 2, False, "U9")]
    texts = [m["text"] for m in setup.api.posted()]
    assert any("accepted hypothesis #1" in t for t in texts) and any(f"coe-{job.id}.html" in t for t in texts)
    assert setup.queue.satisfaction() == (1, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("investigate visits", ("visits", None)), ("<@U123> investigate billing 2h", ("billing", "2h"))],
)
def test_requests_are_parsed_from_commands_and_mentions(text: str, expected: tuple[str, str | None]) -> None:
    assert parse_request(text) == expected


def test_a_request_without_a_target_explains_the_usage() -> None:
    with pytest.raises(ValueError, match="Usage"):
        parse_request("investigate")
