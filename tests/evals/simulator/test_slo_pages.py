"""When a simulated SLO's burn alert pages (on a fresh burn, never again while it is still firing), and
the alert history it records."""

from __future__ import annotations

from evals.simulator.alarms import MinuteCounts, burn_alert, slo_breach_time
from mcp_server.telemetry import AlarmState, BurnAlert, SliKind, SloDefinition, from_nanos

SLO = SloDefinition(
    name="frontend-availability",
    service="frontend",
    sli=SliKind.AVAILABILITY,
    goal=0.995,
    burn_alert=BurnAlert(rate=6.0, window_minutes=5, min_events=20),
)


def _minutes(failing: set[int], last: int = 20) -> dict[int, MinuteCounts]:
    return {
        m: MinuteCounts(total=100, errors=20 if m in failing else 0, durations=[]) for m in range(last + 1)
    }


def test_a_burn_that_starts_after_the_onset_pages_in_its_first_minute():
    assert slo_breach_time(SLO, _minutes({12, 13, 14}), from_minute=10) == 12


def test_an_alert_still_firing_from_an_earlier_episode_pages_only_when_it_burns_afresh():
    # a previous incident failed minutes 2-5; its errors stay in the five-minute window until minute 9
    earlier_and_now = _minutes({2, 3, 4, 5, 14, 15})

    assert slo_breach_time(SLO, earlier_and_now, from_minute=7) == 14
    assert slo_breach_time(SLO, _minutes({2, 3, 4, 5}), from_minute=7) is None


def test_the_burn_alert_history_records_each_page_and_its_recovery_at_the_minutes_end():
    start_ns = 1_700_000_000 * 1_000_000_000
    alarm = burn_alert(SLO, _minutes({2, 3, 4, 5, 14, 15}), start_ns, minutes=21)

    fired = [t for t in alarm.history if t.new_state is AlarmState.ALARM]
    assert alarm.slo == "frontend-availability" and alarm.service == "frontend"
    assert [t.time for t in fired] == [from_nanos(start_ns + (m + 1) * 60 * 1_000_000_000) for m in (2, 14)]
    assert [t.new_state for t in alarm.history] == [
        AlarmState.OK,
        AlarmState.ALARM,
        AlarmState.OK,
        AlarmState.ALARM,
        AlarmState.OK,
    ]
