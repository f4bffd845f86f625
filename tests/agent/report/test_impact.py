from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from agent.report import IncidentReport, draft_report
from agent.report.impact import Measurements, _impact_span, incident_began
from agent.report.model import CustomerImpact, TimelinePhase
from evals.simulator.generate import generate_scenario
from evals.simulator.quirks import Quirks
from mcp_server.analysis.models import Hypothesis, InvestigationResult
from mcp_server.backends.base import SpanStatsQuery
from mcp_server.backends.local import LocalBackend
from mcp_server.scenario import Trigger, TriggerKind
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import Alarm, ChangeEvent, ChangeKind, TimeWindow
from tests.agent.report.incident_fixtures import ONSET, RECOVERY, alarm_dump, result_for, write_scenario
from tests.agent.report.otlp_counts import counted
from tests.agent.report.test_fault_sections import _drafted_from


def test_customer_impact_counts_failed_requests_and_duration_from_the_sli(
    single_host_report: IncidentReport,
) -> None:
    impact = single_host_report.customer_impact

    assert impact.entry_service == "frontend"
    assert impact.functions == ["GET /api/visits"]
    assert (impact.start, impact.end) == (ONSET, RECOVERY)
    assert impact.duration_seconds == 20 * 60
    assert (impact.failed_requests, impact.total_requests) == (300, 600)
    assert impact.peak_bad_fraction == 0.5
    assert impact.baseline_bad_fraction == 0.0


def test_impact_is_measured_from_server_spans_when_no_slo_covers_the_service(tmp_path: Path) -> None:
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2").model_copy(update={"slos": []})
    with LocalBackend.from_scenario(write_scenario(tmp_path / "no-slos", slos=False)) as backend:
        report = draft_report(result, backend)

    assert report.customer_impact.failed_requests == 300
    assert report.customer_impact.slo_names == []
    assert any("No SLO covered" in line for line in report.assessment.missing_data)


def test_timeline_puts_human_steps_between_detection_and_recovery(single_host_report: IncidentReport) -> None:
    timeline = single_host_report.timeline
    phases = [e.phase for e in timeline]

    assert phases[0] == TimelinePhase.TRIGGER  # the deployment two minutes before onset
    assert phases.index(TimelinePhase.DETECTION) < phases.index(TimelinePhase.ENGAGEMENT)
    assert phases.index(TimelinePhase.MITIGATION) < phases.index(TimelinePhase.RECOVERY)
    timed = [e for e in timeline if e.time is not None]
    assert [e.time for e in timed] == sorted(e.time for e in timed if e.time)
    assert all(e.evidence for e in timed)
    assert all(e.placeholder for e in timeline if e.time is None)
    alarm = next(e for e in timeline if e.phase == TimelinePhase.DETECTION)
    assert alarm.time == ONSET + timedelta(minutes=7)
    assert "7 min after onset" in alarm.event


def test_response_analysis_measures_time_to_detect_and_to_mitigate_from_the_timeline_events(
    single_host_report: IncidentReport,
) -> None:
    analysis = single_host_report.response_analysis

    assert analysis.time_to_detect_seconds == 420
    assert analysis.time_to_mitigate_seconds == 20 * 60  # impact began 10:30, recovery 10:50
    assert analysis.alarm_fired is True
    texts = " ".join(c.text for c in analysis.claims)
    assert "sooner" in texts and "To halve diagnosis" in texts
    assert "Time to mitigate: 20 min, from impact beginning at 10:30 UTC to recovery at 10:50 UTC" in texts


def test_charts_mark_onset_alarm_change_and_recovery(single_host_report: IncidentReport) -> None:
    charts = {c.id: c for c in single_host_report.charts}

    assert set(charts) == {"sli", "errors", "latency"}
    labels = {m.label for m in charts["errors"].markers}
    assert {"onset", "first alarm", "recovery", "change: visits v2.4.1"} <= labels
    assert all(c.svg.startswith("<svg") for c in charts.values())


