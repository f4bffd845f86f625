"""Evaluate an alarm definition over its metric, as CloudWatch does, to derive state and history.

Used by the local store when an alarm is defined without recorded history: the state follows
from the data, never from a label.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from mcp_server.telemetry import Alarm, AlarmState, AlarmTransition, MetricSeries

_COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}


def evaluate_alarm(alarm: Alarm, series: MetricSeries | None) -> Alarm:
    """Return the alarm with ``state``, ``state_reason`` and ``history`` derived from ``series``.

    The alarm goes to ALARM when the last ``evaluation_periods`` datapoints all breach, and back
    to OK when the latest datapoint does not breach.
    """
    compare = _COMPARATORS.get(alarm.comparison)
    if compare is None:
        raise ValueError(f"alarm {alarm.name!r}: unknown comparison {alarm.comparison!r}")
    if series is None or not series.points:
        return alarm.model_copy(
            update={"state": AlarmState.INSUFFICIENT_DATA, "state_reason": "no datapoints for the metric"}
        )
    state = AlarmState.INSUFFICIENT_DATA
    reason = ""
    history: list[AlarmTransition] = []
    streak = 0
    for point in series.points:
        breaching = compare(point.value, alarm.threshold)
        streak = streak + 1 if breaching else 0
        new_state = AlarmState.ALARM if streak >= alarm.evaluation_periods else AlarmState.OK
        if new_state != state:
            reason = (
                f"Threshold crossed: {alarm.evaluation_periods} datapoint(s) "
                f"{'breaching' if new_state == AlarmState.ALARM else 'not breaching'} "
                f"({alarm.statistic} {point.value:.4g} {alarm.comparison} {alarm.threshold:g} "
                f"is {breaching}) at {point.time.isoformat()}"
            )
            history.append(
                AlarmTransition(time=point.time, old_state=state, new_state=new_state, reason=reason)
            )
            state = new_state
    return alarm.model_copy(update={"state": state, "state_reason": reason, "history": history})
