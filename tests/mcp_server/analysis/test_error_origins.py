"""Which baseline new error origins are weighed against."""

from __future__ import annotations

from datetime import timedelta

from mcp_server.analysis.error_origins import onset_guard
from tests.mcp_server.analysis.scopes import ONSET, twenty_minutes


def test_failures_first_seen_in_the_bucket_just_before_the_onset_belong_to_the_incident():
    scope = twenty_minutes()

    # the first failures of an onset found a bucket late fall there; as "normal" they would hide the rise
    assert onset_guard(scope) == ONSET - timedelta(seconds=scope.bucket_seconds)


def test_a_baseline_too_short_to_spare_a_bucket_keeps_it():
    scope = twenty_minutes()
    short = scope.baseline.model_copy(update={"start": ONSET - timedelta(minutes=2)})

    assert onset_guard(scope.model_copy(update={"baseline": short})) == ONSET
