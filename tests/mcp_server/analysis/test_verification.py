"""Targeted checks of one hypothesis, on the payments-throttling incident (DynamoDB throttles
payments from minute 15; a frontend deployment at minute 5 is a red herring)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_server.analysis.engine import scope as engine_scope
from mcp_server.analysis.models import EvidenceKind, Hypothesis
from mcp_server.analysis.signals import Scope
from mcp_server.analysis.verification import check_hypothesis, look_in_logs
from mcp_server.backends.base import TelemetryBackend
from mcp_server.backends.local import LocalBackend
from mcp_server.scenario import load_scenario_spec
from mcp_server.taxonomy import FaultType
from tests.agent.scenario_builder import write_scenario


@pytest.fixture(scope="module")
def incident(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_scenario(tmp_path_factory.mktemp("verification") / "payments-throttling")


@pytest.fixture(scope="module")
def backend(incident: Path) -> Iterator[LocalBackend]:
    with LocalBackend.from_scenario(incident) as store:
        yield store


@pytest.fixture(scope="module")
def scope(backend: LocalBackend, incident: Path) -> Scope:
    return engine_scope(backend, load_scenario_spec(incident))


def verdict(
    backend: TelemetryBackend, scope: Scope, service: str, fault: FaultType
) -> tuple[bool | None, str]:
    h = Hypothesis(rank=1, service=service, fault_type=fault, confidence=0.5, summary="s")
    check = check_hypothesis(backend, scope, h)
    return check.verdict, check.finding


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


def test_a_persons_request_to_look_at_logs_is_one_evidence_item_quoting_the_first_line(
    backend: TelemetryBackend, scope: Scope
) -> None:
    found = look_in_logs(backend, scope, "payments", "Throughput")

    assert len(found) == 1 and found[0].kind is EvidenceKind.NOTE and found[0].service == "payments"
    assert found[0].description.startswith(
        f"{int(found[0].value or 0)} log lines in payments matching 'Throughput'"
    )
    assert (found[0].value or 0) > 0 and "; first: " in found[0].description


def test_a_deployment_before_the_incident_confirms_it_though_one_signal_of_the_service_moved_earlier(
    backend: TelemetryBackend, scope: Scope
) -> None:
    early = scope.window.start + (scope.onset - scope.window.start) / 10  # before the minute-5 deployment
    h = Hypothesis(
        rank=1,
        service="frontend",
        fault_type=FaultType.BAD_DEPLOYMENT,
        confidence=0.5,
        summary="s",
        onset=early,
    )

    check = check_hypothesis(backend, scope, h)

    assert check.verdict is True and "precedes onset" in check.finding
