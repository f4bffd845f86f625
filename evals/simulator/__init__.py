"""The incident simulator: a pet-clinic system on AWS whose telemetry shows injected faults.

``generate_scenario(fault, service, seed, out)`` writes one scenario directory in the format of
:mod:`mcp_server.scenario`; ``write_scenario(ScenarioPlan(...), out)`` gives full control (several
faults, triggers, red herrings, renames, and the quirks of real telemetry in ``Quirks``). See
``docs/simulator.md``.
"""

from __future__ import annotations

from evals.simulator.faults import FAULT_CLASSES, FAULT_VARIANTS, FaultSetupError, FaultSpec
from evals.simulator.generate import (
    SIZES,
    ScenarioGenerationError,
    ScenarioPlan,
    generate_scenario,
    write_scenario,
)
from evals.simulator.quirks import Quirks
from evals.simulator.topology import DEFAULT_TOPOLOGY, Topology, load_topology

SIMULATED_FAULTS = list(FAULT_CLASSES)

__all__ = [
    "DEFAULT_TOPOLOGY",
    "FAULT_VARIANTS",
    "SIMULATED_FAULTS",
    "SIZES",
    "FaultSetupError",
    "FaultSpec",
    "Quirks",
    "ScenarioGenerationError",
    "ScenarioPlan",
    "Topology",
    "generate_scenario",
    "load_topology",
    "write_scenario",
]
