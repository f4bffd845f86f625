"""The Logs Insights query language of the fake: enough of the query language for the queries the backend emits.

Supported commands: ``fields`` (names, backticked names, ``concat(...)``, ``coalesce(...)``,
``... as NAME``), ``filter`` (``and``/``or``/``not``/parentheses, ``like /regex/``, ``in
[...]``, comparisons with numbers and quoted strings), ``parse FIELD /regex/`` with named
groups, ``sort FIELD asc|desc``, ``limit``, ``stats`` with ``count(*)``, ``sum``, ``avg``,
``min``, ``max``, ``pct``, ``earliest``, ``latest`` ``by bin(Ns), field, ...``, and ``pattern
FIELD`` (clusters by the body with numbers and hex ids masked; ``@pattern``, ``@sampleCount``,
``@ratio``, ``@logSamples``). JSON messages expose their keys as fields, nested ones flattened
with dots, as Insights' discovery does. Anything else raises MalformedQueryException, as an
unknown command does on AWS.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mcp_server.backends.aws.log_events import mask_body
from mcp_server.backends.aws.span_analysis import quantile
from mcp_server.backends.aws.testing.responders import AwsErrorResponse

ACCOUNT = "123456789012"
TIME_FIELDS = frozenset({"@timestamp"})
FLATTEN_DEPTH = 4


@dataclass
class StoredEvent:
    timestamp_ms: int
    message: str
    group: str
    stream: str = "scenario"
    pointer: str = ""
    fields: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fields = {
            "@timestamp": self.timestamp_ms,
            "@message": self.message,
            "@log": f"{ACCOUNT}:{self.group}",
            "@logStream": self.stream,
            "@ptr": self.pointer,
        }
        if self.message.startswith("{"):
            try:
                data = json.loads(self.message)
            except ValueError:
                data = None
            if isinstance(data, dict):
                for key, value in _flatten(data):
                    self.fields.setdefault(key, value)


def _flatten(data: dict[str, Any], prefix: str = "", depth: int = 0) -> list[tuple[str, Any]]:
    items = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and depth < FLATTEN_DEPTH:
            items += _flatten(value, name + ".", depth + 1)
        elif not isinstance(value, dict | list):
            items.append((name, value))
    return items


def malformed(problem: str) -> AwsErrorResponse:
    return AwsErrorResponse("MalformedQueryException", problem)


def split_commands(query: str) -> list[str]:
    """Split on ``|`` outside /regex/ literals and quotes; ``#`` outside them starts a comment."""
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
        elif char in "\"'`":
            quote = char
        elif char == "/":
            in_regex = True
        elif char == "#":
            break
        elif char == "|":
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if in_regex or quote:
        raise malformed("unterminated regex or string")
    parts.append("".join(current).strip())
    return [p for p in parts if p]


