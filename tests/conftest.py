from __future__ import annotations

import pytest

from tests.simulated_reports import SimulatedReports


@pytest.fixture(scope="session")
def simulated_reports(tmp_path_factory: pytest.TempPathFactory) -> SimulatedReports:
    """Simulated incidents and their reports, made once per session for every module reading them."""
    return SimulatedReports(tmp_path_factory.mktemp("simulated-reports"))
