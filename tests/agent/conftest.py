from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.analysis import AnalysisSteps, default_analysis
from agent.checkpoints import close_checkpointer, sqlite_checkpointer
from agent.context import InvestigationDeps
from agent.reasoners.offline import OfflineReasoner
from mcp_server.backends.base import TelemetryBackend
from mcp_server.backends.local import LocalBackend
from mcp_server.scenario import ScenarioSpec, load_scenario_spec
from tests.agent.scenario_builder import write_scenario


@pytest.fixture(scope="session")
def scenario_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_scenario(tmp_path_factory.mktemp("scenario") / "payments-throttling")


@pytest.fixture(scope="session")
def clean_scenario_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_scenario(tmp_path_factory.mktemp("scenario") / "clean", injection=False)


@pytest.fixture(scope="session")
def backend(scenario_dir: Path) -> Iterator[LocalBackend]:
    with LocalBackend.from_scenario(scenario_dir) as store:
        yield store


@pytest.fixture(scope="session")
def spec(scenario_dir: Path) -> ScenarioSpec:
    return load_scenario_spec(scenario_dir)


@pytest.fixture(scope="session")
def analysis() -> AnalysisSteps:
    return default_analysis()


DepsFactory = Callable[..., InvestigationDeps]


@pytest.fixture
def make_deps(
    backend: TelemetryBackend, spec: ScenarioSpec, analysis: AnalysisSteps
) -> Iterator[DepsFactory]:
    savers: list[Any] = []

    def build(**overrides: Any) -> InvestigationDeps:
        saver = overrides.pop("checkpointer", None) or sqlite_checkpointer(":memory:")
        savers.append(saver)
        options: dict[str, Any] = {
            "backend": backend,
            "reasoner": OfflineReasoner(analysis),
            "analysis": analysis,
            "spec": spec,
            "checkpointer": saver,
        }
        options.update(overrides)
        return InvestigationDeps(**options)

    yield build
    for saver in savers:
        close_checkpointer(saver)
