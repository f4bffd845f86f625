"""``sleuth dlq list|redrive`` on either job store: the SQLite file or SLEUTH_DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import build_app
from agent.service.jobs import JobStatus, JobStore
from agent.service.queue import InvestigationQueue
from tests.agent.service.postgres import throwaway_schema
from tests.agent.service.samples import FakeClock, stored_alarm


@pytest.fixture(params=["sqlite", "postgres"])
def dead_store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[JobStore, list[str]]]:
    """A store holding one dead investigation, and the ``sleuth dlq`` arguments that reach it."""
    if request.param == "sqlite":
        path = tmp_path / "q.sqlite"
        monkeypatch.delenv("SLEUTH_DATABASE_URL", raising=False)
        with closing(InvestigationQueue(path, clock=FakeClock(), max_attempts=1)) as store:
            yield _kill_one(store), ["--queue", str(path)]
        return
    from agent.service.pgstore import PostgresJobStore

    with throwaway_schema() as url:
        monkeypatch.setenv("SLEUTH_DATABASE_URL", url)
        with closing(PostgresJobStore(url, clock=FakeClock(), max_attempts=1, pool_size=2)) as store:
            yield _kill_one(store), []


def _kill_one(store: JobStore) -> JobStore:
    store.enqueue(stored_alarm("m1"))
    job = store.claim()
    assert job is not None and store.fail(job, "boom: backend timed out") == JobStatus.DEAD
    return store


def test_dlq_lists_the_dead_investigations_with_their_last_error_and_redrives_them(
    dead_store: tuple[JobStore, list[str]],
) -> None:
    store, where = dead_store
    [dead] = store.dead_letters()
    cli = build_app(["agent.commands.dlq"])

    listed = CliRunner().invoke(cli, ["dlq", "list", *where], terminal_width=200)
    redriven = CliRunner().invoke(cli, ["dlq", "redrive", "--all", *where])

    assert listed.exit_code == 0 and dead.id in listed.output and "boom: backend timed out" in listed.output
    assert redriven.exit_code == 0 and "Requeued 1 investigation(s)." in redriven.output
    assert store.counts() == {"queued": 1}