def test_a_thin_result_still_gets_detection_from_the_alarm_trigger_and_the_slo_from_the_backend(
    incident_backend: LocalBackend,
) -> None:
    full = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2")
    thin = full.model_copy(update={"detection": None, "alarms": [], "slos": []})

    report = draft_report(thin, incident_backend)

    assert report.response_analysis.time_to_detect_seconds == 420
    assert report.customer_impact.slo_names == ["frontend-availability"]
    alarm = next(e for e in report.timeline if e.phase == TimelinePhase.DETECTION)
    assert alarm.evidence and "frontend-5xx" in report.evidence_by_id()[alarm.evidence[0]].description


def test_a_change_to_a_service_the_investigation_did_not_implicate_is_context_not_trigger(
    incident_backend: LocalBackend,
) -> None:
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2")
    herring = ChangeEvent(
        time=ONSET - timedelta(minutes=10),
        service="customers",
        kind=ChangeKind.DEPLOYMENT,
        description="deploy 1.7",
    )
    result = result.model_copy(update={"changes": [herring]})

    report = draft_report(result, incident_backend)

    entry = next(e for e in report.timeline if "customers" in e.event)
    assert entry.phase == TimelinePhase.CONTEXT
    assert "not implicated" in entry.event


def test_without_slo_status_or_trigger_service_impact_is_measured_on_the_customer_facing_slo(
    incident_backend: LocalBackend,
) -> None:
    question = Trigger(kind=TriggerKind.QUESTION, text="customers report errors")
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2", alarm=False)
    result = result.model_copy(update={"slos": [], "trigger": question})

    report = draft_report(result, incident_backend)

    assert report.customer_impact.slo_names == [
        "frontend-availability"
    ]  # not visits', which only frontend calls
    assert report.customer_impact.entry_service == "frontend"


def test_time_to_detect_ignores_an_earlier_alarm_on_a_service_outside_the_failure(
    incident_backend: LocalBackend,
) -> None:
    noisy = alarm_dump(name="notifications-queue-depth", service="notifications")
    noisy["history"][0]["time"] = (ONSET + timedelta(minutes=1)).isoformat()
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2")
    early = result.detection.model_copy(  # type: ignore[union-attr]
        update={"first_alarm": "notifications-queue-depth", "first_alarm_time": ONSET + timedelta(minutes=1)}
    )
    result = result.model_copy(
        update={"alarms": [*result.alarms, Alarm.model_validate(noisy)], "detection": early}
    )

    report = draft_report(result, incident_backend)

    assert (
        report.response_analysis.time_to_detect_seconds == 420
    )  # frontend-5xx, on the customer-facing service


def test_a_backend_without_the_incidents_telemetry_still_gives_a_draft_that_says_what_is_missing() -> None:
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2")

    with LocalBackend() as empty:
        report = draft_report(result, empty)

    assert report.charts == []
    assert report.customer_impact.failed_requests == 0
    assert any("could not be measured" in line for line in report.assessment.missing_data)
    assert report.five_whys.children  # the tree still comes from the investigation's evidence


def test_how_to_halve_detection_is_measured_as_when_a_burn_rate_alarm_would_have_fired(
    single_host_report: IncidentReport,
) -> None:
    halve = next(c for c in single_host_report.response_analysis.claims if "burn-rate" in c.text)

    # 50% bad against a 0.5% budget: two bad minutes from 10:30, so the rule fires at 10:32, not 10:37
    assert "would have fired at 10:32 UTC, 2 min after onset, 5 min sooner" in halve.text
    assert halve.evidence and single_host_report.evidence_by_id()[halve.evidence[0]].source_query.startswith(
        "sli_buckets("
    )


def test_a_detection_within_two_buckets_of_impact_sets_no_faster_target(
    incident_backend: LocalBackend,
) -> None:
    fast = alarm_dump()
    fast["history"][0]["time"] = (ONSET + timedelta(seconds=20)).isoformat()
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2")
    quick = result.detection.model_copy(  # type: ignore[union-attr]
        update={"first_alarm": "frontend-5xx", "first_alarm_time": ONSET + timedelta(seconds=20)}
    )
    result = result.model_copy(update={"alarms": [Alarm.model_validate(fast)], "detection": quick})

    report = draft_report(result, incident_backend)

    texts = " ".join(c.text for c in report.response_analysis.claims)
    assert report.response_analysis.time_to_detect_seconds == 20
    assert "no faster target" in texts and "halve it" not in texts and "sooner" not in texts


