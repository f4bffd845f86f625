"""Choosing and opening the PostgreSQL job store: from ``SLEUTH_DATABASE_URL``, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.service.compose import open_queue, settings_from
from agent.service.pgstore import database_url
from agent.service.queue import InvestigationQueue
from agent.service.testing.serve_process import free_port
from mcp_server.errors import SleuthError
from tests.agent.service.postgres import require_postgres, throwaway_schema


def test_no_database_url_keeps_the_embedded_sqlite_store(tmp_path: Path) -> None:
    store = open_queue(settings_from({"queue": tmp_path / "q.sqlite"}, {}), {})

    assert isinstance(store, InvestigationQueue)
    store.close()


def test_a_database_url_that_is_not_postgres_is_one_line_naming_the_variable_without_its_password() -> None:
    with pytest.raises(SleuthError) as caught:
        database_url({"SLEUTH_DATABASE_URL": "mysql://app:hunter2@db/sleuth"})

    message = str(caught.value)
    assert message.startswith("SLEUTH_DATABASE_URL=") and "postgresql://" in message
    assert "hunter2" not in message and "\n" not in message


def test_an_unreachable_database_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    pytest.importorskip("psycopg", reason="the scale extra is not installed")
    url = f"postgresql://app:hunter2@127.0.0.1:{free_port()}/sleuth?connect_timeout=2"
    settings = settings_from({"queue": tmp_path / "q.sqlite"}, {})

    with pytest.raises(SleuthError) as caught:
        open_queue(settings, {"SLEUTH_DATABASE_URL": url})

    message = str(caught.value)
    assert message.startswith("SLEUTH_DATABASE_URL=postgresql://app:***@127.0.0.1")
    assert "cannot open the job store" in message and "hunter2" not in message and "\n" not in message


def test_a_postgres_database_url_selects_the_postgres_store_for_serve_and_workers(tmp_path: Path) -> None:
    from agent.service.pgstore import PostgresJobStore

    require_postgres()
    settings = settings_from({"queue": tmp_path / "q.sqlite", "lease_seconds": 7, "max_attempts": 5}, {})
    with throwaway_schema() as url:
        store = open_queue(settings, {"SLEUTH_DATABASE_URL": url})
        try:
            assert isinstance(store, PostgresJobStore)
            assert store.lease_seconds == 7 and store.max_attempts == 5
        finally:
            store.close()
    assert not (tmp_path / "q.sqlite").exists()
