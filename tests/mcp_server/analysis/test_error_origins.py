"""Which baseline new error origins are weighed against, and when failures ran in before the onset."""

from __future__ import annotations

from datetime import timedelta

from mcp_server.analysis.error_origins import onset_guard, run_in
from mcp_server.backends.base import ErrorOrigin
from tests.mcp_server.analysis.scopes import ONSET, T0, twenty_minutes


def test_failures_first_seen_in_the_bucket_just_before_the_onset_belong_to_the_incident():
    scope = twenty_minutes()

    # the first failures of an onset found a bucket late fall there; as "normal" they would hide the rise
    assert onset_guard(scope) == ONSET - timedelta(seconds=scope.bucket_seconds)


def test_a_baseline_too_short_to_spare_a_bucket_keeps_it():
    scope = twenty_minutes()
    short = scope.baseline.model_copy(update={"start": ONSET - timedelta(minutes=2)})

    assert onset_guard(scope.model_copy(update={"baseline": short})) == ONSET


def _origin(count: int, first_minutes: float, last_minutes: float | None = None) -> ErrorOrigin:
    """``count`` failures of one origin from ``first_minutes`` to ``last_minutes`` after T0."""
    return ErrorOrigin(
        service="billing",
        operation="POST /pay",
        count=count,
        first_seen=T0 + timedelta(minutes=first_minutes),
        last_seen=T0 + timedelta(minutes=first_minutes if last_minutes is None else last_minutes),
        sample_trace_id="0af7651916cd43dd8448eb211c80319c",
    )


# the incident: from the onset (minute 10) to minute 20, failing twice a minute from its first minute
INCIDENT = _origin(20, 10.4, 19.9)


def test_one_failure_after_a_long_silence_just_before_the_onset_is_its_run_in():
    assert run_in(_origin(1, 9.2), INCIDENT, twenty_minutes())


def test_a_chronic_failure_is_not_silent_long_enough_to_have_run_in():
    assert not run_in(_origin(6, 0.5, 9.5), INCIDENT, twenty_minutes())


def test_a_burst_that_paused_minutes_before_the_onset_is_not_its_run_in():
    # a batch run failing ten spans at once from minute 3: silent before, but paused six minutes
    assert not run_in(_origin(10, 3, 4), INCIDENT, twenty_minutes())
