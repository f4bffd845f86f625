"""Shared AWS test fixtures: fake credentials, plain clients, and one simulated scenario in moto."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evals.simulator import FaultSpec, ScenarioPlan, write_scenario
from mcp_server.backends.aws.testing.scenario_loader import LoadedScenario, load_scenario
from mcp_server.backends.local import LocalBackend
from mcp_server.taxonomy import FaultType


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach real AWS: fake credentials, a fixed region, no shared config files."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("SLEUTH_AWS_CONFIG", raising=False)


def client(service: str) -> Any:
    return boto3.Session(region_name="us-east-1").client(service)  # type: ignore[call-overload]


def simulate(root: Path, fault: FaultType, service: str, seed: int = 7) -> Path:
    plan = ScenarioPlan(
        name=f"aws-{fault.value}",
        faults=(FaultSpec(fault, service, onset_fraction=0.5),),
        seed=seed,
        size="tiny",
        minutes=10,
    )
    return write_scenario(plan, root / plan.name)


@pytest.fixture(scope="session")
def scenario_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny simulated incident (visits throws), generated once per session."""
    return simulate(tmp_path_factory.mktemp("aws"), FaultType.ERROR_EXCEPTION, "visits")


@pytest.fixture(scope="session")
def local_backend(scenario_dir: Path) -> Iterator[LocalBackend]:
    backend = LocalBackend.from_scenario(scenario_dir)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def loaded(scenario_dir: Path, local_backend: LocalBackend) -> Iterator[LoadedScenario]:
    """The scenario loaded into moto and responders; one moto session per test module."""
    with mock_aws():
        scenario = load_scenario(scenario_dir, local=local_backend)
        yield scenario
        for each in scenario.clients.all():
            each.close()
