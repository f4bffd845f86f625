"""A bad deployment seen through CloudTrail ranks the same on AWS as on the local store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from mcp_server.backends.aws.testing.scenario_loader import load_scenario
from mcp_server.backends.local import LocalBackend
from mcp_server.scenario import load_scenario_spec
from mcp_server.taxonomy import FaultType
from tests.mcp_server.engine_run import run_engine

from .conftest import simulate


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, LocalBackend]]:
    directory = simulate(tmp_path_factory.mktemp("aws-deploy"), FaultType.BAD_DEPLOYMENT, "billing", seed=11)
    local = LocalBackend.from_scenario(directory)
    yield directory, local
    local.close()


def test_a_bad_deployment_ranks_the_same_on_aws_as_on_local(
    deployment: tuple[Path, LocalBackend],
) -> None:
    directory, local = deployment
    spec = load_scenario_spec(directory)
    on_local = run_engine(local, spec)
    with mock_aws():
        loaded = load_scenario(directory, local=local)
        on_aws = run_engine(loaded.backend(insights_max_log_groups=50), spec)
        for client in loaded.clients.all():
            client.close()

    # The local store splits metrics per host, CloudWatch here per service. In a ten-minute tiny
    # scenario the onset comes from those metrics alone, so it may land a minute apart and the
    # confidences differ; the leading hypothesis, and its lead over the next, never do.
    a, b = on_aws.hypotheses[0], on_local.hypotheses[0]
    assert (a.service, a.fault_type) == (b.service, b.fault_type)
    for result in (on_aws, on_local):
        assert result.hypotheses[0].confidence >= 3 * result.hypotheses[1].confidence

    def changes(result):  # the deployment reaches the ranking through CloudTrail as it does locally
        return sorted(
            {
                re.sub(r"[\d.]+ min before onset", "", e.description)  # the onsets may differ
                for h in result.hypotheses
                for e in h.evidence
                if e.kind.value == "change"
            }
        )

    assert changes(on_aws) == changes(on_local)
    assert any("billing" in description for description in changes(on_aws))
