from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.report import draft_report
from agent.report.detection import is_noise
from mcp_server.analysis.models import InvestigationResult
from mcp_server.backends.local import LocalBackend
from mcp_server.scenario import Trigger, TriggerKind
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import Alarm, AlarmState, AlarmTransition
from tests.agent.report.incident_fixtures import ONSET as FIXTURE_ONSET
from tests.agent.report.incident_fixtures import alarm_dump, result_for

ONSET = datetime(2026, 3, 11, 10, 12, tzinfo=UTC)


def _alarm(*flips: tuple[int, AlarmState]) -> Alarm:
    """An alarm whose history enters each state ``minutes`` after onset (negative: before)."""
    history = []
    state = AlarmState.OK
    for minutes, new in flips:
        history.append(
            AlarmTransition(time=ONSET + timedelta(minutes=minutes), old_state=state, new_state=new)
        )
        state = new
    return Alarm(name="a", metric="m", threshold=1.0, state=state, history=history)


def test_an_alarm_that_first_fires_after_onset_can_detect_the_incident() -> None:
    assert not is_noise(_alarm((3, AlarmState.ALARM)), ONSET)


def test_an_alarm_already_in_alarm_before_onset_is_noise() -> None:
    assert is_noise(_alarm((-30, AlarmState.ALARM), (1, AlarmState.OK), (2, AlarmState.ALARM)), ONSET)


def test_an_alarm_that_flapped_in_the_hour_before_onset_is_noise() -> None:
    alarm = _alarm(
        (-40, AlarmState.ALARM),
        (-38, AlarmState.OK),
        (-20, AlarmState.ALARM),
        (-18, AlarmState.OK),
        (0, AlarmState.ALARM),
    )
    assert is_noise(alarm, ONSET)


def test_an_alarm_that_fired_long_before_the_incident_still_counts() -> None:
    assert not is_noise(_alarm((-300, AlarmState.ALARM), (-290, AlarmState.OK), (2, AlarmState.ALARM)), ONSET)


def _burn_alarm(*fired_minutes: int, recovered_minutes: tuple[int, ...] = ()) -> Alarm:
    """frontend's availability burn alert, paging at each of ``fired_minutes`` after onset."""
    flips = sorted(
        [(m, AlarmState.ALARM) for m in fired_minutes] + [(m, AlarmState.OK) for m in recovered_minutes]
    )
    history, state = [], AlarmState.OK
    for minutes, new in flips:
        at = FIXTURE_ONSET + timedelta(minutes=minutes)
        history.append(AlarmTransition(time=at, old_state=state, new_state=new))
        state = new
    return Alarm(
        name="frontend-availability-burn-rate",
        service="frontend",
        metric="slo.burn_rate",
        statistic="max",
        threshold=6.0,
        state=state,
        history=history,
        slo="frontend-availability",
    )


def _asked(alarms: list[Alarm]) -> InvestigationResult:
    result = result_for(FaultType.SINGLE_HOST_FAILURE, component="visits-2", alarm=False)
    question = Trigger(kind=TriggerKind.QUESTION, text="customers report errors")
    return result.model_copy(update={"trigger": question, "alarms": alarms, "detection": None})


def test_without_a_threshold_alarm_the_recorded_burn_alert_on_the_customer_facing_service_detects(
    incident_backend: LocalBackend,
) -> None:
    report = draft_report(_asked([_burn_alarm(3)]), incident_backend)

    assert report.response_analysis.time_to_detect_seconds == 180
    assert any("frontend-availability-burn-rate" in c.text for c in report.response_analysis.claims)


def test_the_first_page_on_the_customer_facing_service_detects_whether_burn_alert_or_threshold_alarm(
    incident_backend: LocalBackend,
) -> None:
    threshold = Alarm.model_validate(alarm_dump())  # frontend-5xx, 7 minutes after onset

    burn_first = draft_report(_asked([_burn_alarm(3), threshold]), incident_backend)
    threshold_first = draft_report(_asked([_burn_alarm(9), threshold]), incident_backend)

    assert burn_first.response_analysis.time_to_detect_seconds == 180
    assert threshold_first.response_analysis.time_to_detect_seconds == 420


def test_a_burn_alert_that_paged_for_an_earlier_episode_and_recovered_pages_again_for_this_one(
    incident_backend: LocalBackend,
) -> None:
    burn = _burn_alarm(-6, 4, recovered_minutes=(-5,))  # firing when the onset's slack begins

    report = draft_report(_asked([burn]), incident_backend)

    assert report.response_analysis.time_to_detect_seconds == 240


def test_a_slow_burn_alert_is_explained_by_its_budget_rule_and_tightened_with_a_shorter_window(
    incident_backend: LocalBackend,
) -> None:
    report = draft_report(_asked([_burn_alarm(9)]), incident_backend)

    why = next(
        n for n in report.five_whys.walk() if n.question.startswith("Why did frontend-availability-burn")
    )
    claims = " ".join(c.text for c in report.response_analysis.claims)
    actions = " ".join(a.title for a in report.action_items)
    assert "burn-rate alert" in why.answer and "TBD" not in why.answer
    assert "shorter-window burn-rate rule" in actions
    assert "evaluation periods" not in claims + actions
