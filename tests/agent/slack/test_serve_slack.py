"""Slack, as ``sleuth serve`` wires it, against a fake Slack API on loopback (issue 17, finding 5).

The service runs one worker on a small local store (the payments-throttling scenario); alarms
inside its time range produce real hypotheses, so the summary, buttons, review and COE drafting
are the production ones.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.service.testing.fake_slack import (
    FakeSlackApi,
    button_click,
    sign_body,
    slack_request,
    slash_command,
)
from agent.service.testing.serve_process import ServeProcess
from agent.service.testing.wait import eventually
from mcp_server.backends.local import LocalBackend
from tests.agent.service.samples import eventbridge

SECRET = "slack-suite-secret"
SLACK_SECRET = "slack-signing-secret"
AUTH = {"authorization": f"Bearer {SECRET}"}
INCIDENT = datetime(2026, 3, 2, 10, 20, tzinfo=UTC)  # inside the scenario's data


class Service:
    def __init__(self, server: ServeProcess, slack: FakeSlackApi) -> None:
        self.server, self.slack = server, slack
        self.respond_url = slack.base_url + "respond"

    def slack_post(self, fields: dict[str, str]) -> httpx.Response:
        body, headers = slack_request(fields, SLACK_SECRET)
        return httpx.post(self.server.url("/slack/events"), content=body, headers=headers, timeout=30)

    def command(self, text: str, trigger: str, channel: str = "C42") -> httpx.Response:
        return self.slack_post(
            slash_command(text, user="U7", channel=channel, trigger=trigger, response_url=self.respond_url)
        )

    def click(self, action_id: str, value: str, channel: str = "C-ONCALL") -> httpx.Response:
        return self.slack_post(
            button_click(action_id, value, user="U9", channel=channel, response_url=self.respond_url)
        )

    def alarm(self, name: str, reason: str = "5xx above 1%") -> str:
        body = eventbridge(f"id-{name}", name, at=INCIDENT, service="frontend", reason=reason)
        response = httpx.post(self.server.url("/alarms/eventbridge"), content=body, headers=AUTH, timeout=30)
        assert response.status_code == 202, response.text
        return str(response.json()["accepted"][0]["investigation"])

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(httpx.get(self.server.url(f"/investigations/{job_id}"), headers=AUTH, timeout=30).json())

    def finished(self, job_id: str) -> dict[str, Any]:
        """The finished job, once its summary is in Slack too (the worker posts it after storing)."""
        job = eventually(
            lambda: (job := self.job(job_id))["status"] == "done" and job,
            timeout=60,
            what=f"investigation {job_id} finishing",
        )
        eventually(lambda: self._summaries(job_id), timeout=30, what=f"the summary of {job_id} in Slack")
        return dict(job)

    def thread(self, job_id: str) -> list[tuple[str, dict[str, Any]]]:
        """Every Slack call about this investigation's thread, in order."""
        with sqlite3.connect(self.server.queue) as con:
            channel, ts = con.execute(
                "SELECT channel, ts FROM slack_threads WHERE job_id = ?", (job_id,)
            ).fetchone()
        own: set[str] = {ts}
        out = []
        for method, body in list(self.slack.calls):
            if body.get("thread_ts") == ts or body.get("ts") in own or body.get("_ts") == ts:
                out.append((method, body))
                own.add(body["_ts"])
        assert all(body.get("channel") == channel for _, body in out)
        return out

    def _summaries(self, job_id: str) -> list[dict[str, Any]]:
        return [b for m, b in self.thread(job_id) if m == "chat.postMessage" and b.get("blocks")]

    def summary(self, job_id: str) -> dict[str, Any]:
        [summary] = self._summaries(job_id)
        return summary


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, scenario_dir: Path) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("slack-serve")
    LocalBackend.from_scenario(scenario_dir, workdir / "store.duckdb").close()
    with FakeSlackApi() as slack:
        env = {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SLACK_API_URL": slack.base_url,
            "SLACK_CHANNEL": "C-ONCALL",
        }
        args = ["--workers", "1", "--store", str(workdir / "store.duckdb"), "--secret", SECRET]
        args += ["--no-draft-report", "--reasoner", "offline"]
        args += ["--slack-allow-channel", "C42", "--slack-allow-channel", "C-ONCALL"]
        with ServeProcess(workdir / "serve", args, env=env) as server:
            yield Service(server, slack)


def test_a_slash_command_investigates_the_named_service_over_the_named_window(service: Service) -> None:
    asked = datetime.now(UTC)
    response = service.command("investigate payments 30m", trigger="window-1")
    with sqlite3.connect(service.server.queue) as con:
        [job_id] = con.execute("SELECT job_id FROM deliveries WHERE message_id = 'slack:window-1'").fetchone()

    service.finished(job_id)

    result = json.loads((service.server.queue.parent / "results" / job_id / "result.json").read_text())
    start, end = (datetime.fromisoformat(result["window"][k]) for k in ("start", "end"))
    assert result["trigger"]["service"] == "payments"
    assert (end - start).total_seconds() == 1800 and abs((end - asked).total_seconds()) < 60
    root = service.thread(job_id)[0][1]
    assert response.status_code == 200 and job_id in response.text
    assert root["channel"] == "C42" and "over the last 30m" in root["text"]


