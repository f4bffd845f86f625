from __future__ import annotations

import pytest

from agent.analysis import AnalysisSteps
from agent.nodes.verify import check_hypothesis
from agent.state import Scope
from mcp_server.analysis.models import Hypothesis
from mcp_server.backends.base import TelemetryBackend
from mcp_server.scenario import ScenarioSpec
from mcp_server.taxonomy import FaultType


@pytest.fixture(scope="module")
def scope(backend: TelemetryBackend, spec: ScenarioSpec, analysis: AnalysisSteps) -> Scope:
    return analysis.scope(backend, spec, spec.trigger, None)


def verdict(
    backend: TelemetryBackend, scope: Scope, service: str, fault: FaultType
) -> tuple[bool | None, str]:
    h = Hypothesis(rank=1, service=service, fault_type=fault, confidence=0.5, summary="s")
    found, what, _query = check_hypothesis(backend, scope, h)
    return found, what


def test_errors_originating_in_the_service_confirm_an_error_hypothesis(
    backend: TelemetryBackend, scope: Scope
) -> None:
    found, what = verdict(backend, scope, "payments", FaultType.DEPENDENCY_THROTTLING)

    assert found is True and "errors originate in payments (calling DynamoDB)" in what


def test_errors_that_start_in_calls_to_a_callee_confirm_it_rather_than_refute_it(
    backend: TelemetryBackend, scope: Scope
) -> None:
    found, what = verdict(backend, scope, "DynamoDB", FaultType.CERTIFICATE_EXPIRY)

    assert found is True and "start in calls to DynamoDB from payments" in what


def test_a_service_whose_errors_all_come_from_elsewhere_is_refuted(
    backend: TelemetryBackend, scope: Scope
) -> None:
    found, what = verdict(backend, scope, "checkout", FaultType.ERROR_EXCEPTION)

    assert found is False and "they originate in payments" in what


def test_a_deployment_hypothesis_needs_a_change_of_that_service_before_onset(
    backend: TelemetryBackend, scope: Scope
) -> None:
    assert verdict(backend, scope, "frontend", FaultType.BAD_DEPLOYMENT)[0] is True
    assert verdict(backend, scope, "checkout", FaultType.BAD_DEPLOYMENT) == (
        False,
        "no deployment or config change of checkout before onset",
    )


def test_a_fault_type_without_a_targeted_check_stays_untested(
    backend: TelemetryBackend, scope: Scope
) -> None:
    assert verdict(backend, scope, "payments", FaultType.NETWORK_DELAY)[0] is None
