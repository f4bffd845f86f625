from __future__ import annotations

from pathlib import Path

from agent.report.past_coes import runbook_for
from mcp_server.taxonomy import FaultType

RUNBOOKS = {
    # a queue's runbook names its consumer first and its producer too; exceptions are one of the
    # causes of a backlog it lists, not what it is about
    "queue-backlog": ("[consumer, producer]", "[downstream_timeout_retry_storm, error_exception]"),
    "edge-5xx": ("[edge]", "[error_exception, bad_deployment]"),
    "rollback": ("[]", "[bad_deployment, error_exception]"),
    "throttling": ("[store-a]", "[dependency_throttling]"),
    "latency-burn": ("[]", "[network_delay, dependency_throttling]"),
}


def _runbooks(root: Path) -> Path:
    for name, (services, faults) in RUNBOOKS.items():
        (root / f"{name}.md").write_text(
            f"---\nid: sop-{name}\ntitle: {name}\nservices: {services}\nsymptoms: [something]\n"
            f"fault_types: {faults}\nlast_reviewed: 2026-10-01\nowner: sre\n---\n\n# {name}\n\nSteps.\n",
            encoding="utf-8",
        )
    return root


def _chosen(fault: FaultType, service: str, root: Path) -> str | None:
    sop = runbook_for(fault, service, _runbooks(root))
    return sop.id if sop is not None else None


def test_an_exception_in_a_queue_producer_gets_the_runbook_about_exceptions_not_the_queue_backlog_one(
    tmp_path: Path,
) -> None:
    assert _chosen(FaultType.ERROR_EXCEPTION, "producer", tmp_path) == "sop-edge-5xx"


def test_a_runbook_about_the_service_itself_comes_first(tmp_path: Path) -> None:
    assert _chosen(FaultType.ERROR_EXCEPTION, "consumer", tmp_path) == "sop-queue-backlog"


def test_a_runbook_written_for_the_fault_beats_a_general_one_that_lists_it_among_others(
    tmp_path: Path,
) -> None:
    assert _chosen(FaultType.DEPENDENCY_THROTTLING, "store-b", tmp_path) == "sop-throttling"
    assert _chosen(FaultType.BAD_DEPLOYMENT, "edge", tmp_path) == "sop-edge-5xx"
    assert _chosen(FaultType.BAD_DEPLOYMENT, "anything", tmp_path) == "sop-rollback"


def test_a_fault_that_no_runbook_lists_gets_none(tmp_path: Path) -> None:
    assert _chosen(FaultType.MEMORY_LEAK, "producer", tmp_path) is None
