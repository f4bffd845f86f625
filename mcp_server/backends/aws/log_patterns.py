"""Log groups (counted body shapes) of a window, read representatively from Logs Insights.

Two queries per window, whatever its volume:

- Insights' own ``pattern`` command clusters every event of the window and counts each cluster
  (``@sampleCount``), with sample lines; each line is led by its log group so a cluster can be
  given to its service;
- a spread query takes the first and the last event of every bin, log group and severity
  (``log_sample_bins`` bins over the window), with their times and how many events each bin
  held: samples from the baseline and the incident alike, never just the oldest events.

The samples time each pattern (its first and last sample) and, where ``pattern`` is not
available (an Infrequent Access log group, an old region), stand in for the counts: each sample
weighs the events of its bin it represents.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mcp_server.backends.aws.calls import ApiCaller
from mcp_server.backends.aws.errors import AwsApiUnavailableError
from mcp_server.backends.aws.insights import (
    InsightsRunner,
    pattern_query,
    row_group,
    row_number,
    row_time,
    spread_query,
)
from mcp_server.backends.aws.log_events import LEVEL_SCAN_CHARS, LEVEL_WORD, mask_body, parse_event
from mcp_server.backends.base import LogGroup
from mcp_server.errors import QueryError
from mcp_server.telemetry import LogRecord, Severity, TimeWindow, to_nanos

PATTERN_ROWS = 5_000  # clusters read per window, most frequent first
SAMPLE_ROWS = 10_000  # Insights' row limit
_TOKEN = re.compile(r"<[A-Za-z*][\w.:*-]*>")  # Insights' dynamic tokens: <*>, <Token-3>, <IPv4> ...
_JSON_BODY = re.compile(r'"body"\s*:\s*"((?:[^"\\]|\\.)*)"')
_JSON_SEVERITY_TEXT = re.compile(r'"severity_text"\s*:\s*"([A-Za-z]+)"')
_JSON_SEVERITY_NUMBER = re.compile(r'"severity_number"\s*:\s*(\d+)')

Key = tuple[str, Severity, str]


@dataclass(frozen=True)
class Sample:
    at: datetime
    record: LogRecord
    weight: float  # events of its bin this sample stands for


def read_groups(
    runner: InsightsRunner, calls: ApiCaller, service_of: dict[str, str], window: TimeWindow
) -> list[LogGroup]:
    samples = spread_samples(runner, calls, service_of, window)
    rows: list[dict[str, str]] | None = None
    if calls.config.log_patterns_with_insights:
        try:
            rows = runner.run(pattern_query(PATTERN_ROWS), list(service_of), window, PATTERN_ROWS)
        except AwsApiUnavailableError:
            raise
        except QueryError as exc:
            calls.notes.add(
                "logs",
                f"Logs Insights `pattern` unavailable ({exc}); log pattern counts are estimated from "
                f"{len(samples)} events sampled across the window",
            )
    if rows is None:
        return groups_from_samples(samples)
    if len(rows) >= PATTERN_ROWS:
        calls.notes.add(
            "logs", f"Logs Insights found more than {PATTERN_ROWS} log patterns; the rarest were not read"
        )
    return groups_from_patterns(rows, samples, service_of, window, calls)


# ----------------------------------------------------------------------------------- samples


def spread_samples(
    runner: InsightsRunner, calls: ApiCaller, service_of: dict[str, str], window: TimeWindow
) -> list[Sample]:
    width = max(1, math.ceil(window.duration.total_seconds() / calls.config.log_sample_bins))
    rows = runner.run(spread_query(width, SAMPLE_ROWS), list(service_of), window, SAMPLE_ROWS)
    if len(rows) >= SAMPLE_ROWS:
        calls.notes.add(
            "logs", f"log samples hit the {SAMPLE_ROWS}-row limit; later bins of the window are not sampled"
        )
    samples: list[Sample] = []
    for row in rows:
        service = service_of.get(row_group(row))
        if service is None:
            continue
        count = row_number(row, "n")
        pieces = [(row.get("first"), "first_at")]
        if count > 1 and row.get("last") is not None:
            pieces.append((row.get("last"), "last_at"))
        for message, time_field in pieces:
            if message is None:
                raise QueryError(f"Logs Insights returned a sample row without its message: {sorted(row)}")
            at = row_time(row, time_field)
            if window.start <= at < window.end:
                record = parse_event(message, to_nanos(at) // 1_000_000, service)
                samples.append(Sample(at, record, count / len(pieces)))
    return samples


def _key(record: LogRecord) -> Key:
    return (record.service, record.severity, mask_body(record.body))


def groups_from_samples(samples: list[Sample]) -> list[LogGroup]:
    merged: dict[Key, list[Sample]] = {}
    for sample in samples:
        merged.setdefault(_key(sample.record), []).append(sample)
    return [
        LogGroup(
            service=service,
            severity=severity,
            pattern=pattern,
            sample=members[0].record.body,
            count=max(1, round(sum(m.weight for m in members))),
            first_seen=min(m.at for m in members),
            last_seen=max(m.at for m in members),
        )
        for (service, severity, pattern), members in merged.items()
    ]


# ---------------------------------------------------------------------------------- patterns


@dataclass
class _Cluster:
    count: float
    sample: str
    first_seen: datetime | None = None
    last_seen: datetime | None = None


def groups_from_patterns(
    rows: list[dict[str, str]],
    samples: list[Sample],
    service_of: dict[str, str],
    window: TimeWindow,
    calls: ApiCaller,
) -> list[LogGroup]:
    clusters: dict[Key, _Cluster] = {}
    unattributed = 0.0
    for row in rows:
        text = row.get("@pattern")
        if text is None:
            raise QueryError(f"Logs Insights returned a pattern row without @pattern: {sorted(row)}")
        count = row_number(row, "@sampleCount")
        lines = [_split_line(line, service_of) for line in _sample_lines(row.get("@logSamples"))]
        prefix, _, message = text.partition(" ")
        owners = Counter(service for service, _ in lines if service is not None)
        if not owners:
            owner = _group_of(prefix, service_of) or _only(service_of)
            if owner is None:
                unattributed += count
                continue
            owners = Counter({owner: 1})
        records = [parse_event(body, 0, service or "") for service, body in lines]
        severity = _severity(message, records, row.get("@severityLabel"))
        body = _token_free(_json_body(message) or message)
        sample = records[0].body if records else body
        total = sum(owners.values())
        for service, share in owners.items():
            key = (service, severity, mask_body(body))
            cluster = clusters.setdefault(key, _Cluster(0.0, sample))
            cluster.count += count * share / total
    if unattributed:
        calls.notes.add("logs", f"{unattributed:g} events in log patterns could not be given to a service")
    _time_clusters(clusters, samples)
    return [
        LogGroup(
            service=service,
            severity=severity,
            pattern=pattern,
            sample=cluster.sample,
            count=max(1, round(cluster.count)),
            first_seen=cluster.first_seen or window.start,
            last_seen=cluster.last_seen or window.end,
        )
        for (service, severity, pattern), cluster in clusters.items()
    ]


def _time_clusters(clusters: dict[Key, _Cluster], samples: list[Sample]) -> None:
    """First and last seen from the spread samples: by the same key, else by the cluster's shape."""
    shapes: dict[Key, re.Pattern[str]] = {}
    for sample in samples:
        key = _key(sample.record)
        cluster = clusters.get(key)
        if cluster is None:
            candidates = [k for k in clusters if k[0] == key[0] and k[1] == key[1]]
            for candidate in candidates:
                shape = shapes.setdefault(candidate, _shape(candidate[2]))
                if shape.fullmatch(key[2]):
                    cluster = clusters[candidate]
                    break
        if cluster is None:
            continue
        if cluster.first_seen is None or sample.at < cluster.first_seen:
            cluster.first_seen = sample.at
        if cluster.last_seen is None or sample.at > cluster.last_seen:
            cluster.last_seen = sample.at


