from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.report import IncidentReport, draft_report
from mcp_server.backends.local import LocalBackend
from mcp_server.taxonomy import FaultType
from tests.agent.report.incident_fixtures import past_coe, result_for, write_scenario


@pytest.fixture(scope="session")
def incident_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_scenario(tmp_path_factory.mktemp("report") / "single-host")


@pytest.fixture(scope="session")
def incident_backend(incident_dir: Path) -> Iterator[LocalBackend]:
    backend = LocalBackend.from_scenario(incident_dir)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def single_host_report(incident_backend: LocalBackend) -> IncidentReport:
    """Drafted once for the read-only tests; tests that change inputs draft their own."""
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2", with_change=True)
    return draft_report(result, incident_backend, past_coes=[past_coe()])
