from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_server.backends.local import LocalBackend
from tests.agent.report.incident_fixtures import write_scenario


@pytest.fixture(scope="session")
def incident_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_scenario(tmp_path_factory.mktemp("report") / "single-host")


@pytest.fixture(scope="session")
def incident_backend(incident_dir: Path) -> Iterator[LocalBackend]:
    backend = LocalBackend.from_scenario(incident_dir)
    yield backend
    backend.close()
