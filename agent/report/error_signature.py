"""A service's error signature: the exception types and HTTP status codes it fails with since the
incident began that are new, or at least doubled, against its own baseline before.

An engineer writing the COE names what the failing service threw ("KeyError on POST
/api/appointments") or answered ("404 for existing items"), not only that its error rate rose. The
engine's evidence often says the latter alone: spans without status or exception events, or a few
failing lines among many, leave the exception only in a handful of log records. So the signature is
read from both of the service's own signals, each against itself before the incident:

- its failing spans: ``exception`` events (``exception.type``), ``error.type`` and the HTTP status;
- its log lines: exception-like names (``KeyError``, ``java.lang.NullPointerException``, from the
  text or a structured ``error.type`` field) and 4xx/5xx statuses (an access line ``GET /x 404``,
  a ``status`` field).

A name counts when it appears at least ``MIN_COUNT`` times since the incident began and its rate per
minute is at least ``GROWTH`` times the baseline's (a name absent before is new). Chronic errors a
service logs all day are in the baseline too, so they do not count.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from agent.report.evidence_book import EvidenceBook
from agent.report.model import Claim
from mcp_server.analysis.models import EvidenceKind
from mcp_server.backends.base import LogQuery, SpanQuery, TelemetryBackend
from mcp_server.errors import SleuthError
from mcp_server.span_conventions import span_http_status
from mcp_server.telemetry import LogRecord, Span, TimeWindow

MIN_COUNT = 3  # fewer occurrences is an anecdote, not a signature
GROWTH = 2.0  # "doubled": the rate per minute since the incident began against the baseline's
SPAN_LIMIT = 5_000
LOG_LIMIT = 20_000
SHOWN = 4  # names stated in the claim, most frequent first

# CamelCase names ending in Exception or Error, optionally package-qualified; RE2 and Python alike
EXCEPTION_PATTERN = r"\b(?:[A-Za-z_][A-Za-z0-9_]*\.)*[A-Z][A-Za-z0-9_]*(?:Exception|Error)\b"
# an access line (method, path, status) or a status field, with a 4xx or 5xx code
STATUS_PATTERN = (
    r"\b(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) [^ ]+ ([45][0-9][0-9])\b"
    r"|status(?:_code)?[^A-Za-z0-9]{1,3}([45][0-9][0-9])\b"
)
_EXCEPTION = re.compile(EXCEPTION_PATTERN)
_STATUS = re.compile(STATUS_PATTERN, re.IGNORECASE)
_LOG_REGEX = f"{EXCEPTION_PATTERN}|(?i:{STATUS_PATTERN})"

Source = Literal["spans", "logs"]
Kind = Literal["exception", "status"]
Named = tuple[Kind, str]  # ("exception", "KeyError"), ("status", "HTTP 404")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignatureWindows(_Model):
    """The service's own baseline, and the incident from when it began."""

    before: TimeWindow
    since: TimeWindow

    @property
    def began(self) -> datetime:
        return self.since.start


class SignatureName(_Model):
    """One exception type or HTTP status (``HTTP 404``), counted in the signal that shows it most."""

    name: str
    kind: Kind
    source: Source
    before: int
    since: int

    @property
    def is_new(self) -> bool:
        return self.before == 0


class ErrorSignature(_Model):
    service: str
    windows: SignatureWindows
    names: list[SignatureName]

    @property
    def exception_types(self) -> list[str]:
        return _exception_types(self.names)

    @property
    def status_codes(self) -> list[str]:
        return _status_codes(self.names)


def _exception_types(names: list[SignatureName]) -> list[str]:
    return [n.name for n in names if n.kind == "exception"]


def _status_codes(names: list[SignatureName]) -> list[str]:
    return [n.name.removeprefix("HTTP ") for n in names if n.kind == "status"]


def _minutes(window: TimeWindow) -> float:
    return max(window.duration.total_seconds() / 60, 1.0)


def span_names(span: Span) -> set[Named]:
    """What a span failed with: its exceptions and its 4xx/5xx status."""
    names: set[Named] = {
        ("exception", str(e.attributes["exception.type"]))
        for e in span.events
        if e.attributes.get("exception.type")
    }
    if span.attributes.get("error.type") and _EXCEPTION.fullmatch(str(span.attributes["error.type"])):
        names.add(("exception", str(span.attributes["error.type"])))
    status = span_http_status(span.attributes)
    if status is not None and status >= 400:
        names.add(("status", f"HTTP {status}"))
    return names


