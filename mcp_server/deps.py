"""What the MCP server needs, handed to it whole: backend, knowledge, investigator, limits.

Tools receive a :class:`ServerDeps` when they register and never reach for a global client, so a
test builds one around an in-memory backend and the CLI builds one around the local store.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from mcp_server.backends.base import TelemetryBackend
from mcp_server.redaction import Redactor
from mcp_server.telemetry import TimeWindow

if TYPE_CHECKING:
    from mcp_server.analysis.models import InvestigationResult
    from mcp_server.scenario import Trigger

    # None trigger/window: the recorded incident's own trigger and window (or the whole data)
    Investigator = Callable[[Trigger | None, TimeWindow | None], InvestigationResult]
    ReportDrafter = Callable[[InvestigationResult], tuple[str, str]]  # -> (title, markdown)
else:
    Investigator = Callable[..., Any]
    ReportDrafter = Callable[..., Any]


T = TypeVar("T")


class KnowledgeSearch(Protocol):
    """What the knowledge tools use of ``knowledge.store.KnowledgeStore``."""

    def search(
        self,
        query: str,
        *,
        type: Any = None,
        service: str | None = None,
        fault_types: Any = None,
        k: int = 5,
    ) -> list[Any]: ...

    def get_document(self, doc_id: str) -> Any: ...


class ResultCache:
    """Least-recently-used results of aggregate computations over data that cannot change.

    Shared by every tool of one server: the SLO evaluation list_slos makes is the one
    audit_services reuses. Only used when the served data is a recording (``clock="data"``).
    """

    def __init__(self, entries: int = 128) -> None:
        self.entries = entries
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]  # type: ignore[no-any-return]
        value = compute()  # outside the lock: two threads may both compute a cold key, harmlessly
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.entries:
                self._items.popitem(last=False)
        return value


@dataclass(frozen=True)
class ServerLimits:
    """Bounds that keep every answer small enough for a model and every call short."""

    max_output_chars: int = 16_000  # per tool answer, text and structured output alike
    call_timeout_seconds: float = 20.0  # a tool that takes longer returns an error instead of hanging
    max_window: timedelta = timedelta(days=7)
    default_window: timedelta = timedelta(hours=1)  # when neither start nor end is given on live data
    investigate_timeout_seconds: float = 120.0


@dataclass
class ServerDeps:
    """Everything the tools use.

    ``clock`` says what relative times (``-30m``, ``now``) are relative to: ``"data"`` anchors
    them at the end of the data the backend holds (right for recorded incidents in the local
    store), ``"wall"`` at the current time (right for live backends).
    """

    backend: TelemetryBackend
    knowledge: KnowledgeSearch | None = None
    investigator: Investigator | None = None
    report_drafter: ReportDrafter | None = None
    redactor: Redactor = field(default_factory=Redactor)
    limits: ServerLimits = field(default_factory=ServerLimits)
    clock: Literal["data", "wall"] = "data"
    description: str = ""  # what is being served, e.g. "scenario demo-checkout (local store)"
    # how to load telemetry, said by the instructions and every tool error while there is none
    load_hint: str = ""
    cache: ResultCache = field(default_factory=ResultCache)
    _data_window: TimeWindow | None = field(default=None, init=False, repr=False)
    _data_window_read: bool = field(default=False, init=False, repr=False)

    def data_window(self) -> TimeWindow | None:
        """The time range the served data covers, read once (recorded data does not change).

        The recorded scenario's declared window when the backend knows it, widened to the data,
        else the data's own range rounded out to whole minutes: "now" reads as 10:30, not
        10:29:58.078.
        """
        if self.clock == "wall":
            return self.backend.time_range()
        if not self._data_window_read:
            self._data_window = _recorded_window(self.backend)
            self._data_window_read = True
        return self._data_window

    def now(self) -> datetime:
        """The moment ``now`` means in tool arguments."""
        if self.clock == "data":
            window = self.data_window()
            if window is not None:
                return window.end
        return datetime.now(UTC)


def _recorded_window(backend: TelemetryBackend) -> TimeWindow | None:
    data = backend.time_range()
    if data is None:
        return None
    spec_reader = getattr(backend, "scenario_spec", None)  # the local store remembers the scenario
    spec = spec_reader() if callable(spec_reader) else None
    if spec is not None:
        start = min(spec.window.start, _floor(data.start, timedelta(seconds=1)))
        # a last span ending a hair after the declared window does not move "now" past it
        end = (
            spec.window.end
            if data.end <= spec.window.end + timedelta(seconds=1)
            else _ceil(data.end, timedelta(seconds=1))
        )
        return TimeWindow(start=start, end=end)
    return TimeWindow(
        start=_floor(data.start, timedelta(minutes=1)), end=_ceil(data.end, timedelta(minutes=1))
    )


def _floor(moment: datetime, unit: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((moment - epoch) // unit) * unit


def _ceil(moment: datetime, unit: timedelta) -> datetime:
    floored = _floor(moment, unit)
    return floored if floored == moment else floored + unit
