"""Which of a fault's key names the written telemetry carries: the truth labels only those.

A report can cite only what some record holds. The simulator knows the exception a fault throws,
but a metrics-only scenario writes no span and no log line, so no record names the exception; a
scenario whose spans are bare and whose logs are trimmed may keep it in a few lines, or none. The
key metric and the names the fault wrote (its version, config key, exception, zone or host) are
therefore checked against the scenario's own records (traces, logs, metrics and change records, as
written): a name no record holds is dropped, and a fault left with no term and no metric is not
scored on key evidence at all. The words a report describes a signal with (``latency``,
``timeout``) are not record contents and are not checked (:mod:`evals.simulator.truth`).

A name is held when it occurs as a whole token, case-insensitively: version ``3.5.3`` is not held
by ``13.5.30``, nor ``404`` by the span id ``404689e1``; a name ending in a separator
(``db.client.connection.``, a metric family) matches as a prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from mcp_server.scenario import LOGS_FILE, METRICS_FILE, TRACES_FILE
from mcp_server.telemetry import ChangeEvent

TELEMETRY_FILES = (METRICS_FILE, TRACES_FILE, LOGS_FILE)


def _token(term: str) -> re.Pattern[str]:
    """``term`` as a whole token: a word boundary on each side that begins or ends with a word character."""
    before = r"(?<!\w)" if re.match(r"\w", term[:1]) else ""
    after = r"(?!\w)" if re.match(r"\w", term[-1:]) else ""
    return re.compile(before + re.escape(term) + after, re.IGNORECASE)


def carried(terms: Sequence[str], texts: Iterable[str]) -> set[str]:
    """The ``terms`` some text holds as a whole token; reads ``texts`` only until all are found."""
    wanted = {term: _token(term) for term in dict.fromkeys(terms) if term}
    found: set[str] = set()
    for text in texts:
        for term in [t for t in wanted if t not in found]:
            if wanted[term].search(text):
                found.add(term)
        if len(found) == len(wanted):
            break
    return found


def scenario_texts(directory: Path, changes: Sequence[ChangeEvent]) -> Iterator[str]:
    """The scenario's records as text: its change records, then each telemetry file line by line."""
    for change in changes:
        yield change.model_dump_json(exclude_none=True)
    for name in TELEMETRY_FILES:
        path = directory / name
        if path.is_file():
            with path.open(encoding="utf-8") as lines:
                yield from lines