def log_names(record: LogRecord) -> set[Named]:
    """The exceptions and 4xx/5xx statuses a log line states."""
    text = " ".join([record.body, *(str(v) for v in record.attributes.values())])
    names: set[Named] = {("exception", m.group(0)) for m in _EXCEPTION.finditer(text)}
    names |= {("status", f"HTTP {m.group(1) or m.group(2)}") for m in _STATUS.finditer(text)}
    return names


def _counts(backend: TelemetryBackend, source: Source, service: str, window: TimeWindow) -> Counter[Named]:
    """How many of the service's failing spans, or matching log lines, state each name in ``window``."""
    counts: Counter[Named] = Counter()
    if source == "spans":
        query = SpanQuery(window=window, service=service, errors_only=True, limit=SPAN_LIMIT)
        for span in backend.query_spans(query):
            counts.update(span_names(span))
    else:
        for record in backend.query_logs(
            LogQuery(window=window, service=service, regex=_LOG_REGEX, limit=LOG_LIMIT)
        ):
            counts.update(log_names(record))
    return counts


def _grown(
    backend: TelemetryBackend, source: Source, service: str, windows: SignatureWindows
) -> list[SignatureName]:
    """The names of ``source`` at least ``MIN_COUNT`` times since, at ``GROWTH`` times the rate before."""
    before = _counts(backend, source, service, windows.before)
    since = _counts(backend, source, service, windows.since)
    ratio = _minutes(windows.before) / _minutes(windows.since)
    return [
        SignatureName(name=name, kind=kind, source=source, before=before[(kind, name)], since=n)
        for (kind, name), n in since.items()
        if n >= MIN_COUNT and n * ratio >= GROWTH * before[(kind, name)]
    ]


def measure_error_signature(
    backend: TelemetryBackend, service: str, windows: SignatureWindows
) -> ErrorSignature | None:
    """The service's new or doubled exception types and statuses; None when there are none."""
    try:
        grown = [*_grown(backend, "spans", service, windows), *_grown(backend, "logs", service, windows)]
    except SleuthError:
        return None
    found: dict[str, SignatureName] = {}  # each name as the signal that shows it most
    for name in grown:
        if name.name not in found or name.since > found[name.name].since:
            found[name.name] = name
    if not found:
        return None
    names = sorted(found.values(), key=lambda n: (-n.since, n.name))
    return ErrorSignature(service=service, windows=windows, names=names)


def _stated(name: SignatureName) -> str:
    was = "none before" if name.is_new else f"{name.before:,} before"
    return f"{name.name} {name.since:,}x ({was})"


def signature_claim(signature: ErrorSignature, book: EvidenceBook) -> Claim:
    """One summary sentence naming what the service newly fails with, citing the measured counts."""
    shown = signature.names[:SHOWN]
    windows = signature.windows
    began = f"{windows.began:%H:%M} UTC"
    before = f"{_minutes(windows.before):.0f} minutes before"
    sources = sorted({n.source for n in shown})
    query = " and ".join(
        f"query_spans(service={signature.service!r}, errors_only=True)"
        if source == "spans"
        else f"query_logs(service={signature.service!r}, regex={_LOG_REGEX!r})"
        for source in sources
    )
    stated = ", ".join(_stated(n) for n in shown)
    evidence = book.add(
        EvidenceKind.ERROR_RATE if "spans" in sources else EvidenceKind.LOG_PATTERN,
        f"{signature.service} failures since {began} against its own {before}: {stated}",
        source_query=f"{query} over {windows.before.start.isoformat()}..{windows.since.end.isoformat()}",
        service=signature.service,
        time=windows.began,
        value=float(sum(n.since for n in shown)),
        attributes={"exception_types": _exception_types(shown), "http_status_codes": _status_codes(shown)},
    )
    return Claim(
        text=f"Since {began}, {signature.service} has failed with errors that are new or at least doubled "
        f"against its own {before}: {stated}.",
        evidence=[evidence],
    )
