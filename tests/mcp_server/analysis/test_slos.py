from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mcp_server.analysis.slos import (
    burn_alert_time,
    evaluate_slos,
    first_bad_bucket,
    first_breach_time,
    severity_key,
    status_from_buckets,
)
from mcp_server.backends.base import SliBucket
from mcp_server.telemetry import BurnAlert, SliKind, SloDefinition, TimeWindow

T0 = datetime(2026, 1, 1, 10, tzinfo=UTC)
WINDOW = TimeWindow(start=T0, end=T0 + timedelta(hours=1))
AVAILABILITY = SloDefinition(
    name="checkout-availability", service="checkout", sli=SliKind.AVAILABILITY, goal=0.99
)


def _buckets(*counts: tuple[int, int]) -> list[SliBucket]:
    return [
        SliBucket(bucket_start=T0 + timedelta(minutes=i), total=total, good=good)
        for i, (total, good) in enumerate(counts)
    ]


def test_attainment_budget_and_burn_rate_follow_the_sre_workbook_definitions() -> None:
    status = status_from_buckets(AVAILABILITY, WINDOW, _buckets((500, 500), (500, 480)))

    assert status.total_events == 1000
    assert status.good_events == 980
    assert status.attainment == pytest.approx(0.98)
    assert status.burn_rate == pytest.approx(2.0)  # 2% bad against 1% allowed
    assert status.error_budget_remaining == pytest.approx(-1.0)  # spent twice over
    assert status.breaching


def test_an_slo_within_budget_is_not_breaching_and_keeps_part_of_its_budget() -> None:
    status = status_from_buckets(AVAILABILITY, WINDOW, _buckets((1000, 996)))

    assert not status.breaching
    assert status.burn_rate == pytest.approx(0.4)
    assert status.error_budget_remaining == pytest.approx(0.6)


def test_an_slo_without_events_has_no_attainment_and_is_not_breaching() -> None:
    status = status_from_buckets(AVAILABILITY, WINDOW, [])

    assert status.attainment is None
    assert status.burn_rate is None
    assert status.error_budget_remaining is None
    assert not status.breaching


def test_breach_time_is_when_the_running_attainment_first_drops_below_goal() -> None:
    buckets = _buckets((1000, 1000), (1000, 980), (100, 0), (1000, 1000))

    assert first_bad_bucket(AVAILABILITY, buckets) == T0 + timedelta(minutes=1)
    assert first_breach_time(AVAILABILITY, buckets) == T0 + timedelta(minutes=2)
    assert first_breach_time(AVAILABILITY, _buckets((1000, 1000))) is None


class _SliOnlyBackend:
    """Just the two calls SLO evaluation makes, answering from fixed counts."""

    def __init__(self, counts: dict[str, list[SliBucket]], slos: list[SloDefinition]) -> None:
        self.counts = counts
        self.slos = slos

    def list_slo_definitions(self) -> list[SloDefinition]:
        return self.slos

    def sli_buckets(
        self, slo: SloDefinition, window: TimeWindow, bucket_seconds: int = 60
    ) -> list[SliBucket]:
        return self.counts.get(slo.name, [])


def test_slos_are_ordered_breaching_first_then_by_budget_left_with_empty_ones_last() -> None:
    latency = SloDefinition(
        name="cart-latency", service="cart", sli=SliKind.LATENCY, goal=0.95, threshold_ms=300
    )
    quiet = SloDefinition(name="admin-availability", service="admin", sli=SliKind.AVAILABILITY, goal=0.9)
    healthy = SloDefinition(name="search-availability", service="search", sli=SliKind.AVAILABILITY, goal=0.99)
    backend = _SliOnlyBackend(
        {
            "checkout-availability": _buckets((100, 90)),
            "cart-latency": _buckets((100, 99)),
            "search-availability": _buckets((100, 100)),
        },
        [quiet, healthy, latency, AVAILABILITY],
    )

    statuses = evaluate_slos(backend, WINDOW)  # type: ignore[arg-type]

    assert [s.definition.name for s in statuses] == [
        "checkout-availability",
        "cart-latency",
        "search-availability",
        "admin-availability",
    ]
    assert severity_key(statuses[0]) < severity_key(statuses[1])
    assert [s.definition.name for s in evaluate_slos(backend, WINDOW, service="cart")] == ["cart-latency"]  # type: ignore[arg-type]


PAGED = AVAILABILITY.model_copy(update={"burn_alert": BurnAlert(rate=6.0, window_minutes=5, min_events=20)})


def test_a_declared_burn_alert_pages_at_the_end_of_the_first_minute_its_window_burns_too_fast() -> None:
    # budget 1%: the alert wants more than 6% bad over five minutes; minute 3 takes the window to 7%
    buckets = _buckets((100, 100), (100, 100), (100, 85), (100, 80), (100, 100), (100, 100))

    assert burn_alert_time(PAGED, buckets, since=T0) == T0 + timedelta(minutes=4)


def test_no_burn_alert_is_claimed_for_an_slo_that_declares_none() -> None:
    buckets = _buckets((100, 0), (100, 0), (100, 0))

    assert burn_alert_time(AVAILABILITY, buckets, since=T0) is None


def test_an_alert_already_burning_before_the_incident_is_not_its_page() -> None:
    buckets = _buckets((100, 50), (100, 50), (100, 50), (100, 50))

    assert burn_alert_time(PAGED, buckets, since=T0 + timedelta(minutes=2)) is None
    assert burn_alert_time(PAGED, buckets, since=T0) == T0 + timedelta(minutes=1)


def test_too_few_events_do_not_page() -> None:
    assert burn_alert_time(PAGED, _buckets((5, 0), (5, 0), (5, 0)), since=T0) is None
