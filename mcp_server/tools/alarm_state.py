"""An alarm's state over a time window, from its state history (windowed alarm evaluation).

``list_alarms`` gives each alarm's state *now* (the end of a recorded incident); a question about
an earlier window needs the state *then*: an alarm that fired after the window must not count.
"""

from __future__ import annotations

from datetime import datetime

from mcp_server.telemetry import Alarm, AlarmState, TimeWindow


def state_at(alarm: Alarm, moment: datetime) -> AlarmState | None:
    """The alarm's state just before ``moment`` (None when its history does not reach back)."""
    before = [t for t in alarm.history if t.time < moment]
    if before:
        return max(before, key=lambda t: t.time).new_state
    if alarm.history:
        return min(alarm.history, key=lambda t: t.time).old_state
    return None


def fired_in(alarm: Alarm, window: TimeWindow) -> bool:
    """Whether the alarm was in ALARM at any moment of ``window``.

    With a history: in ALARM when the window began, or went to ALARM inside it. Without one (a
    live backend that read no history for it): its current state, when it changed before the
    window ended.
    """
    if alarm.history:
        if state_at(alarm, window.start) == AlarmState.ALARM:
            return True
        return any(
            t.new_state == AlarmState.ALARM and window.start <= t.time < window.end for t in alarm.history
        )
    return alarm.state == AlarmState.ALARM
