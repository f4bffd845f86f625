from datetime import UTC, date, datetime, timedelta

from evals.report_correctness import CitedDoc, ReportFacts, score_report, summarize_checks
from mcp_server.scenario import GroundTruth, RootCause
from mcp_server.taxonomy import FaultType

ONSET = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)


def truth(**extra: object) -> GroundTruth:
    return GroundTruth(
        root_cause=RootCause(service="visits", fault_type=FaultType.MEMORY_LEAK),
        onset=ONSET,
        customer_facing_service="frontend",
        detected_at=ONSET + timedelta(seconds=300),
        detected_by="frontend-5xx-errors",
        key_metric="process.memory.usage",
        **extra,
    )


def right_facts(**extra: object) -> ReportFacts:
    values: dict[str, object] = {
        "entry_service": "frontend",
        "time_to_detect_seconds": 330.0,
        "past_coes": [CitedDoc(id="coe-1", date=date(2026, 2, 10), fault_types=["memory_leak"])],
        "runbooks": [CitedDoc(id="sop-memory-leak-oom", fault_types=["memory_leak"])],
        "evidence_text": ["process.memory.usage (max) rose from 1.2 GB to 2.07 GB query_metrics"],
    }
    values.update(extra)
    return ReportFacts.model_validate(values)


def test_a_report_that_says_what_the_simulator_knows_passes_every_check():
    score = score_report(right_facts(), truth())

    assert (score.detect, score.customer_service, score.recurrence, score.runbook, score.key_evidence) == (
        True,
        True,
        True,
        True,
        True,
    )
    assert score.ttd_error_seconds == 30.0 and score.recurrence_precision == 1.0 and score.misses == []


def test_time_to_detect_more_than_a_minute_off_the_truth_fails_and_says_both_numbers():
    score = score_report(right_facts(time_to_detect_seconds=20.0), truth())

    assert score.detect is False and score.ttd_error_seconds == 280.0
    assert score.ttd_bias_seconds == -280.0  # short: the report dated the incident too late
    assert any("report 20s" in miss and "truth 300s" in miss for miss in score.misses)


def test_a_report_without_time_to_detect_fails_detection_when_the_truth_has_one():
    assert score_report(right_facts(time_to_detect_seconds=None), truth()).detect is False


def test_a_past_coe_of_another_fault_type_or_a_later_date_is_not_a_recurrence():
    later = CitedDoc(id="coe-later", date=date(2026, 4, 28), fault_types=["memory_leak"])
    other = CitedDoc(id="coe-pool", date=date(2025, 1, 1), fault_types=["connection_pool_exhaustion"])
    good = CitedDoc(id="coe-good", date=date(2025, 1, 1), fault_types=["memory_leak"])

    score = score_report(right_facts(past_coes=[later, other, good]), truth())

    assert score.recurrence is False
    assert score.recurrence_precision == 1 / 3
    assert "coe-later" in score.misses[0] and "coe-pool" in score.misses[0]


def test_a_runbook_for_another_fault_type_or_none_at_all_fails_the_runbook_check():
    wrong = CitedDoc(id="sop-third-party-api-outage", fault_types=["error_exception"])

    assert score_report(right_facts(runbooks=[wrong]), truth()).runbook is False
    assert score_report(right_facts(runbooks=[]), truth()).runbook is False


def test_key_evidence_needs_the_metric_and_one_of_the_key_terms():
    deployment = truth(key_terms=["3.5.3"]).model_copy(update={"key_metric": "http.server.request.errors"})
    errors_only = ["http.server.request.errors rose on customers"]
    both = [*errors_only, "Deploy customers 3.5.3 (rolling, 3 hosts)"]

    assert score_report(right_facts(evidence_text=errors_only), deployment).key_evidence is False
    assert score_report(right_facts(evidence_text=both), deployment).key_evidence is True


def test_a_real_data_set_without_the_new_labels_is_scored_only_on_what_it_labels():
    bare = GroundTruth(root_cause=RootCause(service="visits", fault_type=FaultType.MEMORY_LEAK), onset=ONSET)

    score = score_report(right_facts(), bare)

    assert score.detect is None and score.customer_service is None and score.key_evidence is None
    assert score.recurrence is True and score.runbook is True


def test_no_drafted_report_fails_every_labelled_check_and_a_suite_counts_it():
    failed = score_report(None, truth())

    assert failed.detect is False and failed.recurrence is False and failed.key_evidence is False
    rates = summarize_checks([failed, score_report(right_facts(), truth())], failed_runs=1)
    assert (rates["runbook"].passed, rates["runbook"].n) == (1, 3)
    assert summarize_checks([None, None]) == {}
