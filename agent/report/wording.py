"""Small pieces of English the report's sentences share."""

from __future__ import annotations


def duration_phrase(seconds: float) -> str:
    """ "45 seconds", "1 minute", "12 minutes": seconds under a minute and a half, else whole minutes."""
    if seconds < 90:
        whole = round(seconds)
        return f"{whole} second{'' if whole == 1 else 's'}"
    minutes = round(seconds / 60)
    return f"{minutes} minute{'' if minutes == 1 else 's'}"
