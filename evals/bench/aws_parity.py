"""Run the same investigation on the local store and on the AWS backend fed through moto, and compare.

    python -m evals.bench.aws_parity SCENARIO_DIR [SCENARIO_DIR ...]

Prints, per scenario, whether the top hypotheses (service, fault type, confidence) agree and the
seconds each side took; exits 1 when any top hypothesis differs. Needs moto (the dev extra).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import cast

from agent.wiring import investigate_engine_only, open_telemetry
from mcp_server.analysis.models import InvestigationResult
from mcp_server.backends.aws.testing.scenario_loader import load_scenario
from mcp_server.backends.local import LocalBackend


def compare(directory: Path, top: int = 3) -> tuple[bool, str]:
    from moto import mock_aws

    telemetry = open_telemetry(data=directory)
    local, spec = telemetry.backend, telemetry.spec
    started = time.perf_counter()
    on_local = investigate_engine_only(local, spec)
    local_seconds = time.perf_counter() - started
    with mock_aws():
        loaded = load_scenario(directory, local=cast(LocalBackend, local))
        started = time.perf_counter()
        on_aws = investigate_engine_only(loaded.backend(insights_max_log_groups=50), spec)
        aws_seconds = time.perf_counter() - started
    telemetry.close()

    def ranked(result: InvestigationResult) -> list[tuple[str, str, float]]:
        return [(h.service, h.fault_type.value, round(h.confidence, 3)) for h in result.hypotheses[:top]]

    same = ranked(on_local)[:1] == ranked(on_aws)[:1]
    line = (
        f"{directory.name}: {'same' if same else 'DIFFERENT'} top hypothesis; "
        f"top {top} {'identical' if ranked(on_local) == ranked(on_aws) else 'differ'} "
        f"(local {local_seconds:.1f}s, aws {aws_seconds:.1f}s)\n  local {ranked(on_local)}\n  aws   {ranked(on_aws)}"
    )
    return same, line


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    agree = 0
    for name in argv:
        same, line = compare(Path(name))
        agree += same
        print(line, flush=True)
    print(f"{agree}/{len(argv)} scenarios: same top hypothesis on AWS as on local")
    return 0 if agree == len(argv) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
