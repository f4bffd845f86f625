"""SLO evaluation: attainment, error budget and burn rate over a window.

The backend counts good and total events per bucket (``sli_buckets``); everything here is
arithmetic on those counts, so it behaves the same on every backend. The window plays the part
of the SLO's compliance interval: for a recorded incident that is the incident's time range, for
live data whatever window the caller asks about.

Definitions (Google SRE workbook):

- attainment = good / total
- burn rate = (bad / total) / (1 - goal): 1.0 spends the budget exactly over the interval
- error budget remaining = 1 - bad / ((1 - goal) * total): 1.0 untouched, 0 spent, negative overspent
- breaching: attainment below goal over the window
- burn alert: the page an SLO's declared ``burn_alert`` sends when the bad fraction over its short
  window exceeds its multiple of the budget
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from mcp_server.backends.base import SliBucket, TelemetryBackend
from mcp_server.telemetry import SloDefinition, SloStatus, TimeWindow

DEFAULT_BUCKET_SECONDS = 60


def status_from_buckets(slo: SloDefinition, window: TimeWindow, buckets: Sequence[SliBucket]) -> SloStatus:
    """An :class:`SloStatus` from per-bucket good/total counts (pure)."""
    total = sum(b.total for b in buckets)
    good = sum(b.good for b in buckets)
    if total == 0:
        return SloStatus(
            definition=slo,
            window=window,
            total_events=0,
            good_events=0,
            attainment=None,
            error_budget_remaining=None,
            burn_rate=None,
            breaching=False,
        )
    attainment = good / total
    allowed_bad_fraction = 1.0 - slo.goal
    bad_fraction = (total - good) / total
    burn_rate = bad_fraction / allowed_bad_fraction
    return SloStatus(
        definition=slo,
        window=window,
        total_events=total,
        good_events=good,
        attainment=attainment,
        error_budget_remaining=1.0 - burn_rate,
        burn_rate=burn_rate,
        breaching=attainment < slo.goal,
    )


def evaluate_slo(
    backend: TelemetryBackend,
    slo: SloDefinition,
    window: TimeWindow,
    bucket_seconds: int = DEFAULT_BUCKET_SECONDS,
) -> SloStatus:
    """Evaluate one SLO over ``window`` on ``backend``."""
    return status_from_buckets(slo, window, backend.sli_buckets(slo, window, bucket_seconds))


def evaluate_slos(
    backend: TelemetryBackend,
    window: TimeWindow,
    service: str | None = None,
    bucket_seconds: int = DEFAULT_BUCKET_SECONDS,
) -> list[SloStatus]:
    """Every SLO the backend defines (optionally one service's), worst first.

    Order: breaching before healthy, then by error budget remaining (least first); SLOs without
    events last.
    """
    statuses = [
        evaluate_slo(backend, slo, window, bucket_seconds)
        for slo in backend.list_slo_definitions()
        if service is None or slo.service == service
    ]
    return sorted(statuses, key=severity_key)


def severity_key(status: SloStatus) -> tuple[int, float, str]:
    """Sort key putting the most urgent SLO first."""
    if status.error_budget_remaining is None:
        return (2, 0.0, status.definition.name)
    return (0 if status.breaching else 1, status.error_budget_remaining, status.definition.name)


def bucket_attainment(slo: SloDefinition, bucket: SliBucket) -> float | None:
    """The attainment within one bucket (None when it holds no events)."""
    del slo  # same formula for every SLI kind; kept for a stable signature
    return bucket.good / bucket.total if bucket.total else None


def first_breach_time(slo: SloDefinition, buckets: Sequence[SliBucket]) -> datetime | None:
    """When the running attainment over the buckets first dropped below the goal.

    This is the moment a dashboard of the SLO over the window would have turned red; None when
    it never did.
    """
    total = good = 0
    for bucket in sorted(buckets, key=lambda b: b.bucket_start):
        total += bucket.total
        good += bucket.good
        if total and good / total < slo.goal:
            return bucket.bucket_start
    return None


def first_bad_bucket(
    slo: SloDefinition, buckets: Sequence[SliBucket], min_events: int = 1
) -> datetime | None:
    """The first bucket whose own attainment is below the goal: where the SLI started to fail."""
    for bucket in sorted(buckets, key=lambda b: b.bucket_start):
        if bucket.total >= min_events and bucket.good / bucket.total < slo.goal:
            return bucket.bucket_start
    return None


def burn_alert_time(
    slo: SloDefinition,
    buckets: Sequence[SliBucket],
    since: datetime,
    bucket_seconds: int = DEFAULT_BUCKET_SECONDS,
) -> datetime | None:
    """When the SLO's declared burn alert paged, at or after ``since``: the end of the first bucket whose
    trailing window burns the budget over the alert's rate, when the bucket before did not already
    (an alert firing since earlier is not this page). None without a declared alert or a page."""
    page = slo.burn_alert
    if page is None:
        return None
    ordered = sorted(buckets, key=lambda b: b.bucket_start)
    span = timedelta(minutes=page.window_minutes)
    allowed = page.rate * (1.0 - slo.goal)
    burning_before = False
    for i, bucket in enumerate(ordered):  # buckets without events are absent: the window is by time
        recent = [b for b in ordered[: i + 1] if b.bucket_start > bucket.bucket_start - span]
        total = sum(b.total for b in recent)
        burning = total >= page.min_events and (total - sum(b.good for b in recent)) / total > allowed
        if burning and not burning_before and bucket.bucket_start >= since:
            return bucket.bucket_start + timedelta(seconds=bucket_seconds)
        burning_before = burning
    return None
