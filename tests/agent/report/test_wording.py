from __future__ import annotations

import pytest

from agent.report.wording import duration_phrase


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (1, "1 second"),
        (45, "45 seconds"),
        (60, "60 seconds"),
        (90, "2 minutes"),
        (100, "2 minutes"),
        (3600, "60 minutes"),
    ],
)
def test_a_duration_is_said_in_seconds_under_a_minute_and_a_half_else_in_whole_minutes(
    seconds: float, said: str
) -> None:
    assert duration_phrase(seconds) == said


def test_minutes_begin_at_a_minute_and_a_half_so_no_duration_reads_one_minutes() -> None:
    assert duration_phrase(89.9) == "90 seconds"
    assert duration_phrase(90) == "2 minutes"
    assert all(not duration_phrase(s).startswith("1 minute") for s in range(0, 600, 5))
