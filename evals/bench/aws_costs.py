"""What one investigation costs on AWS: the requests it makes per API, on a scenario in moto.

    python -m evals.bench.aws_costs SCENARIO_DIR [--no-transaction-search]

Runs the offline investigation (and the platform step) on the AWS backend fed the scenario through
moto and responders, and prints the requests per IAM action (retries included), the Logs Insights
queries started and the bytes they scanned. Needs moto (the dev extra).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from agent.wiring import investigate_engine_only
from mcp_server.analysis import engine
from mcp_server.analysis.platform_findings import gather_platform
from mcp_server.scenario import load_scenario_spec


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    from moto import mock_aws

    from mcp_server.backends.aws.testing.scenario_loader import load_scenario

    directory = Path(argv[0])
    spec = load_scenario_spec(directory)
    with mock_aws():
        loaded = load_scenario(directory, transaction_search="--no-transaction-search" not in argv)
        backend = loaded.backend(insights_max_log_groups=50)
        started = time.perf_counter()
        result = investigate_engine_only(backend, spec)
        platform = gather_platform(backend, engine.scope(backend, spec))
        seconds = time.perf_counter() - started
    print(
        f"{directory.name}: {len(result.hypotheses)} hypotheses in {seconds:.1f}s; top {result.hypotheses[0].service}"
    )
    for api, count in sorted(backend.calls.requests.items()):
        print(f"  {api:<62} {count:>5}")
    print(f"  {'total requests':<62} {sum(backend.calls.requests.values()):>5}")
    queries, scanned = backend.insights_usage
    print(
        f"  Logs Insights: {queries} queries, {scanned / 1e6:.1f} MB scanned (as the fake counts: 200 B an event)"
    )
    for note in [*(f"{n.source}: {n.message}" for n in backend.notes), *platform.notes]:
        print(f"  note: {note[:160]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
