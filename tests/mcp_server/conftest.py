from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_server.backends.local import LocalBackend
from tests.mcp_server.scenario_fixture import write_checkout_incident


@pytest.fixture(scope="session")
def checkout_incident_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_checkout_incident(tmp_path_factory.mktemp("checkout-incident"))


@pytest.fixture(scope="session")
def checkout_backend(checkout_incident_dir: Path) -> Iterator[LocalBackend]:
    backend = LocalBackend.from_scenario(checkout_incident_dir)
    yield backend
    backend.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
