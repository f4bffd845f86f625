"""The incident simulator: a pet-clinic system on AWS whose telemetry shows injected faults.

``generate_scenario(fault, service, seed, out)`` writes one scenario directory in the format of
:mod:`mcp_server.scenario`; ``write_scenario(ScenarioPlan(...), out)`` gives full control (several
faults, triggers, red herrings, renames). See ``docs/simulator.md``.
"""

from __future__ import annotations

from evals.simulator.faults import FAULT_CLASSES, FaultSetupError, FaultSpec
from evals.simulator.generate import (
    SIZES,
    ScenarioGenerationError,
    ScenarioPlan,
    generate_scenario,
    write_scenario,
)
from evals.simulator.topology import DEFAULT_TOPOLOGY, Topology, load_topology

SIMULATED_FAULTS = list(FAULT_CLASSES)

__all__ = [
    "DEFAULT_TOPOLOGY",
    "SIMULATED_FAULTS",
    "SIZES",
    "FaultSetupError",
    "FaultSpec",
    "ScenarioGenerationError",
    "ScenarioPlan",
    "Topology",
    "generate_scenario",
    "load_topology",
    "write_scenario",
]
