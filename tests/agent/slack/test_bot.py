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
from agent.service.testing.fake_slack import FakeSlackApi
from agent.service.testing.wait import eventually
from agent.service.worker import Worker
from agent.slack.bot import SlackAccess, SleuthSlackBot, parse_request
from agent.slack.notifier import SlackNotifier
from agent.slack.routes import slack_routes
from agent.slack.threads import SlackThreads
from mcp_server.errors import SleuthError

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"

SUMMARY: dict[str, Any] = {
    "headline": "DynamoDB throttling on visits",
    "hypotheses": [
        {
            "rank": 1,
            "service": "visits",
            "fault_type": "dependency_throttling",
            "confidence": 0.86,
            "summary": "Throttled",
            "evidence": ["412 ProvisionedThroughputExceededException"],
        }
    ],
    "mitigations": ["Roll back: no deployment on visits in the window", "Raise table capacity"],
}


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
        self.reviews: list[tuple[str, str, bool, str]] = []
        self.notifier = SlackNotifier(
            self.client, self.threads, "C-oncall", report_link=lambda job: f"https://s/r/{job}"
        )
        self.bot = SleuthSlackBot(
            client=self.client,
            signing_secret=SIGNING_SECRET,
            queue=self.queue,
            access=SlackAccess.of(["C42"]),
            notifier=self.notifier,
            review=self.review,
            draft_coe=lambda job: (
                f"https://sleuth.example.com/investigations/{job}/report?expires=1&signature=x"
            ),
            known_services=lambda: ["visits", "billing"],
        )
        self.http = TestClient(Starlette(routes=slack_routes(self.bot)))

    def review(self, job: str, hypothesis: str, accepted: bool, user: str) -> dict[str, Any]:
        if self.queue.get(job) is None:
            raise SleuthError(f"no investigation {job}")
        self.reviews.append((job, hypothesis, accepted, user))
        return {**SUMMARY, "verdicts": {hypothesis: {"accepted": accepted, "user": user}}}

    def command(self, text: str, trigger: str = "t1", channel: str = "C42") -> Any:
        body = urlencode(
            {
                "command": "/sleuth",
                "text": text,
                "channel_id": channel,
                "user_id": "U7",
                "trigger_id": trigger,
                "team_id": "T1",
                "response_url": self.api.base_url + "respond",
            }
        )
        return self.http.post("/slack/events", content=body, headers=_signed(body))

    def action(self, action_id: str, value: str, channel: str = "C42") -> Any:
        payload = {
            "type": "block_actions",
            "user": {"id": "U9"},
            "team": {"id": "T1"},
            "channel": {"id": channel},
            "response_url": self.api.base_url + "respond",
            "actions": [{"action_id": action_id, "value": value, "type": "button", "block_id": "b"}],
        }
        body = urlencode({"payload": json.dumps(payload)})
        return self.http.post("/slack/events", content=body, headers=_signed(body))

    def finish(self, summary: dict[str, Any] = SUMMARY, progress: tuple[str, ...] = ()) -> str:
        def investigate(job_id: str, event: AlarmEvent, report: Any) -> dict[str, Any]:
            for line in progress:
                report(line)
            return summary

        Worker(self.queue, investigate, [self.notifier]).drain()
        return self.queue.jobs()[-1].id


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    with FakeSlackApi() as api:
        yield Setup(tmp_path, api)


def test_the_slash_command_queues_an_investigation_of_the_service_over_the_window(setup: Setup) -> None:
    response = setup.command("investigate visits 30m")

    assert response.status_code == 200 and "Investigating `visits` over the last 30m" in response.text
    [job] = setup.queue.jobs()
    assert job.service == "visits" and job.event.labels["window"] == "30m"
    assert job.event.origin == {"channel": "C42", "user": "U7"}


def test_the_thread_opens_in_the_requesting_channel_when_the_investigation_starts(setup: Setup) -> None:
    setup.command("investigate visits")
    job_id = setup.finish()

    root = setup.api.posted()[0]
    assert root["channel"] == "C42" and job_id in root["text"]
    assert setup.threads.find(job_id) == ("C42", root["_ts"])


def test_a_retried_slash_command_does_not_start_a_second_investigation(setup: Setup) -> None:
    setup.command("investigate visits", trigger="same")
    again = setup.command("investigate visits", trigger="same")

    assert len(setup.queue.jobs()) == 1 and "Already investigating" in again.text


def test_a_request_from_a_channel_outside_the_allow_list_is_refused(setup: Setup) -> None:
    response = setup.command("investigate visits", channel="C-random")

    assert "not enabled in this channel" in response.text and setup.queue.jobs() == []


def test_a_request_with_a_bad_signature_is_refused(setup: Setup) -> None:
    body = urlencode(
        {"command": "/sleuth", "text": "investigate visits", "channel_id": "C42", "user_id": "U7"}
    )

    response = setup.http.post("/slack/events", content=body, headers=_signed(body, secret="wrong"))

    assert response.status_code == 401 and setup.queue.jobs() == []


