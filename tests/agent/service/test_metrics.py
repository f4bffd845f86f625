"""Prometheus metrics after real investigations: GET /metrics on the intake, counts that add up."""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from agent.analysis import AnalysisSteps
from agent.run import run_investigation
from agent.service.compose import ServeSettings, build_service
from agent.service.investigator import summarise
from agent.service.metrics import MeteredQueue, ServiceMetrics, metric_value
from agent.service.payloads import AlarmEvent
from agent.service.queue import InvestigationQueue
from agent.service.testing.wait import eventually
from agent.service.worker import Worker
from mcp_server.backends.base import TelemetryBackend
from mcp_server.backends.local import LocalBackend
from mcp_server.scenario import ScenarioSpec
from tests.agent.conftest import DepsFactory
from tests.agent.reasoners.scripted_claude import ScriptedClaude, hypothesis, submit
from tests.agent.reasoners.test_claude import claude
from tests.agent.service.samples import eventbridge, frontend_alarm

SECRET = "metrics-secret"
INCIDENT = datetime(2026, 3, 2, 10, 20, tzinfo=UTC)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture
def store(tmp_path: Path, scenario_dir: Path) -> Path:
    path = tmp_path / "store.duckdb"
    LocalBackend.from_scenario(scenario_dir, path).close()
    return path


def test_metrics_count_the_investigations_the_intake_took_and_the_workers_ran(
    tmp_path: Path, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(tmp_path / "data"))
    settings = ServeSettings(
        queue=tmp_path / "queue.sqlite",
        store=store,
        workers=1,
        secret=SECRET,
        reasoner="offline",
        draft_report=False,
    )
    service = build_service(settings, {})
    auth = {"authorization": f"Bearer {SECRET}"}
    with TestClient(service.app) as client:
        for event_id, alarm in [("e1", "frontend-5xx"), ("e1", "frontend-5xx"), ("e2", "checkout-latency")]:
            body = eventbridge(event_id, alarm, at=INCIDENT, service="frontend")
            assert client.post("/alarms/eventbridge", content=body, headers=auth).status_code == 202
        eventually(
            lambda: client.get("/healthz").json()["jobs"] == {"done": 2},
            timeout=120,
            what="both investigations finishing",
        )
        response = client.get("/metrics")

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    values = _samples(response.text)
    assert values[("sleuth_jobs", (("status", "done"),))] == 2
    assert values[("sleuth_jobs", (("status", "queued"),))] == 0
    assert values[("sleuth_investigations_started_total", ())] == 2
    assert values[("sleuth_investigations_finished_total", ())] == 2
    assert values[("sleuth_investigations_failed_total", ())] == 0
    assert values[("sleuth_investigations_deduplicated_total", ())] == 1  # the redelivered e1
    assert values[("sleuth_investigation_duration_seconds_count", ())] == 2
    assert values[("sleuth_investigation_duration_seconds_sum", ())] > 0
    assert values[("sleuth_llm_tokens_total", (("direction", "input"),))] == 0  # offline reasoner


def test_a_failed_attempt_is_counted_and_the_job_waits_queued_for_its_retry(tmp_path: Path) -> None:
    queue = InvestigationQueue(tmp_path / "q.sqlite", rng=random.Random(0))
    queue.enqueue(frontend_alarm("m1"))
    metrics = ServiceMetrics(queue)

    def broken(job_id: str, event: AlarmEvent, progress: Any) -> dict[str, Any]:
        raise RuntimeError("telemetry store unreachable")

    Worker(MeteredQueue(queue, metrics), broken).run_once()

    assert metric_value(metrics, "sleuth_investigations_started_total") == 1
    assert metric_value(metrics, "sleuth_investigations_failed_total") == 1
    assert metric_value(metrics, "sleuth_investigations_finished_total") == 0
    assert metric_value(metrics, "sleuth_jobs", [("status", "queued")]) == 1


def test_tokens_a_claude_investigation_used_are_counted(
    tmp_path: Path,
    make_deps: DepsFactory,
    spec: ScenarioSpec,
    backend: TelemetryBackend,
    analysis: AnalysisSteps,
) -> None:
    queue = InvestigationQueue(tmp_path / "q.sqlite", rng=random.Random(0))
    queue.enqueue(frontend_alarm("m1"))
    metrics = ServiceMetrics(queue)
    scripted = ScriptedClaude([submit(hypothesis("payments", "dependency_throttling", ["traces-1"]))])

    def investigate(job_id: str, event: AlarmEvent, progress: Any) -> dict[str, Any]:
        deps = make_deps(reasoner=claude(scripted, backend, analysis))
        return summarise(run_investigation(spec.trigger, deps), None)

    Worker(MeteredQueue(queue, metrics), investigate).run_once()

    # one scripted reply: 100 tokens in, 20 out (its usage block)
    assert metric_value(metrics, "sleuth_llm_tokens_total", [("direction", "input")]) == 100
    assert metric_value(metrics, "sleuth_llm_tokens_total", [("direction", "output")]) == 20
    assert metric_value(metrics, "sleuth_investigations_finished_total") == 1


def test_without_prometheus_client_metrics_answer_501_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # as in the base install
    service = build_service(ServeSettings(queue=tmp_path / "queue.sqlite", workers=0), {})
    with TestClient(service.app) as client:
        response = client.get("/metrics")
        health = client.get("/healthz")

    assert response.status_code == 501
    assert response.json() == {"error": "metrics need prometheus_client: pip install 'sleuth[scale]'"}
    assert health.status_code == 200
