"""A small Logs Insights engine: enough of the query language for the queries the backend emits.

Supported: ``fields``, ``filter`` (``and``/``or``/parentheses, ``like /regex/``, comparisons with
numbers and quoted strings), ``sort @timestamp asc|desc``, ``limit``, and
``stats count(*) as NAME by bin(Ns), field, ...``. JSON messages expose their top-level keys as
fields, as Insights' automatic discovery does. Anything else raises MalformedQueryException.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mcp_server.backends.aws.testing.responders import AwsErrorResponse, Responders

ACCOUNT = "123456789012"


@dataclass
class StoredEvent:
    timestamp_ms: int
    message: str
    group: str
    stream: str = "scenario"
    fields: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fields = {
            "@timestamp": self.timestamp_ms,
            "@message": self.message,
            "@log": f"{ACCOUNT}:{self.group}",
            "@logStream": self.stream,
        }
        if self.message.startswith("{"):
            try:
                data = json.loads(self.message)
            except ValueError:
                data = None
            if isinstance(data, dict):
                for key, value in data.items():
                    if not isinstance(value, dict | list):
                        self.fields.setdefault(key, value)


def _malformed(problem: str) -> AwsErrorResponse:
    return AwsErrorResponse("MalformedQueryException", problem)


def _split_commands(query: str) -> list[str]:
    """Split on ``|`` outside /regex/ literals and quotes."""
    parts, current, in_regex, quote, escaped = [], [], False, "", False
    for char in query:
        if escaped:
            current.append(char)
            escaped = False
            continue
        if char == "\\":
            current.append(char)
            escaped = True
            continue
        if quote:
            quote = "" if char == quote else quote
        elif in_regex:
            in_regex = char != "/"
        elif char in "\"'":
            quote = char
        elif char == "/":
            in_regex = True
        elif char == "|":
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


_TOKEN = re.compile(
    r"\s*(?:(?P<regex>/(?:\\.|[^/\\])*/)|(?P<string>\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*')|"
    r"(?P<number>-?\d+(?:\.\d+)?)|(?P<op>>=|<=|!=|=|<|>|\(|\))|(?P<word>[@\w.]+))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise _malformed(f"cannot read filter at {text[position:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Filter:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.tree = self._or()
        if self.position != len(self.tokens):
            raise _malformed(f"unexpected {self.tokens[self.position][1]!r} in filter {text!r}")

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _next(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise _malformed("filter ends early")
        self.position += 1
        return token

    def _or(self) -> Any:
        node = self._and()
        while (token := self._peek()) and token == ("word", "or"):
            self._next()
            node = ("or", node, self._and())
        return node

    def _and(self) -> Any:
        node = self._term()
        while (token := self._peek()) and token == ("word", "and"):
            self._next()
            node = ("and", node, self._term())
        return node

    def _term(self) -> Any:
        token = self._next()
        if token == ("op", "("):
            node = self._or()
            if self._next() != ("op", ")"):
                raise _malformed("missing )")
            return node
        if token[0] != "word":
            raise _malformed(f"expected a field, got {token[1]!r}")
        operator = self._next()
        value = self._next()
        if operator == ("word", "like"):
            if value[0] != "regex":
                raise _malformed("like needs a /regex/")
            body = value[1][1:-1].replace("\\/", "/")
            return ("like", token[1], re.compile(body))
        if operator[0] != "op" or value[0] not in ("number", "string"):
            raise _malformed(f"cannot compare {token[1]} {operator[1]} {value[1]}")
        literal: Any = float(value[1]) if value[0] == "number" else value[1][1:-1]
        return ("compare", token[1], operator[1], literal)

    def matches(self, fields: dict[str, Any], node: Any = None) -> bool:
        node = self.tree if node is None else node
        if node[0] == "or":
            return self.matches(fields, node[1]) or self.matches(fields, node[2])
        if node[0] == "and":
            return self.matches(fields, node[1]) and self.matches(fields, node[2])
        value = fields.get(node[1])
        if value is None:
            return False
        if node[0] == "like":
            return bool(node[2].search(str(value)))
        _, _, operator, literal = node
        if isinstance(literal, float):
            try:
                value = float(value)
            except (TypeError, ValueError):
                return False
        else:
            value = str(value)
        return {
            "=": value == literal,
            "!=": value != literal,
            ">=": value >= literal,
            "<=": value <= literal,
            ">": value > literal,
            "<": value < literal,
        }[operator]


def format_time(timestamp_ms: int) -> str:
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def run_query(events: list[StoredEvent], query: str) -> list[list[dict[str, str]]]:
    rows = [e.fields for e in events]
    fields = ["@timestamp", "@message"]
    limit = 10_000
    stats: tuple[str, int, list[str]] | None = None
    for command in _split_commands(query):
        verb, _, rest = command.partition(" ")
        if verb == "fields":
            fields = [f.strip() for f in rest.split(",")]
        elif verb == "filter":
            condition = _Filter(rest)
            rows = [r for r in rows if condition.matches(r)]
        elif verb == "sort":
            name, _, direction = rest.strip().partition(" ")
            rows = sorted(rows, key=lambda r: r.get(name) or 0, reverse=direction.strip() == "desc")
        elif verb == "limit":
            limit = int(rest)
        elif verb == "stats":
            match = re.fullmatch(r"count\(\*\) as (\w+) by bin\((\d+)s\)((?:,\s*[@\w.]+)*)", rest.strip())
            if not match:
                raise _malformed(f"unsupported stats {rest!r}")
            stats = (
                match.group(1),
                int(match.group(2)),
                [g.strip() for g in match.group(3).split(",") if g.strip()],
            )
        else:
            raise _malformed(f"unsupported command {verb!r}")
    if stats is not None:
        name, width, keys = stats
        counts: dict[tuple[Any, ...], int] = defaultdict(int)
        for r in rows:
            bucket = (int(r["@timestamp"]) // (width * 1000)) * width * 1000
            counts[(bucket, *(r.get(k) for k in keys))] += 1
        output = []
        for key, count in itertools.islice(sorted(counts.items(), key=lambda item: str(item[0])), limit):
            row = [{"field": f"bin({width}s)", "value": format_time(key[0])}]
            row += [
                {"field": k, "value": str(v)} for k, v in zip(keys, key[1:], strict=True) if v is not None
            ]
            row.append({"field": name, "value": str(count)})
            output.append(row)
        return output
    return [
        [
            {"field": f, "value": format_time(r[f]) if f == "@timestamp" else str(r[f])}
            for f in fields
            if f in r
        ]
        for r in rows[:limit]
    ]


class FakeInsights:
    """StartQuery / GetQueryResults / StopQuery over stored events.

    ``running_polls`` GetQueryResults calls answer Running before Complete, so the backend's
    polling loop is exercised; ``never_finish`` keeps a query Running forever (timeouts).
    """

    def __init__(self, running_polls: int = 1) -> None:
        self.events: dict[str, list[StoredEvent]] = defaultdict(list)
        self.queries: dict[str, dict[str, Any]] = {}
        self.running_polls = running_polls
        self.never_finish = False
        self.stopped: list[str] = []
        self.started: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, group: str, timestamp_ms: int, message: str) -> None:
        self.events[group].append(StoredEvent(timestamp_ms, message, group))

    def attach(self, responders: Responders) -> None:
        responders.on("StartQuery", self._start).on("GetQueryResults", self._results).on(
            "StopQuery", self._stop
        )

    def _start(self, params: dict[str, Any]) -> dict[str, Any]:
        groups = list(params.get("logGroupNames") or [])
        missing = [g for g in groups if g not in self.events]
        if missing:
            raise AwsErrorResponse("ResourceNotFoundException", f"Log group {missing[0]} does not exist")
        start_ms, end_ms = int(params["startTime"]) * 1000, (int(params["endTime"]) + 1) * 1000
        selected = [e for g in groups for e in self.events[g] if start_ms <= e.timestamp_ms < end_ms]
        results = run_query(selected, str(params["queryString"]))[: int(params.get("limit") or 10_000)]
        with self._lock:  # the engine queries from several threads
            query_id = f"q-{next(self._ids)}"
            self.queries[query_id] = {"results": results, "polls": 0, "scanned": len(selected)}
            self.started.append(params)
        return {"queryId": query_id}

    def _results(self, params: dict[str, Any]) -> dict[str, Any]:
        query = self.queries.get(str(params["queryId"]))
        if query is None:
            raise AwsErrorResponse("ResourceNotFoundException", "unknown query id")
        with self._lock:
            query["polls"] += 1
        if self.never_finish or query["polls"] <= self.running_polls:
            return {"status": "Running", "results": []}
        return {
            "status": "Complete",
            "results": query["results"],
            "statistics": {
                "recordsMatched": float(len(query["results"])),
                "recordsScanned": float(query["scanned"]),
                "bytesScanned": float(query["scanned"] * 200),
            },
        }

    def _stop(self, params: dict[str, Any]) -> dict[str, Any]:
        self.stopped.append(str(params["queryId"]))
        return {"success": True}
