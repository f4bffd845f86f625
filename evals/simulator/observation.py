"""What the telemetry pipeline kept of the traffic: coverage, span detail and timestamp precision.

The traffic engine writes every span and log line in full. Real pipelines keep less:

- **coverage**: traces and logs kept only from about a minute before the onset to two after
  (sometimes starting after the onset), while metrics cover the whole window;
- **span detail**: instrumentation that records no status, no kind and no exception events (errors
  then show only in ``http.response.status_code`` and in logs), or nothing but names, ids and
  times (``bare``, errors only in logs);
- **precision**: timestamps truncated to microseconds or milliseconds, per service (text logs
  carry milliseconds: that is what their timestamp prints);
- **signals**: metrics alone.

Every choice draws from the observation's own random stream, after the traffic is fixed, so the
traffic underneath is the same with or without these quirks.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from evals.simulator.engine_state import Record
from evals.simulator.faults.base import NS_PER_S
from evals.simulator.quirks import Quirks
from evals.simulator.topology import Topology

NS_PER_US, NS_PER_MS = 1_000, 1_000_000
SPAN_PRECISIONS = (1, 1, NS_PER_US, NS_PER_US, NS_PER_US, NS_PER_MS)  # ns, µs (Zipkin-era agents), ms
BARE_KEYS = ("traceId", "spanId", "parentSpanId", "name", "startTimeUnixNano", "endTimeUnixNano")


class Observation:
    def __init__(
        self, quirks: Quirks, topology: Topology, rng: random.Random, onset_ns: int, window: tuple[int, int]
    ) -> None:
        self.quirks = quirks
        self.keep_traces = quirks.signals == "all"
        self.coverage: tuple[int, int] | None = None
        if quirks.partial_coverage:
            if rng.random() < 0.2:  # collection started only after the fault
                begin = onset_ns + int((5 + 35 * rng.random()) * NS_PER_S)
            else:
                begin = onset_ns - int((40 + 60 * rng.random()) * NS_PER_S)
            end = onset_ns + int((75 + 65 * rng.random()) * NS_PER_S)
            self.coverage = (max(window[0], begin), min(window[1], end))
        names = list(topology.services)
        self.detail: dict[str, str] = {}
        for name in names:
            if quirks.span_detail == "mixed":
                self.detail[name] = ("full", "no_status", "bare")[rng.randrange(3)]
            else:
                self.detail[name] = quirks.span_detail
        self.span_unit: dict[str, int] = {}
        self.log_unit: dict[str, int] = {}
        if quirks.mixed_precision:
            for name in names:
                service = topology.services[name]
                self.span_unit[name] = SPAN_PRECISIONS[rng.randrange(len(SPAN_PRECISIONS))]
                self.log_unit[name] = (
                    NS_PER_MS if service.log_format == "text" else (1, NS_PER_US)[rng.randrange(2)]
                )
        self._service_of: dict[int, str] = {}
        self.active = (
            self.coverage is not None
            or not self.keep_traces
            or quirks.mixed_precision
            or any(level != "full" for level in self.detail.values())
        )

    def _service(self, rid: int, resource: dict[str, Any]) -> str:
        name = self._service_of.get(rid)
        if name is None:
            name = next(
                kv["value"]["stringValue"] for kv in resource["attributes"] if kv["key"] == "service.name"
            )
            self._service_of[rid] = name
        return name

    def _covered(self, t: int) -> bool:
        return self.coverage is None or self.coverage[0] <= t < self.coverage[1]

    def spans(self, items: list[Record]) -> list[Record]:
        return self._observe(items, self._span)

    def logs(self, items: list[Record]) -> list[Record]:
        return self._observe(items, self._log)

    def _observe(
        self, items: list[Record], reshape: Callable[[str, dict[str, Any]], dict[str, Any]]
    ) -> list[Record]:
        """The records the pipeline kept, each as the service's instrumentation recorded it."""
        if not self.active:
            return items
        if not self.keep_traces:
            return []
        return [
            (t, rid, resource, scope, reshape(self._service(rid, resource), record))
            for t, rid, resource, scope, record in items
            if self._covered(t)
        ]

    def _span(self, service: str, record: dict[str, Any]) -> dict[str, Any]:
        level = self.detail[service]
        out = record
        if level == "bare":
            out = {key: record.get(key, "") for key in BARE_KEYS}
        elif level == "no_status":
            out = {key: value for key, value in record.items() if key not in ("status", "events", "kind")}
            out["attributes"] = [kv for kv in record["attributes"] if kv["key"] != "error.type"]
        unit = self.span_unit.get(service, 1)
        if unit > 1:
            out = dict(out) if out is record else out
            for key in ("startTimeUnixNano", "endTimeUnixNano"):
                out[key] = str(int(out[key]) // unit * unit)
            if "events" in out:
                out["events"] = [
                    {**e, "timeUnixNano": str(int(e["timeUnixNano"]) // unit * unit)} for e in out["events"]
                ]
        return out

    def _log(self, service: str, record: dict[str, Any]) -> dict[str, Any]:
        unit = self.log_unit.get(service, 1)
        if unit == 1:
            return record
        return {**record, "timeUnixNano": str(int(record["timeUnixNano"]) // unit * unit)}

    def window_edges(self, start_ns: int, end_ns: int, rng: random.Random) -> tuple[int, int]:
        """The window as a collector's clock reports it: microseconds when precision is mixed."""
        if not self.quirks.mixed_precision:
            return start_ns, end_ns
        return start_ns - rng.randrange(1, 10**6) * NS_PER_US, end_ns + rng.randrange(1, 10**6) * NS_PER_US
