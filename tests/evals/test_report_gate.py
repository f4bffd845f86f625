"""The CI gate on report correctness (issue 16): COE drafts must be right, not just complete.

One tiny scenario per fault type of the built-in suite (its first classic plan, shrunk to the
``tiny`` size), the full offline investigation with its drafted report, two worker processes. Each
report is checked against the simulator's truth (evals/report_correctness.py): time to detect
within 60 s, the customer-facing service, recurrence precision, the runbook, the key metric cited.

The floors are what the report side measures today, not where it must end: issue 16 is done when
every check passes on every report. Raise a floor whenever the measured rate rises.
"""

from dataclasses import replace
from pathlib import Path

import pytest

from evals.agent_adapter import FullInvestigation, knowledge_store
from evals.harness import run_suite, sentence_embedder
from evals.methods import available
from evals.render import report_misses, write_json
from evals.simulator import write_scenario
from tests.shared_knowledge import KNOWLEDGE_DIR

# check -> (reports that must pass, reports the truth labels), measured 2026-12-05 (offline reasoner)
FLOORS = {
    # 10 of 13, measured on a clean checkout (an 11 once read here did not reproduce: CI and two
    # fresh runs read 10). Still late: the cache emptying minutes before its symptoms (a separate
    # episode of votes), the exception's ramp, and the wrong answers (404s are not errors on the
    # answering side, so its own series carry no witness; docs/evals.md)
    "detect": (10, 13),
    "customer_service": (14, 14),
    "recurrence": (14, 14),
    "runbook": (14, 14),
    # 14 of 14 on a clean checkout (2026-12-06), with and without the summary's error signature
    "key_evidence": (14, 14),
}

BUILD = Path(__file__).resolve().parents[2] / "build" / "eval"

pytestmark = pytest.mark.skipif(
    not available(FullInvestigation()), reason="the agent graph is not in this checkout"
)


def gate_plans() -> list:
    suite = pytest.importorskip("evals.scenarios.suite")
    seen: set[str] = set()
    plans = []
    for plan in suite.suite_plans():
        fault = plan.faults[0].fault
        if len(plan.faults) == 1 and "hardened" not in plan.tags and fault not in seen:
            seen.add(fault)
            plans.append(replace(plan, size="tiny", minutes=None))
    return plans


@pytest.mark.timeout(
    900
)  # about 80 s of CPU on two cores; the margin is for a machine shared with other jobs
def test_drafted_reports_stay_above_their_correctness_floors(tmp_path, monkeypatch):
    # the knowledge store is embedded once per checkout, in the git-ignored build directory
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(KNOWLEDGE_DIR))
    directories = [write_scenario(plan, tmp_path / plan.name) for plan in gate_plans()]
    knowledge_store.cache_clear()
    sentence_embedder.cache_clear()
    try:
        run = run_suite(
            directories, [FullInvestigation()], workers=2, suite="report gate", command="pytest gate"
        )
    finally:
        knowledge_store.cache_clear()
        sentence_embedder.cache_clear()
    write_json(run, BUILD / "report-gate.json")
    summary = run.summaries["sleuth"]
    misses = "\n".join(report_misses(run))
    assert summary.failures == 0, misses
    measured = {check: (rate.passed, rate.n) for check, rate in summary.report_checks.items()}
    print("report correctness (passed, scored):", measured)
    for check, (floor, labelled) in FLOORS.items():
        passed, scored = measured[check]
        assert scored == labelled, f"{check} scored on {scored} reports, expected {labelled}"
        assert passed >= floor, f"{check} {passed}/{scored} < {floor}/{labelled}\n{misses}"
