"""Small simulated scenarios shared by the simulator tests (generated once per test session)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pytest

from evals.simulator import FaultSpec, ScenarioPlan, write_scenario
from mcp_server.taxonomy import FaultType


class ScenarioFactory(Protocol):
    def __call__(
        self,
        fault: str,
        service: str,
        *,
        seed: int = 7,
        minutes: int = 20,
        onset_fraction: float = 0.5,
        red_herrings: bool = False,
        trigger: str = "alarm",
        rename: tuple[tuple[str, str], ...] = (),
    ) -> Path: ...


@pytest.fixture(scope="session")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> ScenarioFactory:
    """A tiny scenario directory per distinct set of arguments, generated once per session."""
    root = tmp_path_factory.mktemp("simulated")
    cache: dict[tuple[object, ...], Path] = {}

    def make(
        fault: str,
        service: str,
        *,
        seed: int = 7,
        minutes: int = 20,
        onset_fraction: float = 0.5,
        red_herrings: bool = False,
        trigger: str = "alarm",
        rename: tuple[tuple[str, str], ...] = (),
    ) -> Path:
        key = (fault, service, seed, minutes, onset_fraction, red_herrings, trigger, rename)
        if key not in cache:
            plan = ScenarioPlan(
                name=f"scenario-{len(cache)}",
                faults=(FaultSpec(FaultType(fault), service, onset_fraction=onset_fraction),),
                seed=seed,
                size="tiny",
                minutes=minutes,
                red_herrings=red_herrings,
                trigger=trigger,
                rename=dict(rename),
            )
            cache[key] = write_scenario(plan, root / plan.name)
        return cache[key]

    return make
