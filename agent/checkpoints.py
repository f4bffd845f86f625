"""Checkpointers: SQLite under the data directory by default, so an investigation can resume.

The serializer only revives the model types the investigation state declares (an allowlist
built from the state's annotations), never arbitrary classes found in a checkpoint file.
"""

from __future__ import annotations

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

CHECKPOINT_FILE = "checkpoints.sqlite"


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


def close_checkpointer(saver: BaseCheckpointSaver[Any]) -> None:
    conn = getattr(saver, "conn", None)
    if isinstance(conn, sqlite3.Connection):
        conn.close()
