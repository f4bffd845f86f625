"""Runs the full investigation (the agent graph) for the eval harness.

Kept apart from :mod:`evals.baselines` so the baselines load without the agent's dependencies.
"""

from __future__ import annotations

from evals.baselines import MethodUnavailableError, Outcome
from evals.recording import RecordingConfig
from mcp_server.backends.base import TelemetryBackend
from mcp_server.scenario import ScenarioSpec


def run_full_investigation(
    backend: TelemetryBackend, spec: ScenarioSpec, *, reasoner: str, recording: RecordingConfig
) -> Outcome:
    raise MethodUnavailableError("the agent's run_investigation has not landed in this checkout yet")
