"""A burst against the real ``sleuth serve``, with a SIGKILL midway (issue 17, finding 4 and "Done when").

500 notifications (SNS, EventBridge, Alertmanager) for 10 alarms: re-fires within the window,
resolutions (some overtaking their alarm), and 20% exact redeliveries, from 8 senders that
retry whatever failed, as SNS and Alertmanager do. Midway, while a worker holds a leased job
(it is blocked on a Slack API that does not answer), the service is killed and restarted.
Afterwards every notification is accounted for, each alarm has exactly one investigation,
investigated to the end once, and the job that was running at the kill was taken over within
its (short, renewed) lease.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.service.sns_testing import SnsSigner, alarm_message
from agent.service.testing.fake_slack import FakeSlackApi
from agent.service.testing.serve_process import ServeProcess
from agent.service.testing.wait import eventually
from mcp_server.backends.local import LocalBackend
from tests.agent.service.samples import eventbridge

SECRET = "burst-secret"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:burst-alarms"
INCIDENT = datetime(2026, 3, 2, 10, 5, tzinfo=UTC)  # inside the scenario's data
LEASE = 3.0
ALARMS = 10
FIRES, RESOLUTIONS = 32, 8  # per alarm: 40 originals each, 400 in all
REDELIVERIES = 100  # 20% of the 500


@dataclass(frozen=True)
class Note:
    route: str
    body: bytes
    message_id: str


def _sns(signer: SnsSigner, name: str, n: int, state: str, at: datetime) -> Note:
    envelope = signer.envelope(
        alarm_message(name, state=state, dimensions={"Service": "frontend"}, when=at),
        topic_arn=TOPIC,
        message_id=f"{name}-{n}",
    )
    return Note("/alarms/sns", json.dumps(envelope).encode(), f"{name}-{n}")


def _alertmanager(name: str, n: int, firing: bool, at: datetime) -> Note:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    alert = {
        "status": "firing" if firing else "resolved",
        "labels": {"alertname": name, "service": "frontend"},
        "startsAt": stamp if firing else f"2026-03-02T09:{n:02d}:00Z",
        "endsAt": stamp,
        "fingerprint": name,
    }
    body = json.dumps({"version": "4", "status": alert["status"], "alerts": [alert]}).encode()
    return Note("/alarms/alertmanager", body, f"{name}:{alert['startsAt']}:{alert['status']}")


def burst(signer: SnsSigner, seed: int = 17) -> list[Note]:
    rng = random.Random(seed)
    notes: list[Note] = []
    for index in range(ALARMS):
        kind = ("sns", "eventbridge", "alertmanager")[index % 3]
        name = f"burst-{kind}-{index:02d}"
        for n in range(FIRES + RESOLUTIONS):
            firing = n < FIRES
            # re-fires within 24 minutes of each other (one investigation), resolutions after them
            at = INCIDENT + (timedelta(seconds=45 * n) if firing else timedelta(minutes=40 + n))
            if kind == "sns":
                notes.append(_sns(signer, name, n, "ALARM" if firing else "OK", at))
            elif kind == "eventbridge":
                body = eventbridge(
                    f"{name}-{n}", name, state="ALARM" if firing else "OK", at=at, service="frontend"
                )
                notes.append(Note("/alarms/eventbridge", body, f"{name}-{n}"))
            else:
                notes.append(_alertmanager(name, n, firing, at))
    notes += rng.sample(notes, REDELIVERIES)
    rng.shuffle(notes)
    return notes


@pytest.fixture
def store(tmp_path: Path, scenario_dir: Path) -> Iterator[Path]:
    path = tmp_path / "store.duckdb"
    LocalBackend.from_scenario(scenario_dir, path).close()
    yield path


def _rows(queue: Path, sql: str) -> list[sqlite3.Row]:
    with sqlite3.connect(queue) as con:
        con.row_factory = sqlite3.Row
        return con.execute(sql).fetchall()


def test_a_burst_with_redeliveries_and_a_sigkill_loses_nothing_doubles_nothing_and_strands_nothing(
    tmp_path: Path, store: Path
) -> None:
    signer = SnsSigner()
    (tmp_path / "test-cert.pem").write_bytes(signer.certificate_pem())
    notes = burst(signer)
    # The fake Slack API records any JSON POST: a second one stands in for the webhook receiver.
    with FakeSlackApi() as slack, FakeSlackApi() as webhook:
        env = {"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": slack.base_url}
        args = ["--workers", "2", "--lease-seconds", str(LEASE), "--store", str(store), "--secret", SECRET]
        args += ["--no-draft-report", "--reasoner", "offline", "--slack-channel", "C-ONCALL"]
        args += ["--sns-topic", TOPIC, "--sns-test-cert", str(tmp_path / "test-cert.pem")]
        args += ["--notify-webhook", webhook.base_url + "finished"]
        server = ServeProcess(tmp_path / "serve", args, env=env).start()
        try:
            killed_at, running, renewals = _send_with_a_crash(server, slack, notes)
            eventually(
                lambda: (
                    _rows(server.queue, "SELECT count(*) AS n FROM jobs WHERE status != 'done'")[0]["n"] == 0
                ),
                timeout=120,
                what="every investigation finishing",
            )
        finally:
            server.stop()

        jobs = _rows(server.queue, "SELECT * FROM jobs")
        deliveries = _rows(server.queue, "SELECT message_id, job_id, outcome FROM deliveries")
        held = _rows(server.queue, "SELECT * FROM held_resolutions")
        summaries = Counter(
            body["thread_ts"] for body in slack.posted() if body.get("blocks") and body.get("thread_ts")
        )
        finished = Counter(body["job"] for body in webhook.of("finished"))

    # every notification accounted for: each distinct delivery recorded once, none left waiting
    assert sorted(d["message_id"] for d in deliveries) == sorted({n.message_id for n in notes})
    assert held == [] and all(d["job_id"] for d in deliveries)
    # one investigation per alarm, with every re-fire and resolution attached to it
    assert sorted(j["alarm_name"] for j in jobs) == sorted(
        {f"burst-{('sns', 'eventbridge', 'alertmanager')[i % 3]}-{i:02d}" for i in range(ALARMS)}
    )
    assert {len(json.loads(j["updates"])) for j in jobs} == {FIRES - 1 + RESOLUTIONS}
    assert all(j["resolved_at"] for j in jobs)
    # investigated to the end once: a result each, announced at most once
    assert all(json.loads(j["result"])["headline"] for j in jobs)
    assert max(finished.values()) == 1 and max(summaries.values()) == 1
    assert sum(finished.values()) >= ALARMS - len(running)
    # the lease was renewed while the blocked worker lived, and taken over soon after the kill
    assert renewals >= 4 and running
    for job_id, lease_until in running.items():
        [job] = [j for j in jobs if j["id"] == job_id]
        assert job["attempts"] == 2 and finished[job_id] == 1
        assert job["claimed_at"] - lease_until <= 5.0, "stuck longer than its lease"
        assert job["claimed_at"] - killed_at <= 60.0


def _send_with_a_crash(
    server: ServeProcess, slack: FakeSlackApi, notes: list[Note]
) -> tuple[float, dict[str, float], int]:
    """Send everything from 8 threads. The first investigation's worker blocks on Slack while
    the rest go on; once its lease has been renewed past one lease period, the service is killed
    with notifications in flight, and restarted."""
    lock = threading.Lock()
    pending = iter(notes)
    sent = [0]
    halfway = len(notes) // 2
    resume = threading.Event()  # senders wait at halfway until the lease has been watched
    back_up = threading.Event()
    failures: list[str] = []

    def sender() -> None:
        with httpx.Client(timeout=30.0) as client:
            while True:
                with lock:
                    note = next(pending, None)
                    at_half = sent[0] >= halfway
                if note is None:
                    return
                if at_half:
                    resume.wait(120)
                while True:
                    try:
                        response = client.post(
                            server.url(note.route), content=note.body, headers={"x-sleuth-token": SECRET}
                        )
                    except httpx.TransportError:
                        back_up.wait(120)
                        continue
                    if response.status_code != 202:
                        failures.append(f"{note.route} {response.status_code} {response.text}")
                    with lock:
                        sent[0] += 1
                    break

    slack.hold(_first_start())
    threads = [threading.Thread(target=sender) for _ in range(8)]
    for thread in threads:
        thread.start()
    slack.wait_for(lambda api: api.held >= 1, timeout=60, what="a worker blocked holding a job")
    renewals = _watch_renewals(server.queue, count=4)
    eventually(lambda: sent[0] >= halfway, timeout=120, what="half the burst accepted")
    resume.set()
    eventually(lambda: sent[0] >= halfway + 20, timeout=120, what="the second half under way")
    server.kill()
    killed_at = datetime.now(UTC).timestamp()
    running = {
        r["id"]: r["lease_until"]
        for r in _rows(server.queue, "SELECT id, lease_until FROM jobs WHERE status = 'running'")
    }
    slack.release()
    server.start()
    back_up.set()
    for thread in threads:
        thread.join(120)
    assert failures == [] and sent[0] == len(notes)
    return killed_at, running, renewals


def _first_start() -> Any:
    """Hold the first "investigating…" thread root only: one worker blocks, the other goes on."""
    lock = threading.Lock()
    taken: list[str] = []

    def matching(method: str, body: dict[str, Any]) -> bool:
        with lock:
            if taken or method != "chat.postMessage" or ":mag:" not in body.get("text", ""):
                return False
            taken.append(body["text"])
            return True

    return matching


def _watch_renewals(queue: Path, count: int) -> int:
    """Wait until the held job's lease was renewed ``count`` times (over a lease period) with one attempt."""
    seen: list[float] = []

    def renewed() -> bool:
        rows = _rows(
            queue,
            "SELECT lease_until, attempts FROM jobs WHERE status = 'running' ORDER BY claimed_at LIMIT 1",
        )
        if rows:
            assert rows[0]["attempts"] == 1
            if not seen or rows[0]["lease_until"] > seen[-1]:
                seen.append(rows[0]["lease_until"])
        return len(seen) > count

    eventually(renewed, timeout=60, what=f"{count} lease renewals")
    return len(seen) - 1
