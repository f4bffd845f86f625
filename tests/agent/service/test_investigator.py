from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.service.investigator import GraphInvestigator
from agent.service.payloads import AlarmEvent, AlarmSource, AlarmStatus
from agent.service.queue import InvestigationQueue, JobStatus
from agent.service.worker import Worker
from mcp_server.backends.local import LocalBackend


def test_an_alarm_in_the_queue_is_investigated_by_the_graph_and_its_result_stored(
    backend: LocalBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(tmp_path / "data"))
    queue = InvestigationQueue(tmp_path / "q.sqlite", rng=random.Random(0))
    queue.enqueue(
        AlarmEvent(
            source=AlarmSource.EVENTBRIDGE,
            message_id="e1",
            alarm_name="frontend-5xx",
            status=AlarmStatus.FIRING,
            time=datetime(2026, 3, 2, 10, 20, tzinfo=UTC),
            service="frontend",
            reason="5xx above 1%",
        )
    )
    progress: list[str] = []
    investigator = GraphInvestigator(
        backend, results_dir=tmp_path / "results", reasoner="offline", draft_report=False
    )

    job = Worker(queue, lambda job_id, event, _: investigator(job_id, event, progress.append)).run_once()

    assert job is not None and job.status == JobStatus.DONE and job.result is not None
    assert job.result["hypotheses"][0]["service"] == "payments"
    assert job.result["hypotheses"][0]["fault_type"] == "dependency_throttling"
    stored = json.loads((tmp_path / "results" / job.id / "result.json").read_text())
    assert stored["hypotheses"][0]["service"] == "payments" and progress
