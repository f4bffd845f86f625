from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.report.detection import is_noise
from mcp_server.telemetry import Alarm, AlarmState, AlarmTransition

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
