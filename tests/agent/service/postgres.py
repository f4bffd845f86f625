"""Throwaway PostgreSQL places on the machine's server (127.0.0.1:5432, user postgres, trust auth)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

POSTGRES = ("127.0.0.1", 5432)
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TEST_URL = "postgresql://postgres@127.0.0.1:5432/test"


def require_postgres() -> None:
    """Skip (with how to fix it) when psycopg or the server is missing."""
    pytest.importorskip("psycopg", reason="the scale extra is not installed: pip install '.[scale]'")
    try:
        socket.create_connection(POSTGRES, timeout=1).close()
    except OSError:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432: start it to run the Postgres job store tests")


@contextmanager
def _throwaway(admin_url: str, kind: str, drop: str) -> Iterator[str]:
    """Create a uniquely named schema or database with ``admin_url``; drop it (``drop``) after."""
    import psycopg

    require_postgres()
    name = f"sleuth_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE {kind} "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP {kind} IF EXISTS "{name}" {drop}')


@contextmanager
def throwaway_schema() -> Iterator[str]:
    """A URL whose tables land in a fresh schema of the ``test`` database, dropped afterwards."""
    with _throwaway(TEST_URL, "SCHEMA", "CASCADE") as name:
        yield f"{TEST_URL}?options=-csearch_path%3D{name}"


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh database (jobs and checkpoints of many processes), dropped afterwards."""
    with _throwaway(ADMIN_URL, "DATABASE", "WITH (FORCE)") as name:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
