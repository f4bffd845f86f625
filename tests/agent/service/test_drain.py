"""SIGTERM drains `sleuth serve` and `sleuth worker`: the running investigation finishes (or is handed
back to the queue when the grace period runs out), nothing is lost, and the process exits 0.

An investigation is held mid-flight by a peer that does not answer until the test says so: the Slack
API (the worker announces the start before investigating) for `sleuth serve`, the Anthropic API (the
reasoner's first call) for `sleuth worker`.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from agent.service.queue import InvestigationQueue
from agent.service.testing.fake_slack import FakeSlackApi
from agent.service.testing.serve_process import ServeProcess, free_port, listening
from agent.service.testing.wait import eventually
from mcp_server.backends.local import LocalBackend
from tests.agent.service.samples import eventbridge, frontend_alarm
from tests.agent.service.test_metrics import _samples

SECRET = "drain-secret"
INCIDENT = datetime(2026, 3, 2, 10, 20, tzinfo=UTC)
REDIS = ("127.0.0.1", 6379)
REDIS_DB = 12


@pytest.fixture
def store(tmp_path: Path, scenario_dir: Path) -> Path:
    path = tmp_path / "store.duckdb"
    LocalBackend.from_scenario(scenario_dir, path).close()
    return path


def _job(queue: Path) -> sqlite3.Row:
    with sqlite3.connect(queue) as con:
        con.row_factory = sqlite3.Row
        [row] = con.execute("SELECT status, attempts, lease_token FROM jobs").fetchall()
        return row


def _jobs(queue: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(queue) as con:
        con.row_factory = sqlite3.Row
        return con.execute("SELECT status, attempts FROM jobs ORDER BY created_at").fetchall()


def _exit_code(process: subprocess.Popen[bytes], timeout: float) -> int:
    return eventually(lambda: process.poll() is not None, timeout=timeout, what="the process exiting") and (
        process.returncode
    )


def _serve(tmp_path: Path, store: Path, slack: FakeSlackApi, drain: float) -> ServeProcess:
    env = {"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": slack.base_url}
    args = ["--workers", "1", "--store", str(store), "--secret", SECRET, "--reasoner", "offline"]
    args += ["--no-draft-report", "--slack-channel", "C-ONCALL", "--lease-seconds", "60"]
    args += ["--drain-seconds", str(drain)]
    return ServeProcess(tmp_path / "serve", args, env=env)


def _alarm_mid_investigation(server: ServeProcess, slack: FakeSlackApi) -> None:
    slack.hold(lambda method, body: method == "chat.postMessage")
    body = eventbridge("e1", "frontend-5xx", at=INCIDENT, service="frontend")
    response = httpx.post(
        server.url("/alarms/eventbridge"), content=body, headers={"authorization": f"Bearer {SECRET}"}
    )
    assert response.status_code == 202
    slack.wait_for(lambda api: api.held >= 1, what="the worker announcing its investigation")
    assert _jobs(server.queue)[0]["status"] == "running"


def test_sigterm_lets_the_running_investigation_finish_and_serve_exits_0(tmp_path: Path, store: Path) -> None:
    with FakeSlackApi() as slack:
        server = _serve(tmp_path, store, slack, drain=60).start()
        try:
            _alarm_mid_investigation(server, slack)
            assert server.process is not None
            waiting = eventbridge("e2", "checkout-latency", at=INCIDENT, service="frontend")
            response = httpx.post(
                server.url("/alarms/eventbridge"),
                content=waiting,
                headers={"authorization": f"Bearer {SECRET}"},
            )
            assert response.status_code == 202  # queued behind the running one (one worker)
            server.process.send_signal(signal.SIGTERM)
            eventually(lambda: "draining: 1 running" in server.log(), what="serve draining")
            slack.release()
            code = _exit_code(server.process, timeout=60)
        finally:
            server.stop()

    first, second = _jobs(server.queue)
    assert code == 0, server.log()
    assert (first["status"], first["attempts"]) == ("done", 1)
    assert (second["status"], second["attempts"]) == ("queued", 0)  # no new job taken while draining


def test_past_the_grace_period_serve_hands_the_job_back_and_the_next_start_finishes_it(
    tmp_path: Path, store: Path
) -> None:
    with FakeSlackApi() as slack:
        server = _serve(tmp_path, store, slack, drain=0.5).start()
        try:
            _alarm_mid_investigation(server, slack)
            assert server.process is not None
            server.process.send_signal(signal.SIGTERM)
            code = _exit_code(server.process, timeout=30)
            handed_back = _job(server.queue)
            slack.release()
            server.start()  # the same queue: the job is due at once, its attempt not spent
            eventually(lambda: _job(server.queue)["status"] == "done", timeout=60, what="the job finishing")
        finally:
            server.stop()

    assert code == 0, server.log()
    assert (handed_back["status"], handed_back["attempts"], handed_back["lease_token"]) == ("queued", 0, None)
    assert "handed back" in server.log()
    assert _job(server.queue)["attempts"] == 1


@pytest.fixture
def redis_url() -> Iterator[str]:
    if not listening(*REDIS):
        pytest.skip(f"no Redis on {REDIS[0]}:{REDIS[1]}: `sleuth worker` drain needs a Celery broker")
    import redis

    client = redis.Redis(host=REDIS[0], port=REDIS[1], db=REDIS_DB)
    client.flushdb()
    yield f"redis://{REDIS[0]}:{REDIS[1]}/{REDIS_DB}"
    client.flushdb()


class _WorkerProcess:
    """`sleuth worker` on Redis whose reasoner's model (a fake on loopback) holds every call."""

    def __init__(
        self, tmp_path: Path, store: Path, redis_url: str, model: FakeSlackApi, drain: float
    ) -> None:
        self.queue = tmp_path / "queue.sqlite"
        InvestigationQueue(self.queue).enqueue(frontend_alarm("m1"))
        self.metrics_port = free_port()
        self.log = tmp_path / "worker.log"
        model.hold(lambda method, body: method == "messages")
        env = {
            **os.environ,
            "SLEUTH_QUEUE": redis_url,
            "SLEUTH_DATA_DIR": str(tmp_path / "data"),
            "ANTHROPIC_API_KEY": "test-key",
            "ANTHROPIC_BASE_URL": model.base_url.removesuffix("/"),
        }
        command = [
            sys.executable,
            "-m",
            "agent.cli",
            "worker",
            "--store",
            str(store),
            "--queue",
            str(self.queue),
        ]
        command += [
            "--reasoner",
            "anthropic",
            "--no-draft-report",
            "--lease-seconds",
            "60",
            "--concurrency",
            "1",
        ]
        command += ["--metrics-port", str(self.metrics_port), "--drain-seconds", str(drain)]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path
            )
        model.wait_for(lambda api: api.held >= 1, timeout=60, what="the worker asking the model")
        assert _job(self.queue)["status"] == "running"

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        eventually(lambda: "draining (up to" in self.text(), what="the worker taking the signal")

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def test_sigterm_drains_sleuth_worker_which_finishes_its_investigation_and_exits_0(
    tmp_path: Path, store: Path, redis_url: str
) -> None:
    with FakeSlackApi() as model:  # stands in for the Anthropic API: it answers when released
        worker = _WorkerProcess(tmp_path, store, redis_url, model, drain=60)
        try:
            worker.terminate()
            scraped = _samples(httpx.get(f"http://127.0.0.1:{worker.metrics_port}/metrics").text)
            model.release()
            code = _exit_code(worker.process, timeout=60)
        finally:
            worker.close()

    job = _job(worker.queue)
    assert code == 0, worker.text()
    assert (job["status"], job["attempts"]) == ("done", 1)
    assert scraped[("sleuth_investigations_started_total", ())] == 1
    assert scraped[("sleuth_jobs", (("status", "running"),))] == 1


def test_past_the_grace_period_sleuth_worker_hands_the_job_back_and_exits_0(
    tmp_path: Path, store: Path, redis_url: str
) -> None:
    with FakeSlackApi() as model:
        worker = _WorkerProcess(tmp_path, store, redis_url, model, drain=0.5)
        try:
            worker.terminate()
            code = _exit_code(worker.process, timeout=60)
        finally:
            worker.close()

    job = _job(worker.queue)
    assert code == 0, worker.text()
    assert (job["status"], job["attempts"], job["lease_token"]) == ("queued", 0, None)
    assert "handed back" in worker.text()
