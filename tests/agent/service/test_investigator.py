from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.service.investigator import GraphInvestigator
from agent.service.payloads import AlarmEvent, AlarmSource, AlarmStatus
from agent.service.queue import InvestigationQueue, JobStatus
from agent.service.reports import ResultStore
from agent.service.review import ReviewDesk
from agent.service.worker import Worker
from mcp_server.backends.local import LocalBackend
from tests.agent.service.samples import frontend_alarm


def _frontend_alarm() -> AlarmEvent:
    return frontend_alarm()


def _run(
    backend: LocalBackend, tmp_path: Path, event: AlarmEvent, progress: list[str] | None = None
) -> tuple[InvestigationQueue, str]:
    queue = InvestigationQueue(tmp_path / "q.sqlite", rng=random.Random(0))
    _, job_id = queue.enqueue(event)
    assert job_id is not None
    investigator = GraphInvestigator(
        backend, results_dir=tmp_path / "results", reasoner="offline", draft_report=False
    )
    sink = progress if progress is not None else []
    Worker(queue, lambda job, ev, _: investigator(job, ev, sink.append)).drain()
    return queue, job_id


def test_an_alarm_in_the_queue_is_investigated_by_the_graph_and_its_result_stored(
    backend: LocalBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(tmp_path / "data"))
    progress: list[str] = []

    queue, job_id = _run(backend, tmp_path, _frontend_alarm(), progress)

    job = queue.get(job_id)
    assert job is not None and job.status == JobStatus.DONE and job.result is not None
    assert job.result["hypotheses"][0]["service"] == "payments"
    assert job.result["hypotheses"][0]["fault_type"] == "dependency_throttling"
    stored = json.loads((tmp_path / "results" / job.id / "result.json").read_text())
    assert stored["hypotheses"][0]["service"] == "payments" and progress


def test_a_window_asked_for_in_slack_bounds_the_investigation_and_the_service_is_its_focus(
    backend: LocalBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(tmp_path / "data"))
    event = AlarmEvent(
        source=AlarmSource.SLACK,
        message_id="slack:t1",
        alarm_name="slack:payments",
        status=AlarmStatus.FIRING,
        time=datetime(2026, 3, 2, 10, 25, tzinfo=UTC),
        service="payments",
        labels={"target": "payments", "window": "20m"},
    )

    _, job_id = _run(backend, tmp_path, event)

    result = ResultStore(tmp_path / "results").result(job_id)
    assert result.trigger.service == "payments"
    assert (result.window.start.isoformat(), result.window.end.isoformat()) == (
        "2026-03-02T10:05:00+00:00",
        "2026-03-02T10:25:00+00:00",
    )


def test_rejecting_the_top_hypothesis_reranks_the_stored_summary(
    backend: LocalBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(tmp_path / "data"))
    queue, job_id = _run(backend, tmp_path, _frontend_alarm())
    job = queue.get(job_id)
    assert job is not None and job.result is not None
    top = job.result["hypotheses"][0]
    key = f"{top['service']}/{top['fault_type']}"

    summary = ReviewDesk(queue, ResultStore(tmp_path / "results")).review(job_id, key, False, "U9")

    assert f"{summary['hypotheses'][0]['service']}/{summary['hypotheses'][0]['fault_type']}" != key
    assert summary["verdicts"] == {key: {"accepted": False, "user": "U9"}}
    stored = queue.get(job_id)
    assert stored is not None and stored.result == summary


def test_each_completed_graph_node_is_logged_once_with_its_task_and_the_result_after_them(
    backend: LocalBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(tmp_path / "data"))
    queue = InvestigationQueue(tmp_path / "q.sqlite", rng=random.Random(0))
    _, job_id = queue.enqueue(_frontend_alarm())
    investigator = GraphInvestigator(
        backend, results_dir=tmp_path / "results", reasoner="offline", draft_report=False, execution_log=queue
    )

    Worker(queue, investigator).drain()

    log = queue.execution_log(job_id)
    nodes = [entry.name for entry in log if entry.kind == "node"]
    assert nodes[0] == "scope" and nodes[-1] == "report" and "gather" in nodes and "hypothesize" in nodes
    assert len({entry.task for entry in log if entry.kind == "node"}) == len(nodes)  # one task id each
    assert [entry.kind for entry in log][-1] == "result"
