"""Checkpointers: SQLite under the data directory by default, so an investigation can resume;
Postgres (``SLEUTH_CHECKPOINT_URL=postgresql://...``) for teams running workers on several machines.

The serializer only revives the model types the investigation state declares (an allowlist
built from the state's annotations), never arbitrary classes found in a checkpoint file.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import types
import typing
from enum import Enum
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from pydantic import BaseModel

from agent.state import GatherTask, HumanFeedback, InvestigationState
from mcp_server.config import data_dir
from mcp_server.errors import SleuthError

CHECKPOINT_FILE = "checkpoints.sqlite"
CHECKPOINT_URL_ENV = "SLEUTH_CHECKPOINT_URL"


def _collect(annotation: Any, found: set[type]) -> None:
    origin = typing.get_origin(annotation)
    if origin is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            _collect(arg, found)
        return
    if isinstance(annotation, type) and annotation not in found:
        if issubclass(annotation, BaseModel):
            found.add(annotation)
            for field in annotation.model_fields.values():
                _collect(field.annotation, found)
        elif issubclass(annotation, Enum):
            found.add(annotation)


def state_types() -> list[type]:
    found: set[type] = set()
    for model in (InvestigationState, GatherTask, HumanFeedback):
        _collect(model, found)
    return sorted(found, key=lambda t: (t.__module__, t.__qualname__))


def serializer() -> JsonPlusSerializer:
    allowed = [(t.__module__, t.__qualname__) for t in state_types()]
    return JsonPlusSerializer(allowed_msgpack_modules=allowed)


def default_checkpoint_path() -> Path:
    return data_dir() / CHECKPOINT_FILE


def sqlite_checkpointer(path: Path | str | None = None) -> SqliteSaver:
    """A SQLite checkpointer (``":memory:"`` for a throwaway one). Safe to share across threads."""
    target = str(path) if path is not None else str(default_checkpoint_path())
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(target, check_same_thread=False)
    return SqliteSaver(conn, serde=serializer())


def postgres_checkpointer(url: str) -> BaseCheckpointSaver[Any]:
    """LangGraph's Postgres checkpointer, for teams running several workers (optional package)."""
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg import Connection, OperationalError
        from psycopg.rows import dict_row
    except ImportError:
        raise SleuthError(
            f"{CHECKPOINT_URL_ENV} points at Postgres but langgraph-checkpoint-postgres is not installed; "
            "pip install 'langgraph-checkpoint-postgres' 'psycopg[binary]'"
        ) from None
    # PostgresSaver reads rows by column name: the connection must hand out dicts.
    try:
        conn = Connection.connect(
            url,
            autocommit=True,
            prepare_threshold=0,
            row_factory=dict_row,
            application_name=f"sleuth checkpoints {socket.gethostname()}:{os.getpid()}"[:63],
        )
    except OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SleuthError(f"cannot open the checkpoints at {url}: {first}") from None
    saver = PostgresSaver(conn, serde=serializer())
    # Workers starting together would race on creating the tables: one migrates, the rest wait.
    conn.execute("SELECT pg_advisory_lock(hashtextextended('sleuth-checkpoints-schema', 0))")
    try:
        saver.setup()
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtextextended('sleuth-checkpoints-schema', 0))")
    return saver


def open_checkpointer(target: str | Path | None = None) -> BaseCheckpointSaver[Any]:
    """``target`` or ``SLEUTH_CHECKPOINT_URL``: a ``postgresql://`` URL, a SQLite path, or the default file."""
    chosen = str(target) if target is not None else os.environ.get(CHECKPOINT_URL_ENV, "")
    if chosen.startswith(("postgres://", "postgresql://")):
        return postgres_checkpointer(chosen)
    return sqlite_checkpointer(chosen or None)


def close_checkpointer(saver: BaseCheckpointSaver[Any]) -> None:
    conn = getattr(saver, "conn", None)
    if conn is not None and hasattr(conn, "close"):
        conn.close()
