"""The methods an eval run can compare, by name: two baselines, the engine alone and Sleuth."""

from __future__ import annotations

import importlib.util

from evals.agent_adapter import EngineOnly, FullInvestigation
from evals.baselines import LargestMetricChange, MostErrors
from evals.outcome import Method
from evals.recording import RecordingConfig
from mcp_server.errors import SleuthError

BASELINE_NAMES = ("most_errors", "metric_change", "engine")
ALL_METHOD_NAMES = (*BASELINE_NAMES, "sleuth")


def build_methods(
    names: list[str] | tuple[str, ...], reasoner: str = "offline", recording: RecordingConfig | None = None
) -> list[Method]:
    methods: list[Method] = []
    for name in names:
        if name == "most_errors":
            methods.append(MostErrors())
        elif name == "metric_change":
            methods.append(LargestMetricChange())
        elif name == "engine":
            methods.append(EngineOnly())
        elif name == "sleuth":
            methods.append(FullInvestigation(reasoner=reasoner, recording=recording or RecordingConfig()))
        else:
            raise SleuthError(f"unknown eval method {name!r}; choose from {', '.join(ALL_METHOD_NAMES)}")
    return methods


def available(method: Method) -> bool:
    """Whether a method's code exists here (the harness skips, and says so, when it does not)."""
    needs = {"engine": "agent.wiring", "sleuth": "agent.wiring"}.get(method.name)
    return needs is None or importlib.util.find_spec(needs) is not None