_TOKEN = re.compile(
    r"\s*(?:(?P<regex>/(?:\\.|[^/\\])*/)|(?P<string>\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*')|"
    r"(?P<number>-?\d+(?:\.\d+)?)|(?P<op>>=|<=|!=|=|<|>|\(|\)|\[|\]|,)|(?P<word>`[^`]+`|[@\w.]+))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise malformed(f"cannot read {text[position:]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        tokens.append((kind, value.strip("`") if kind == "word" else value))
        position = match.end()
    return tokens


def _insights_regex(literal: str) -> re.Pattern[str]:
    body = (
        literal[1:-1]
        .replace("\\/", "/")
        .replace("(?<", "(?P<")
        .replace("(?P<=", "(?<=")
        .replace("(?P<!", "(?<!")
    )
    try:
        return re.compile(body)
    except re.error as exc:
        raise malformed(f"bad regex {literal}: {exc}") from None


class _Filter:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.tree = self._or()
        if self.position != len(self.tokens):
            raise malformed(f"unexpected {self.tokens[self.position][1]!r} in filter {text!r}")

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _next(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise malformed("filter ends early")
        self.position += 1
        return token

    def _or(self) -> Any:
        node = self._and()
        while self._peek() == ("word", "or"):
            self._next()
            node = ("or", node, self._and())
        return node

    def _and(self) -> Any:
        node = self._term()
        while self._peek() == ("word", "and"):
            self._next()
            node = ("and", node, self._term())
        return node

    def _term(self) -> Any:
        token = self._next()
        if token == ("word", "not"):
            return ("not", self._term())
        if token == ("op", "("):
            node = self._or()
            if self._next() != ("op", ")"):
                raise malformed("missing )")
            return node
        if token[0] != "word":
            raise malformed(f"expected a field, got {token[1]!r}")
        operator = self._next()
        if operator == ("word", "like"):
            value = self._next()
            if value[0] != "regex":
                raise malformed("like needs a /regex/")
            return ("like", token[1], _insights_regex(value[1]))
        if operator == ("word", "in"):
            if self._next() != ("op", "["):
                raise malformed("in needs a [list]")
            values = []
            while (item := self._next()) != ("op", "]"):
                if item == ("op", ","):
                    continue
                values.append(_literal(item))
            return ("in", token[1], values)
        value = self._next()
        if operator[0] != "op" or value[0] not in ("number", "string"):
            raise malformed(f"cannot compare {token[1]} {operator[1]} {value[1]}")
        return ("compare", token[1], operator[1], _literal(value))

    def matches(self, fields: dict[str, Any], node: Any = None) -> bool:
        node = self.tree if node is None else node
        if node[0] == "or":
            return self.matches(fields, node[1]) or self.matches(fields, node[2])
        if node[0] == "and":
            return self.matches(fields, node[1]) and self.matches(fields, node[2])
        if node[0] == "not":
            return not self.matches(fields, node[1])
        value = fields.get(node[1])
        if value is None:
            return False
        if node[0] == "like":
            return bool(node[2].search(str(value)))
        if node[0] == "in":
            return any(_equal(value, v) for v in node[2])
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


def _literal(token: tuple[str, str]) -> Any:
    if token[0] == "number":
        return float(token[1])
    if token[0] == "string":
        return token[1][1:-1]
    raise malformed(f"expected a value, got {token[1]!r}")


def _equal(value: Any, literal: Any) -> bool:
    if isinstance(literal, float):
        try:
            return float(value) == literal
        except (TypeError, ValueError):
            return False
    return str(value) == literal


def format_time(timestamp_ms: int) -> str:
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses, brackets and quotes."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'`":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _expression(text: str) -> tuple[str, Callable[[dict[str, Any]], Any]]:
    """``EXPR [as NAME]`` -> (NAME, evaluate(row))."""
    match = re.fullmatch(r"(.+?)\s+as\s+([@\w.]+)", text.strip(), re.S)
    expr, name = (match.group(1), match.group(2)) if match else (text.strip(), text.strip().strip("`"))
    return name, _evaluator(expr.strip())


def _evaluator(expr: str) -> Callable[[dict[str, Any]], Any]:
    call = re.fullmatch(r"(\w+)\((.*)\)", expr, re.S)
    if call:
        function, args = call.group(1).lower(), [_evaluator(a) for a in _split_top(call.group(2))]
        if function == "concat":
            return lambda row: "".join("" if (v := a(row)) is None else str(v) for a in args)
        if function == "coalesce":
            return lambda row: next((v for a in args if (v := a(row)) not in (None, "")), None)
        raise malformed(f"unsupported function {function}")
    if len(expr) >= 2 and expr[0] == expr[-1] and expr[0] in "\"'":
        literal = expr[1:-1]
        return lambda _row: literal
    name = expr.strip("`")
    return lambda row: row.get(name)


_AGGREGATE = re.compile(r"(\w+)\(([^)]*)\)\s+as\s+(\w+)")


def _stats(rows: list[dict[str, Any]], spec: str) -> list[dict[str, Any]]:
    head, _, by = spec.partition(" by ")
    aggregates = []
    for part in _split_top(head):
        match = _AGGREGATE.fullmatch(part.strip())
        if not match:
            raise malformed(f"unsupported stats {part!r}")
        aggregates.append(
            (
                match.group(1).lower(),
                [a.strip().strip("`") for a in match.group(2).split(",")],
                match.group(3),
            )
        )
    keys = _split_top(by)
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(_key_value(row, k) for k in keys)].append(row)
    output = []
    for group_key, members in sorted(groups.items(), key=lambda item: str(item[0])):
        result: dict[str, Any] = {}
        for key, value in zip(keys, group_key, strict=True):
            if value is not None:
                result[key.strip("`")] = value
        for function, args, name in aggregates:
            result[name] = _aggregate(function, args, members)
        output.append(result)
    return output


def _key_value(row: dict[str, Any], key: str) -> Any:
    binned = re.fullmatch(r"bin\((\d+)s\)", key)
    if binned:
        width = int(binned.group(1)) * 1000
        return _Time((int(row["@timestamp"]) // width) * width)
    return row.get(key.strip("`"))


@dataclass(frozen=True, order=True)
class _Time:
    ms: int

    def __str__(self) -> str:
        return format_time(self.ms)


def _aggregate(function: str, args: list[str], rows: list[dict[str, Any]]) -> Any:
    if function == "count":
        return len(rows) if args in (["*"], [""]) else sum(1 for r in rows if r.get(args[0]) is not None)
    name = args[0]
    if function == "count_distinct":
        return len({str(v) for r in rows if (v := r.get(name)) is not None})
    if function in ("earliest", "latest"):
        ordered = sorted(rows, key=lambda r: int(r["@timestamp"]))
        chosen = ordered[0] if function == "earliest" else ordered[-1]
        return chosen.get(name)
    values = [float(r[name]) for r in rows if _number(r.get(name))]
    if function in ("min", "max") and name in TIME_FIELDS:
        return _Time(int(min(values) if function == "min" else max(values)))
    if not values:
        return None
    if function == "sum":
        return sum(values)
    if function == "avg":
        return sum(values) / len(values)
    if function == "min":
        return min(values)
    if function == "max":
        return max(values)
    if function == "pct":
        return quantile(values, float(args[1]) / 100)
    raise malformed(f"unsupported aggregate {function}")


def _number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _pattern(rows: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    clusters: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        value = row.get(name)
        if value is not None:
            clusters[mask_body(str(value))].append(str(value))
    total = sum(len(v) for v in clusters.values()) or 1
    return [
        {
            "@pattern": pattern,
            "@sampleCount": len(lines),
            "@ratio": len(lines) / total,
            "@logSamples": json.dumps(lines[:3]),
        }
        for pattern, lines in clusters.items()
    ]


def _render(value: Any, name: str) -> str:
    if isinstance(value, _Time):
        return str(value)
    if name in TIME_FIELDS and isinstance(value, int | float):
        return format_time(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def run_query(events: list[StoredEvent], query: str) -> list[list[dict[str, str]]]:
    rows = [dict(e.fields) for e in events]
    shown = ["@timestamp", "@message", "@ptr"]
    limit = 10_000
    aggregated = False
    for command in split_commands(query):
        verb, _, rest = command.partition(" ")
        if verb == "fields":
            shown = []
            for item in _split_top(rest):
                name, evaluate = _expression(item)
                shown.append(name)
                for row in rows:
                    value = evaluate(row)
                    if value is not None:
                        row[name] = value
            shown.append("@ptr")
        elif verb == "filter":
            condition = _Filter(rest)
            rows = [r for r in rows if condition.matches(r)]
        elif verb == "parse":
            target, _, literal = rest.strip().partition(" ")
            regex = _insights_regex(literal.strip())
            for row in rows:
                found = regex.search(str(row.get(target.strip("`"), "")))
                if found:
                    row.update({k: v for k, v in found.groupdict().items() if v is not None})
        elif verb == "sort":
            name, _, direction = rest.strip().partition(" ")
            rows = sorted(
                rows, key=lambda r: _sort_key(r.get(name.strip("`"))), reverse=direction.strip() == "desc"
            )
        elif verb == "limit":
            limit = int(rest)
        elif verb == "stats":
            rows, aggregated = _stats(rows, rest.strip()), True
        elif verb == "pattern":
            rows, aggregated = _pattern(rows, rest.strip().strip("`")), True
        else:
            raise malformed(f"unsupported command {verb!r}")
    output = []
    for row in itertools.islice(rows, limit):
        names = list(row) if aggregated else [n for n in dict.fromkeys(shown) if n in row]
        output.append([{"field": n, "value": _render(row[n], n)} for n in names if row.get(n) is not None])
    return output


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, _Time):
        return (0, value.ms)
    if _number(value):
        return (0, float(value))
    return (1, str(value or ""))
