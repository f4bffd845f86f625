"""How evidence writes a metric's move: numbers at a readable precision, and a rate per minute or
per second rather than a bare per-second figure (0.8 a minute, not 0.0133)."""

from __future__ import annotations


def number(v: float) -> str:
    if abs(v) >= 1e9:
        return f"{v / 1e9:.2f}G"
    if abs(v) >= 1e6:
        return f"{v / 1e6:.2f}M"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def level_change(before: float, after: float, statistic: str, unit: str) -> str:
    """ "<before> to <after>" in the metric's unit; ``rate`` levels are per second."""
    if statistic == "rate":
        per_minute = max(abs(before), abs(after)) < 1.0
        scale, suffix = (60.0, " a minute") if per_minute else (1.0, "/s")
        return f"{number(before * scale)} to {number(after * scale)}{suffix}"
    shown = f" {unit}" if unit and unit != "1" and not unit.startswith("{") else ""
    return f"{number(before)}{shown} to {number(after)}{shown}"