def test_progress_is_one_message_edited_in_place(service: Service) -> None:
    job_id = service.alarm("frontend-progress")
    service.finished(job_id)

    calls = service.thread(job_id)

    posts = [b for m, b in calls if m == "chat.postMessage"]
    progress = [b for b in posts if "Investigat" in b["text"] and not b.get("blocks") and b.get("thread_ts")]
    assert len(posts) == 3 and len(progress) == 1  # the thread root, the progress message, the summary
    edits = [b for m, b in calls if m == "chat.update" and b["ts"] == progress[0]["_ts"]]
    assert edits and "Investigation steps" in edits[-1]["text"]


def test_alarm_text_is_escaped_and_guesses_are_folded_without_buttons(service: Service) -> None:
    job_id = service.alarm("frontend-escaping", reason="<!channel> template <*> failed & retried")
    job = service.finished(job_id)

    root = service.thread(job_id)[0][1]
    blocks = json.dumps(service.summary(job_id)["blocks"])
    assert "&lt;!channel&gt; template &lt;*&gt; failed &amp; retried" in root["text"]
    assert "<!channel>" not in root["text"]
    confident = [
        h for h in job["result"]["hypotheses"] if h["confidence"] >= 0.2 and h["fault_type"] != "unknown"
    ]
    folded = len(job["result"]["hypotheses"]) - len(confident)
    assert folded > 0 and f"{folded} more below 20% confidence" in blocks
    assert blocks.count('"sleuth_accept"') == len(confident)


def test_accept_and_reject_edit_the_summary_in_place_and_rerank(service: Service) -> None:
    job_id = service.alarm("frontend-review")
    job = service.finished(job_id)
    top = job["result"]["hypotheses"][0]
    key = f"{top['service']}/{top['fault_type']}"
    summary_ts = service.summary(job_id)["_ts"]

    service.click("sleuth_accept", f"{job_id}|{key}")
    accepted = service.slack.wait_for(
        lambda api: [b for b in api.of("chat.update") if b["ts"] == summary_ts], what="the summary edit"
    )[-1]
    service.click("sleuth_reject", f"{job_id}|{key}")
    eventually(
        lambda: service.job(job_id)["result"]["verdicts"][key]["accepted"] is False, what="the rejection"
    )

    assert "accepted by <@U9>" in json.dumps(accepted["blocks"])
    reviewed = service.job(job_id)["result"]
    assert f"{reviewed['hypotheses'][0]['service']}/{reviewed['hypotheses'][0]['fault_type']}" != key
    assert not service.slack.of("respond")  # no "not enabled" replies


def test_draft_coe_links_to_the_report_through_the_service_with_its_own_credentials(service: Service) -> None:
    job_id = service.alarm("frontend-coe")
    service.finished(job_id)

    service.click("sleuth_draft_coe", job_id)

    posted = service.slack.wait_for(
        lambda api: [p for p in api.posted() if "COE draft" in p["text"] and job_id in p["text"]],
        timeout=90,
        what="the COE link",
    )[0]
    link = posted["text"].split("<", 1)[1].split("|", 1)[0]
    assert link.startswith(service.server.url(f"/investigations/{job_id}/report?"))
    opened = httpx.get(link, timeout=30)
    assert opened.status_code == 200 and opened.headers["content-type"].startswith("text/html")
    assert httpx.get(link.split("?")[0], timeout=30).status_code == 401
    assert httpx.get(link[:-4] + "0000", timeout=30).status_code == 401


def test_requests_from_outside_the_allow_list_start_nothing(service: Service) -> None:
    before = _deliveries(service)

    refused = service.command("investigate payments", trigger="outsider-1", channel="C-RANDOM")
    service.click("sleuth_feedback_up", "anything", channel="C-RANDOM")

    reply = service.slack.wait_for(lambda api: api.of("respond"), what="the refusal")[-1]
    assert "not enabled in this channel" in refused.text and "not enabled in this channel" in reply["text"]
    assert _deliveries(service) == before


def test_feedback_is_stored_only_for_an_investigation_that_exists(service: Service) -> None:
    service.click("sleuth_feedback_down", "nosuchjob1234")

    reply = service.slack.wait_for(
        lambda api: [r for r in api.of("respond") if "does not exist" in r["text"]], what="the refusal"
    )
    with sqlite3.connect(service.server.queue) as con:
        stored = con.execute("SELECT count(*) FROM feedback WHERE job_id = 'nosuchjob1234'").fetchone()[0]
    assert reply and stored == 0


def test_a_mention_in_a_thread_is_investigated_in_that_thread(service: Service) -> None:
    event = {
        "type": "event_callback",
        "team_id": "T1",
        "api_app_id": "A1",
        "event_id": "Ev1",
        "event_time": 1,
        "event": {
            "type": "app_mention",
            "text": "<@UBOT> investigate checkout 15m",
            "channel": "C42",
            "user": "U7",
            "ts": "1700000001.000200",
            "thread_ts": "1700000000.000100",
            "client_msg_id": "mention-1",
        },
    }
    body = json.dumps(event)
    headers = sign_body(body, SLACK_SECRET) | {"content-type": "application/json"}

    assert (
        httpx.post(service.server.url("/slack/events"), content=body, headers=headers, timeout=30).status_code
        == 200
    )
    root = service.slack.wait_for(
        lambda api: [p for p in api.posted() if p.get("thread_ts") == "1700000000.000100"], what="the reply"
    )[0]
    assert root["channel"] == "C42" and "checkout" in root["text"]


def _deliveries(service: Service) -> int:
    with sqlite3.connect(service.server.queue) as con:
        return int(con.execute("SELECT count(*) FROM deliveries").fetchone()[0])
