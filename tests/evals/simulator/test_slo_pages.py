"""When a simulated SLO's burn alert pages: on a fresh burn, never again while it is still firing."""

from __future__ import annotations

from evals.simulator.alarms import MinuteCounts, slo_breach_time
from mcp_server.telemetry import BurnAlert, SliKind, SloDefinition

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