def test_an_alarm_off_the_failure_path_that_fired_before_impact_is_not_credited_with_detection(
    incident_backend: LocalBackend,
) -> None:
    early = alarm_dump(name="notifications-queue-depth", service="notifications")
    early["history"][0]["time"] = (ONSET - timedelta(minutes=2)).isoformat()
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2", alarm=False)
    engine = result.detection.model_copy(  # type: ignore[union-attr]
        update={"first_alarm": "notifications-queue-depth", "first_alarm_time": ONSET - timedelta(minutes=2)}
    )
    result = result.model_copy(update={"alarms": [Alarm.model_validate(early)], "detection": engine})

    report = draft_report(result, incident_backend)

    assert report.response_analysis.time_to_detect_seconds != 0
    assert all("queue-depth" not in c.text for c in report.what_went_well)
    assert all("queue-depth" not in c.text for c in report.response_analysis.claims)


def test_summary_chart_and_customer_rca_state_the_same_failed_share_over_the_impact_window(
    single_host_report: IncidentReport,
) -> None:
    from agent.report.customer_rca import customer_rca

    impact = single_host_report.customer_impact
    assert impact.failed_fraction == 0.5 and impact.entries[0].service == "frontend"
    assert "300 of 600 requests failed (50.0%)" in single_host_report.summary_text()
    sli = next(c for c in single_host_report.charts if c.id == "sli")
    assert "300 of 600 requests failed (50.0%)" in sli.caption
    assert "300 of 600 requests (about 50%)" in customer_rca(single_host_report).what_happened


START = datetime(2026, 3, 25, 9, 0, tzinfo=UTC)
TIMES = [START + timedelta(minutes=i) for i in range(20)]
TOTALS = [59, 42, 34, 42, 48, 32, 60, 32, 37, 42, 51, 47, 48, 47, 51, 48, 43, 50, 44, 34]
# one failure at 09:11 and one at 09:12, then the rate rises from 09:13
BADS = [2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 5, 8, 10, 12, 12, 6, 9]


def test_a_lone_failure_early_in_the_bucket_holding_the_onset_does_not_start_impact_the_rise_does() -> None:
    onset = TIMES[12] + timedelta(seconds=30)  # the 09:12 bucket began before it

    assert _impact_span(TIMES, TOTALS, BADS, onset, 0.019, 60, began=onset) == (13, None)
    assert _impact_span(TIMES, TOTALS, BADS, onset, 0.019, 60, began=None) == (13, None)


def test_a_lone_failure_in_the_bucket_that_ended_as_the_onset_began_does_not_start_impact() -> None:
    # one failure at 09:11, none at 09:12, then a trickle too weak to mark where the rate rose
    bads = [0] * 11 + [1, 0, 1, 2, 1, 2, 1, 1, 1]
    onset = TIMES[12]  # the 09:11 bucket ended as the onset began

    span = _impact_span(TIMES, TOTALS, bads, onset, 0.019, 60, began=onset, base_bad=3, base_total=500)

    assert span is not None and span[0] == 13


def test_significant_failures_in_the_bucket_that_ended_as_the_onset_began_start_impact() -> None:
    bads = [*BADS[:11], 9, *BADS[12:]]  # 09:11 failed 9 of 47: the onset, voted by metrics, is late
    onset = TIMES[12]

    span = _impact_span(TIMES, TOTALS, bads, onset, 0.019, 60, began=onset, base_bad=3, base_total=500)
    earlier = _impact_span(
        TIMES, TOTALS, bads, TIMES[13], 0.019, 60, began=TIMES[13], base_bad=3, base_total=500
    )

    assert span is not None and span[0] == 11
    # two buckets before the onset: never; the lone failure in the bucket before it: background
    assert earlier is not None and earlier[0] == 13