def test_a_body_that_is_not_utf8_is_a_bad_request(setup: Setup) -> None:
    response = setup.http.post("/slack/events", content=b"text=\xff\xfe", headers=_signed("x"))

    assert response.status_code == 400 and "UTF-8" in response.json()["error"]


def test_progress_is_one_message_edited_in_place_then_the_summary_follows(setup: Setup) -> None:
    setup.notifier.min_edit_interval = 0.0
    setup.command("investigate visits")

    setup.finish(progress=("scoped: visits, onset 10:02", "gathered 3 sources", "ranked 2 hypotheses"))

    root, progress, summary = setup.api.posted()
    updates = setup.api.of("chat.update")
    assert progress["thread_ts"] == root["_ts"] and summary["thread_ts"] == root["_ts"]
    assert [u["ts"] for u in updates] == [progress["_ts"]] * 3
    assert "ranked 2 hypotheses" in updates[-1]["text"] and "scoped: visits" in updates[-1]["text"]
    blocks = json.dumps(summary["blocks"])
    assert "dependency_throttling" in blocks and "Roll back" in blocks and "https://s/r/" not in blocks


def test_accepting_a_hypothesis_edits_the_summary_to_show_the_verdict(setup: Setup) -> None:
    setup.command("investigate visits")
    job_id = setup.finish()
    summary_ts = setup.api.posted()[-1]["_ts"]

    assert setup.action("sleuth_accept", f"{job_id}|visits/dependency_throttling").status_code == 200

    update = setup.api.wait_for(lambda api: api.of("chat.update"), what="the summary edit")[-1]
    assert setup.reviews == [(job_id, "visits/dependency_throttling", True, "U9")]
    assert update["ts"] == summary_ts and "accepted by &lt;@U9&gt;" not in json.dumps(update["blocks"])
    assert "accepted by <@U9>" in json.dumps(update["blocks"]) and "sleuth_accept" not in json.dumps(
        update["blocks"]
    )


def test_draft_coe_posts_a_link_through_the_service_in_the_thread(setup: Setup) -> None:
    setup.command("investigate visits")
    job_id = setup.finish()

    setup.action("sleuth_draft_coe", job_id)

    posted = setup.api.wait_for(
        lambda api: [p for p in api.posted() if "COE draft" in p["text"]], what="the COE link"
    )
    assert f"https://sleuth.example.com/investigations/{job_id}/report?" in posted[0]["text"]


def test_feedback_is_stored_only_for_an_investigation_that_exists(setup: Setup) -> None:
    setup.command("investigate visits")
    job_id = setup.finish()

    setup.action("sleuth_feedback_up", job_id)
    setup.action("sleuth_feedback_down", "no-such-job")

    reply = setup.api.wait_for(lambda api: api.of("respond"), what="the refusal")[0]
    eventually(lambda: setup.queue.satisfaction() == (1, 1), what="the vote stored")
    assert "does not exist" in reply["text"] and setup.queue.satisfaction() == (1, 1)


def test_an_alarm_triggered_investigation_gets_its_own_thread_in_the_oncall_channel(setup: Setup) -> None:
    setup.queue.enqueue(
        AlarmEvent(
            source=AlarmSource.SNS,
            message_id="m1",
            alarm_name="visits-5xx",
            status=AlarmStatus.FIRING,
            time=datetime(2026, 1, 1, tzinfo=UTC),
            reason="<!channel> pattern <*> & more",
        )
    )

    job_id = setup.finish({"headline": "done"})

    root, summary = setup.api.posted()
    assert root["channel"] == "C-oncall" and "visits-5xx" in root["text"]
    assert (
        "&lt;!channel&gt; pattern &lt;*&gt; &amp; more" in root["text"] and "<!channel>" not in root["text"]
    )
    assert summary["thread_ts"] == setup.threads.find(job_id)[1]  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("investigate visits", ("visits", None)), ("<@U123> investigate billing 2h", ("billing", "2h"))],
)
def test_requests_are_parsed_from_commands_and_mentions(text: str, expected: tuple[str, str | None]) -> None:
    assert parse_request(text) == expected


@pytest.mark.parametrize("text", ["investigate", "investigate visits soon"])
def test_a_request_without_a_target_or_with_a_bad_window_explains_the_usage(text: str) -> None:
    with pytest.raises(ValueError, match="Usage"):
        parse_request(text)


def test_without_an_allow_list_nobody_may_use_the_bot() -> None:
    assert SlackAccess().refusal("C42", "U7") is not None
    assert SlackAccess.of(["C42"]).refusal("C42", "U7") is None
    assert SlackAccess.of(["C42"], ["U1"]).refusal("C42", "U7") is not None
