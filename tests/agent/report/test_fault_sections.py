"""Fault-specific COE sections, drafted over simulated incidents with the true fault ranked first.

The engine's ranking is not under test here: each case puts the simulator's ground truth at the top,
so the section for that fault type must cite its key telemetry, draw it, and recommend the mitigation
of the runbook written for it.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from agent.report import IncidentReport, draft_report
from agent.report.draft import write_report
from evals.simulator.generate import generate_scenario
from evals.simulator.quirks import Quirks
from mcp_server.analysis.models import Hypothesis, InvestigationResult
from mcp_server.backends.local import LocalBackend
from mcp_server.scenario import Trigger
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import TimeWindow
from tests.agent.report.otlp_counts import counted, points
from tests.shared_knowledge import KNOWLEDGE_DIR
from tests.simulated_reports import SimulatedReports


def _drafted_from(data: Path, tmp: Path) -> tuple[IncidentReport, str, dict[str, object]]:
    """The report drafted on the scenario in ``data`` for its true cause, and its Markdown."""
    spec = yaml.safe_load((data / "scenario.yaml").read_text())
    truth = spec["ground_truth"]["root_cause"]
    with LocalBackend.from_scenario(data) as backend:
        # the scenario's own window, as `sleuth report` reads it (the store's range runs past its end)
        window = TimeWindow.model_validate(spec["window"])
        top = Hypothesis(
            rank=1,
            service=truth["service"],
            fault_type=FaultType(truth["fault_type"]),
            confidence=0.9,
            summary=truth["detail"],
            component=truth.get("availability_zone"),
        )
        result = InvestigationResult(
            window=window,
            trigger=Trigger.model_validate(spec["trigger"]),
            hypotheses=[top],
            changes=backend.list_changes(window),
            affected_services=spec["ground_truth"]["propagation"],
        )
        report = draft_report(result, backend)
    paths = write_report(report, tmp / "out")
    return report, paths.markdown.read_text(encoding="utf-8"), truth


@pytest.fixture(scope="module")
def cases(
    tmp_path_factory: pytest.TempPathFactory, simulated_reports: SimulatedReports
) -> dict[str, tuple[IncidentReport, str, dict[str, object]]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SLEUTH_DATA_DIR", str(KNOWLEDGE_DIR))
        return {
            fault: _drafted_from(
                simulated_reports.scenario(fault, service, seed), tmp_path_factory.mktemp(fault)
            )
            for fault, service, seed in [
                ("bad_deployment", "customers", 11),
                ("memory_leak", "visits", 12),
                ("az_impairment", "appointments", 13),
                ("certificate_expiry", "payments", 14),
                ("dependency_throttling", "visits", 15),
                ("cache_failure", "vets", 16),
            ]
        }


def _section_text(report: IncidentReport) -> str:
    section = report.fault_section
    assert section is not None and section.chart is not None and section.chart.svg.startswith("<svg")
    return " ".join(c.text for c in section.claims)


def test_a_memory_leak_section_cites_memory_climbing_toward_its_limit_and_the_restarts(cases) -> None:  # type: ignore[no-untyped-def]
    report, markdown, _ = cases["memory_leak"]

    text = _section_text(report)
    assert "process.memory.usage on visits climbed from" in text
    assert "of its 2.00 GiB limit" in text
    assert "container restart" in text
    assert report.mitigation is not None and report.mitigation.runbook_id == "sop-memory-leak-oom"
    assert "![Memory of visits against its limit](charts/" in markdown


def test_an_az_impairment_section_splits_errors_by_zone_and_shifts_away_from_the_named_zone(cases) -> None:  # type: ignore[no-untyped-def]
    report, markdown, truth = cases["az_impairment"]
    zone = str(truth["availability_zone"])

    text = _section_text(report)
    assert f"The failures were concentrated in {zone}" in text
    assert report.mitigation is not None
    assert f"zonal shift of appointments' load balancer away from {zone}" in report.mitigation.action
    assert report.mitigation.runbook_id == "sop-az-impairment-zonal-shift"
    assert "out of the load balancer" not in markdown  # not "remove one host"


def test_a_certificate_expiry_section_gives_the_tls_errors_and_the_expiry_time(cases) -> None:  # type: ignore[no-untyped-def]
    report, _, truth = cases["certificate_expiry"]
    expired_at = str(truth["detail"]).rsplit(" at ", 1)[1][11:16]  # HH:MM of the simulated expiry

    text = _section_text(report)
    assert f"expired at {expired_at} UTC" in text
    assert "failed the TLS handshake" in text
    assert report.mitigation is not None and report.mitigation.runbook_id == "sop-certificate-expiry"


def test_a_throttling_section_compares_throttled_requests_with_capacity(cases) -> None:  # type: ignore[no-untyped-def]
    report, _, _ = cases["dependency_throttling"]

    text = _section_text(report)
    assert "were throttled" in text and "of what was provisioned" in text
    assert report.mitigation is not None and report.mitigation.runbook_id == "sop-dynamodb-throttling"


def test_a_cache_section_shows_the_hit_ratio_falling_and_follows_the_cache_runbook(cases) -> None:  # type: ignore[no-untyped-def]
    report, markdown, _ = cases["cache_failure"]

    text = _section_text(report)
    assert "cache hit ratio (cache.hit_ratio) fell from" in text
    assert any("cache.hit_ratio" in e.description for e in report.evidence)
    assert report.mitigation is not None and report.mitigation.runbook_id == "sop-cache-failure"
    assert "Restore the cache vets reads through" in report.mitigation.action
    assert "## The cache in front of vets" in markdown


def test_a_bad_deployment_section_names_the_version_and_the_error_rate_step(cases) -> None:  # type: ignore[no-untyped-def]
    report, markdown, _ = cases["bad_deployment"]

    text = _section_text(report)
    assert "customers went from 5.2.0 to 5.3.0" in text
    assert "error rate stepped from" in text
    assert report.mitigation is not None and "Roll customers back to 5.2.0" in report.mitigation.action
    assert "## The deployment of customers 5.3.0" in markdown


def test_every_fault_section_claim_cites_evidence_the_report_lists(cases) -> None:  # type: ignore[no-untyped-def]
    for report, _, _ in cases.values():
        known = report.evidence_by_id()
        section = report.fault_section
        assert section is not None
        for claim in section.claims:
            assert claim.evidence and all(e in known for e in claim.evidence), claim.text


def test_a_single_host_section_says_when_the_host_is_alone_in_its_zone(
    single_host_report: IncidentReport,
) -> None:
    section = single_host_report.fault_section

    assert section is not None and section.title == "Host visits-2 in us-east-1b"
    text = " ".join(c.text for c in section.claims)
    assert "is the only visits host in us-east-1b" in text  # a zonal impairment would look the same
    assert single_host_report.mitigation is not None
    assert single_host_report.mitigation.action.startswith("Take visits-2 out of visits' load balancer")
    assert any("is the only visits host" in p for p in single_host_report.assessment.placeholders)


@pytest.fixture(scope="module")
def five_minute_throttling(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, IncidentReport]:
    """Throttling seen only through CloudWatch-like five-minute metrics: three points in 15 minutes."""
    tmp = tmp_path_factory.mktemp("five-minute-throttling")
    data = generate_scenario(
        "dependency_throttling",
        "visits",
        15,
        tmp / "scenario",
        size="tiny",
        minutes=15,
        quirks=Quirks(signals="metrics", metric_period_s=300),
    )
    report, _, _ = _drafted_from(data, tmp)
    return data, report


def _claim(report: IncidentReport, words: str) -> str:
    assert report.fault_section is not None
    return next(c.text for c in report.fault_section.claims if words in c.text)


def test_a_throttling_section_counts_the_five_minute_period_that_closes_the_window(
    five_minute_throttling: tuple[Path, IncidentReport],
) -> None:
    data, report = five_minute_throttling

    claim = _claim(report, "were throttled")
    found = re.search(
        r"([\d,]+) requests from visits were throttled \((\S+)\).* against ([\d,]+) before", claim
    )
    assert found is not None, claim
    during, metric, before = int(found[1].replace(",", "")), found[2], int(found[3].replace(",", ""))
    assert during + before == counted(data, "visits", metric) > 0


def test_consumed_capacity_of_five_minute_points_is_a_rate_over_the_five_minutes_each_counted(
    five_minute_throttling: tuple[Path, IncidentReport],
) -> None:
    data, report = five_minute_throttling
    end = datetime.fromisoformat(yaml.safe_load((data / "scenario.yaml").read_text())["window"]["end"])

    claim = _claim(report, "Consumed capacity")
    found = re.search(r"peaked at (\d+)% of what was provisioned \(([\d.]+) against ([\d.]+)\)", claim)
    assert found is not None, claim
    consumed = points(data, "visits", "aws.dynamodb.consumed_read_capacity")
    per_second = max(v / (stamp - began).total_seconds() for began, stamp, v in consumed if stamp <= end)
    provisioned = max(v for _, _, v in points(data, "visits", "aws.dynamodb.provisioned_read_capacity"))
    assert float(found[2]) == pytest.approx(per_second, abs=0.1)
    assert float(found[3]) == provisioned
    assert int(found[1]) == round(100 * per_second / provisioned)