def test_one_failed_request_of_a_quiet_service_after_the_onset_is_not_customer_impact() -> None:
    totals = [2, 1, 3, 2, 2, 1, 2, 3, 1, 2, 2, 1, 2, 1, 2, 2, 1, 3, 2, 2]  # two requests a minute
    one = [0] * 14 + [1] + [0] * 5  # 1 of 2 failed at 09:14, after the onset: 50% for a minute
    three = [0] * 13 + [1, 1, 1] + [0] * 4  # 3 of 5 failed in three minutes: not chance at 0 of 27
    onset = TIMES[12]

    assert _impact_span(TIMES, totals, one, onset, 0.01, 60, began=onset, base_bad=0, base_total=27) is None
    assert _impact_span(TIMES, totals, three, onset, 0.01, 60, began=onset, base_bad=0, base_total=27) == (
        13,
        16,
    )


def _measured(onset: datetime | None, impact_start: datetime) -> Measurements:
    window = TimeWindow(start=TIMES[0], end=TIMES[-1])
    return Measurements(window, 60, onset, CustomerImpact(start=impact_start))


def test_the_minute_holding_an_onset_seen_to_the_second_does_not_move_when_the_incident_began() -> None:
    onset = TIMES[12] + timedelta(seconds=40)

    assert incident_began(_measured(onset, TIMES[12])) == onset


def test_a_bad_minute_that_ended_as_the_onset_began_dates_the_incident_earlier() -> None:
    assert incident_began(_measured(TIMES[12], TIMES[11])) == TIMES[11]
    assert incident_began(_measured(None, TIMES[11])) == TIMES[11]


def test_a_failure_after_the_incident_began_starts_impact_before_the_rate_clearly_rose() -> None:
    onset = TIMES[11] + timedelta(seconds=30)  # the onset estimate: the 09:11 bucket began before it
    began = TIMES[10] + timedelta(seconds=40)  # but the cause's own witnesses moved at 09:10:40

    assert _impact_span(TIMES, TOTALS, BADS, onset, 0.019, 60, began=began) == (11, None)


def _tiny_bad_deployment(tmp_path: Path, quirks: Quirks) -> Path:
    """Issue 16's bad_deployment case (customers, seed 11) at tiny size, with the given quirks."""
    return generate_scenario(
        "bad_deployment", "customers", 11, tmp_path / "scenario", size="tiny", quirks=quirks
    )


@pytest.mark.parametrize(("period", "worst"), [(60, "worst minute"), (300, "worst 5 minutes")])
def test_metrics_only_data_measures_impact_from_the_entry_services_request_counters(
    tmp_path: Path, period: int, worst: str
) -> None:
    data = _tiny_bad_deployment(tmp_path, Quirks(signals="metrics", metric_period_s=period))
    report, markdown, _ = _drafted_from(data, tmp_path)
    impact = report.customer_impact
    spec = yaml.safe_load((data / "scenario.yaml").read_text())
    onset = datetime.fromisoformat(spec["ground_truth"]["onset"])

    assert impact.entry_service == "frontend" and impact.start is not None
    assert abs((impact.start - onset).total_seconds()) <= period  # the counters' own resolution
    until = impact.end or datetime.fromisoformat(spec["window"]["end"])
    assert impact.failed_requests == counted(
        data, "frontend", "http.server.request.errors", impact.start, until
    )
    assert impact.total_requests == counted(
        data, "frontend", "http.server.request.count", impact.start, until
    )
    assert impact.failed_requests > 0
    began = next(e for e in report.timeline if e.phase == TimelinePhase.IMPACT)
    assert began.source == "request counters"
    assert f"| {worst} |" in markdown
    assert "customers of frontend" in markdown
    [said] = [c.text for c in report.summary if "customers of frontend saw failures" in c.text]
    if period == 60:
        assert said.startswith(f"Starting at {impact.start:%H:%M} UTC, ")
    else:  # five-minute counters know which five minutes, not which minute
        until = impact.start + timedelta(seconds=period)
        assert said.startswith(
            f"Starting between {impact.start:%H:%M} and {until:%H:%M} UTC (the data counts 5 minutes at a time), "
        )


