"""The demo scenario: a classic incident.

The visits API availability SLO breaches because its DynamoDB table throttles; the AWS SDK and the
gateway retry, which amplifies the load; and an unrelated deployment of ``customers`` happened
ten minutes earlier, ready to be blamed.
"""

from __future__ import annotations

from pathlib import Path

from evals.scenarios.suite import default_root, ensure_plans
from evals.simulator import FaultSpec, ScenarioPlan
from mcp_server.taxonomy import FaultType

DEMO_PLAN = ScenarioPlan(
    name="demo",
    faults=(FaultSpec(FaultType.DEPENDENCY_THROTTLING, "visits", onset_fraction=0.55),),
    seed=42,
    size="default",
    minutes=30,
    red_herrings=True,
    trigger="slo",
    trigger_scope="root",
    herring_service="customers",
    herring_minutes_before=10.0,
    tags=("demo",),
)


def ensure_demo(out_dir: Path | None = None) -> Path:
    """Generate the demo scenario under ``out_dir`` (default ``.data/scenarios``) unless cached."""
    root = Path(out_dir) if out_dir is not None else default_root().parent
    return ensure_plans([DEMO_PLAN], root)[0]
