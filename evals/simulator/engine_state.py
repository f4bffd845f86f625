"""The traffic engine's shared state: the random stream, the records of the current minute, identities.

:class:`EngineState` is the base of :class:`evals.simulator.engine.Engine`; the request paths
(:mod:`.service_calls`, :mod:`.dependency_calls`, :mod:`.logs`) are mixins over it, so each part
reads the same buffers and draws from the same ``random.Random`` in the same order.
"""

from __future__ import annotations

import random
from typing import Any

from evals.simulator.effects import ServerResult, StepResult
from evals.simulator.faults.base import TrafficHooks
from evals.simulator.logs import LogWriterMixin
from evals.simulator.metrics import MinuteAggregate
from evals.simulator.records import SCOPES, Resources
from evals.simulator.topology import Host, Operation, Service, Step, Topology

BACKGROUND_ERROR_RATE = 0.0015

Record = tuple[
    int, int, dict[str, Any], str, dict[str, Any]
]  # (sort time, resource id, resource, scope, record)


class EngineState(LogWriterMixin):
    def __init__(
        self,
        topology: Topology,
        faults: list[TrafficHooks],
        rng: random.Random,
        resources: Resources,
        background_error_rate: float = BACKGROUND_ERROR_RATE,
    ) -> None:
        self.topology = topology
        self.faults = faults
        self.rng = rng
        self.resources = resources
        self.background_error_rate = background_error_rate
        self.spans: list[Record] = []
        self.logs: list[Record] = []
        self.agg = MinuteAggregate()
        self.versions: dict[tuple[str, int], str] = {
            (s.name, h.index): s.version for s in topology.services.values() for h in s.hosts
        }
        self.version_overrides: list[Any] = []  # objects with .version(host, t) -> str | None
        self._consumers = {
            op.consumer_of: (s, op)
            for s in topology.services.values()
            for op in s.operations.values()
            if op.consumer_of
        }
        entries = topology.entry_operations()
        self._entries = entries
        total = sum(op.entry_weight for _, op in entries)
        acc = 0.0
        self._entry_cum: list[float] = []
        for _, op in entries:
            acc += op.entry_weight / total
            self._entry_cum.append(acc)

    # ------------------------------------------------------------------------ identities
    def _span_id(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"

    def trace_id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def version_of(self, service: Service, host: Host, t: int) -> str:
        for source in self.version_overrides:
            v = source.version(host, t)
            if v is not None:
                return str(v)
        return service.version

    def _resource(self, service: Service, host: Host, t: int) -> tuple[int, dict[str, Any]]:
        version = self.version_of(service, host, t)
        self.versions[(service.name, host.index)] = version
        return self.resources.host(service, host, version)

    def _add_span(
        self, service: Service, host: Host, family: str, start: int, record: dict[str, Any]
    ) -> None:
        rid, resource = self._resource(service, host, start)
        self.spans.append((start, rid, resource, SCOPES[service.runtime][family], record))

    # ------------------------------------------------------------- the request path (Engine)
    def serve(
        self,
        service: Service,
        op: Operation,
        t: int,
        trace_id: str,
        parent_id: str | None,
        kind: int,
        host: Host | None = None,
    ) -> ServerResult | None:
        raise NotImplementedError

    def run_step(
        self, service: Service, host: Host, step: Step, t: int, trace_id: str, parent_id: str
    ) -> StepResult:
        raise NotImplementedError

    # ------------------------------------------------------------------------ minute flush
    def take_minute(self) -> tuple[list[Record], list[Record], MinuteAggregate]:
        spans, logs, agg = self.spans, self.logs, self.agg
        self.spans, self.logs, self.agg = [], [], MinuteAggregate()
        return spans, logs, agg