def _shape(pattern: str) -> re.Pattern[str]:
    return re.compile(".*?".join(re.escape(part) for part in pattern.split("<*>")), re.S)


def _sample_lines(value: str | None) -> list[str]:
    if not value:
        return []
    try:
        items = json.loads(value)
    except ValueError:
        return [value]
    if not isinstance(items, list):
        items = [items]
    lines = []
    for item in items:
        if isinstance(item, dict):
            item = next((item[k] for k in ("line", "message", "@message", "value") if k in item), None)
        if isinstance(item, str):
            lines.append(item)
    return lines


def _split_line(line: str, service_of: dict[str, str]) -> tuple[str | None, str]:
    """(service, message) of a ``@log message`` sample line; no service when it is not led by one."""
    prefix, _, rest = line.partition(" ")
    service = service_of.get(prefix.rsplit(":", 1)[-1])
    return (service, rest) if service is not None else (None, line)


def _group_of(prefix: str, service_of: dict[str, str]) -> str | None:
    """The service of a pattern's leading ``@log`` token, which may hold dynamic tokens."""
    name = prefix.rsplit(":", 1)[-1]
    if name in service_of:
        return service_of[name]
    shape = _shape(_token_free(name))
    found = {service for group, service in service_of.items() if shape.fullmatch(group)}
    return found.pop() if len(found) == 1 else None


def _only(service_of: dict[str, str]) -> str | None:
    services = set(service_of.values())
    return services.pop() if len(services) == 1 else None


def _token_free(text: str) -> str:
    return _TOKEN.sub("<*>", text)


def _json_body(message: str) -> str | None:
    if not message.startswith("{"):
        return None
    match = _JSON_BODY.search(message)
    if match is None:
        return None
    try:
        value = json.loads(f'"{match.group(1)}"')
    except ValueError:
        return match.group(1)
    return value if isinstance(value, str) else match.group(1)


def _severity(message: str, records: list[LogRecord], label: Any) -> Severity:
    """The samples' commonest severity, else the pattern's own fields or level word, else its label."""
    if records:
        return Counter(r.severity for r in records).most_common(1)[0][0]
    text = _JSON_SEVERITY_TEXT.search(message)
    if text:
        return Severity.from_text(text.group(1))
    number = _JSON_SEVERITY_NUMBER.search(message)
    if number:
        return Severity.from_number(int(number.group(1)))
    word = LEVEL_WORD.search(message[:LEVEL_SCAN_CHARS])
    if word:
        return Severity.from_text(word.group(1))
    return Severity.from_text(str(label)) if label else Severity.UNSPECIFIED
