"""Where Sleuth keeps its data on this machine.

``SLEUTH_DATA_DIR`` overrides the default ``./.data`` (git-ignored). The local telemetry store,
the knowledge base, checkpoints and reports all live below it.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "SLEUTH_DATA_DIR"


def data_dir() -> Path:
    configured = os.environ.get(DATA_DIR_ENV)
    return Path(configured).expanduser() if configured else Path.cwd() / ".data"


def default_store_path() -> Path:
    return data_dir() / "store.duckdb"