def test_impact_that_cannot_be_measured_says_what_was_counted_and_asks_the_team(
    incident_backend: LocalBackend,
) -> None:
    # the incident's onset put after the data: nothing after it is worse than before it
    result = result_for(FaultType.SINGLE_HOST_FAILURE).model_copy(
        update={"onset": RECOVERY + timedelta(minutes=5)}
    )
    report = draft_report(result, incident_backend)
    impact = report.customer_impact

    assert impact.start is None
    [claim] = impact.claims
    assert claim.needs_human_input and claim.evidence
    assert claim.text.startswith("Customer impact could not be measured: ")
    assert re.search(
        r"\d[\d,]* of \d[\d,]* requests to frontend failed \(\d+\.\d%\) from the onset on", claim.text
    )
    assert any("no bucket after onset failed clearly more" in m for m in report.assessment.missing_data)
    # neither failures nor slow responses measured: the title and the first why claim neither
    assert impact.symptom is None and report.title.startswith("Incident on frontend caused by ")
    assert report.five_whys.question == "Why did customers of frontend see a problem?"


def test_without_span_kinds_impact_is_counted_from_the_entry_services_trace_roots(tmp_path: Path) -> None:
    # spans with no kind (and no status: errors only in their HTTP status), and no SLO to count from
    data = _tiny_bad_deployment(tmp_path, Quirks(span_detail="no_status"))
    (data / "slos.yaml").unlink()
    report, _, _ = _drafted_from(data, tmp_path)
    impact = report.customer_impact

    assert impact.entry_service == "frontend" and impact.start is not None
    assert impact.failed_requests > 0 and impact.total_requests > impact.failed_requests
    began = next(e for e in report.timeline if e.phase == TimelinePhase.IMPACT)
    assert began.source == "root spans"


def test_spans_that_never_say_how_a_request_ended_leave_failures_unknown_not_zero(tmp_path: Path) -> None:
    # bare spans (no status, kind, attributes or events), no logs to flag a failure, no SLO:
    # requests are counted, but nothing in the data could show one failing
    data = generate_scenario(
        "cpu_saturation", "visits", 21, tmp_path / "bare", size="tiny", quirks=Quirks(span_detail="bare")
    )
    (data / "slos.yaml").unlink()
    (data / "logs.jsonl").write_text("", encoding="utf-8")
    spec = yaml.safe_load((data / "scenario.yaml").read_text())
    window = TimeWindow.model_validate(spec["window"])
    with LocalBackend.from_scenario(data) as backend:
        result = InvestigationResult(
            window=window,
            trigger=Trigger(kind=TriggerKind.QUESTION, text="Why is the clinic app slow?"),
            onset=datetime.fromisoformat(spec["ground_truth"]["onset"]),
            hypotheses=[
                Hypothesis(
                    rank=1,
                    service="visits",
                    fault_type=FaultType.CPU_SATURATION,
                    confidence=0.9,
                    summary="cpu",
                )
            ],
        )
        report = draft_report(result, backend)
    impact = report.customer_impact
    said = " ".join(c.text for c in [*report.summary, *impact.claims])

    assert impact.entry_service == "frontend" and impact.start is None
    assert "how many failed is unknown" in said and "Whether they also failed is unknown" in said
    assert "did not fail" not in said and not re.search(r"\b0 of [\d,]+ requests", said)
    assert not any(c.title == "Error rate" for c in report.charts)  # a flat 0% nobody recorded
    assert any("record no request outcome" in m for m in report.assessment.missing_data)
    assert not any("no bucket after onset failed clearly more" in m for m in report.assessment.missing_data)


def test_spans_that_carry_only_an_http_status_still_count_failures(tmp_path: Path) -> None:
    data = _tiny_bad_deployment(tmp_path, Quirks(span_detail="no_status"))
    with LocalBackend.from_scenario(data) as backend:
        window = backend.time_range()
        assert window is not None
        buckets = backend.span_stats(SpanStatsQuery(window=window, bucket_seconds=60, group_by=["service"]))

    entry = [b for b in buckets if b.group["service"] == "frontend"]
    assert entry and all(b.with_outcome == b.count for b in entry)  # every HTTP span states its status
