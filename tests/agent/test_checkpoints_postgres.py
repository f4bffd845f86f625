"""LangGraph's Postgres checkpointer on the machine's real PostgreSQL: resume, not restart."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.checkpoints import close_checkpointer, postgres_checkpointer
from agent.reasoners.offline import OfflineReasoner
from agent.run import resume_investigation, run_investigation
from agent.service.investigator import GraphInvestigator
from agent.service.payloads import AlarmEvent, AlarmSource, AlarmStatus
from mcp_server.backends.local import LocalBackend
from mcp_server.scenario import ScenarioSpec
from tests.agent.conftest import DepsFactory
from tests.agent.test_run import CrashOnce

POSTGRES = ("127.0.0.1", 5432)


@pytest.fixture
def database_url() -> Iterator[str]:
    """A fresh database per test, dropped afterwards, so runs never see each other's checkpoints."""
    pytest.importorskip("langgraph.checkpoint.postgres", reason="the scale extra is not installed")
    try:
        socket.create_connection(POSTGRES, timeout=1).close()
    except OSError:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432: start it to run the Postgres checkpoint tests")
    import psycopg

    name = f"sleuth_test_{uuid.uuid4().hex[:12]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_crashed_investigation_resumes_from_its_postgres_checkpoint_in_another_connection(
    make_deps: DepsFactory, spec: ScenarioSpec, tmp_path: Path, analysis: object, database_url: str
) -> None:
    first = postgres_checkpointer(database_url)
    crashing = CrashOnce(OfflineReasoner(analysis))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="worker killed"):
        run_investigation(
            spec.trigger, make_deps(checkpointer=first, reasoner=crashing), investigation_id="inv-pg"
        )
    close_checkpointer(first)  # the first worker is gone

    events: list[str] = []
    other_worker = postgres_checkpointer(database_url)
    result = resume_investigation(
        "inv-pg",
        make_deps(checkpointer=other_worker, reasoner=crashing),
        on_event=lambda e: events.append(e.step),
    )
    close_checkpointer(other_worker)

    assert result.hypotheses[0].service == "payments"
    assert "gather" not in events and "scope" not in events  # completed nodes did not run again
    assert crashing.calls == 2


def test_a_service_job_taken_over_by_another_worker_resumes_from_its_postgres_checkpoint(
    backend: LocalBackend, tmp_path: Path, database_url: str
) -> None:
    event = AlarmEvent(
        source=AlarmSource.EVENTBRIDGE,
        message_id="e1",
        alarm_name="frontend-5xx",
        status=AlarmStatus.FIRING,
        time=datetime(2026, 3, 2, 10, 20, tzinfo=UTC),
        service="frontend",
    )
    saver = postgres_checkpointer(database_url)
    first = GraphInvestigator(
        backend, results_dir=tmp_path, reasoner="offline", draft_report=False, checkpointer=saver
    )
    done = first("job-1", event, lambda _: None)
    assert saver_state_exists(saver, "job-1")

    said: list[str] = []
    second = GraphInvestigator(
        backend, results_dir=tmp_path, reasoner="offline", draft_report=False, checkpointer=saver
    )
    again = second("job-1", event, said.append)
    close_checkpointer(saver)

    assert said[0] == "resuming from the last checkpoint"
    assert again["hypotheses"][0]["service"] == done["hypotheses"][0]["service"] == "payments"


def saver_state_exists(saver: object, job_id: str) -> bool:
    from agent.run import saved_state

    return saved_state(job_id, saver) is not None  # type: ignore[arg-type]
