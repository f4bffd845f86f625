"""What makes real telemetry harder than a clean simulation: the options a plan can switch on.

Each quirk was seen in real incident data (a public fault-injection data set and the held-out sets
of issue 14): services that log errors all day, traces and logs kept only around the fault,
instrumentation that records no span status, kind or attributes, the previous incident's recovery
inside the window, timestamps at several precisions, metrics alone, at five-minute resolution,
and release trains that deploy several services at once. All are off by default; a plan with no
quirk writes the same bytes as before they existed.

The quirks that only change what is *observed* (coverage, span detail, precision, signals, metric
period) draw from a random stream of their own, so the traffic underneath stays the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from evals.simulator.faults.base import FaultSetupError

SPAN_DETAILS = ("full", "no_status", "bare", "mixed")
METRIC_PERIODS = (60, 300)
SIGNALS = ("all", "metrics")


class QuirkError(FaultSetupError):
    """A quirk setting that does not exist."""


@dataclass(frozen=True)
class Quirks:
    # unrelated services that log (and sometimes fail with) errors at 1-4 a minute, before and after
    chronic_errors: int = 0
    # traces and logs cover about a minute before the onset to two after; metrics cover the window
    partial_coverage: bool = False
    # full | no_status (no status, kind or events: errors only in http status attributes and logs)
    # | bare (no status, kind, attributes or events: errors only in logs) | mixed (per service)
    span_detail: str = "full"
    # another fault on another service, recovered a few minutes before this incident's onset
    previous_incident: bool = False
    # spans at ns, µs or ms per service; text logs at ms; the window at µs
    mixed_precision: bool = False
    # all | metrics (no traces, no logs)
    signals: str = "all"
    # 60 or 300 (CloudWatch basic monitoring: a window of 10-15 minutes then holds 2-3 points)
    metric_period_s: int = 60
    # routine deployments of other services released with this incident's change (a release train)
    extra_deployments: int = 0

    def __post_init__(self) -> None:
        if self.span_detail not in SPAN_DETAILS:
            raise QuirkError(f"span_detail {self.span_detail!r}: use one of {', '.join(SPAN_DETAILS)}")
        if self.metric_period_s not in METRIC_PERIODS:
            raise QuirkError(f"metric_period_s {self.metric_period_s}: use 60 or 300")
        if self.signals not in SIGNALS:
            raise QuirkError(f"signals {self.signals!r}: use one of {', '.join(SIGNALS)}")
        if self.chronic_errors < 0 or self.extra_deployments < 0:
            raise QuirkError("chronic_errors and extra_deployments count services: give 0 or more")

    def tags(self) -> list[str]:
        """One tag per quirk switched on, so that results can be broken down by quirk."""
        tags = []
        if self.chronic_errors:
            tags.append("quirk-chronic-errors")
        if self.partial_coverage:
            tags.append("quirk-partial-coverage")
        if self.span_detail != "full":
            tags.append(f"quirk-spans-{self.span_detail.replace('_', '-')}")
        if self.previous_incident:
            tags.append("quirk-previous-incident")
        if self.mixed_precision:
            tags.append("quirk-mixed-precision")
        if self.signals == "metrics":
            tags.append("quirk-metrics-only")
        if self.metric_period_s != 60:
            tags.append(f"quirk-metrics-{self.metric_period_s // 60}min")
        if self.extra_deployments:
            tags.append("quirk-several-deployments")
        return tags
