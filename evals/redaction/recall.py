"""Redaction recall over output channels: of the planted secrets that reached a channel, how many
came out redacted.

A planted secret reached a channel when its probe (a harmless word planted beside it) is there;
it leaked when any distinctive piece of it is there. Channel text is searched after undoing the
escapes renderers add (HTML entities, JSON and Markdown backslashes), so a leak cannot hide
behind ``&amp;`` or ``\\_``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from evals.redaction.corpus import Planted

_MIN_PIECE = 6


def pieces(secret: str) -> list[str]:
    """The parts of a secret whose presence means it leaked (a PEM block's lines, a header's token)."""
    parts = [part for part in re.split(r"\s+", secret.replace("\\", "")) if len(part) >= _MIN_PIECE]
    return parts or [secret]


def _searchable(text: str) -> str:
    return html.unescape(text).replace("\\n", "\n").replace("\\", "")


@dataclass
class ChannelRecall:
    channel: str
    reached: list[str] = field(default_factory=list)  # kinds whose probe is in the channel
    leaked: list[str] = field(default_factory=list)  # kinds with a piece of the secret in the channel

    @property
    def recall(self) -> float:
        return 1.0 - len(self.leaked) / len(self.reached) if self.reached else 1.0


def leaked_in(text: str, planted: Planted) -> bool:
    searchable = _searchable(text)
    return any(piece in searchable for piece in pieces(planted.secret))


def measure(channels: dict[str, str], planted: list[Planted]) -> list[ChannelRecall]:
    results = []
    for channel, text in channels.items():
        searchable = _searchable(text)
        row = ChannelRecall(channel)
        for p in planted:
            leaked = any(piece in searchable for piece in pieces(p.secret))
            if p.probe in searchable or leaked:
                row.reached.append(p.kind)
            if leaked:
                row.leaked.append(p.kind)
        results.append(row)
    return results


def overall(rows: list[ChannelRecall]) -> float:
    """Recall over every (secret, channel) pair where the secret reached the channel."""
    reached = sum(len(row.reached) for row in rows)
    leaked = sum(len(row.leaked) for row in rows)
    return 1.0 - leaked / reached if reached else 1.0
