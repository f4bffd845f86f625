"""Fuzzed OTLP/JSON: a valid request with values swapped for hostile ones never makes a traceback.

Each example takes the valid request of one signal, replaces one to three values anywhere in it
(or drops a key, or adds an unknown one) with integers past 64 bits, enum names, non-finite
numbers, deep nesting, wrong types..., then decodes, converts to Arrow and redacts it as an import
does. The only acceptable failure is an :class:`InputFileError` naming the line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_server.backends.local.otlp import (
    LOG_COLUMNS,
    METRIC_COLUMNS,
    SPAN_COLUMNS,
    ColumnBuffer,
    decode_logs_file,
    decode_metrics_file,
    decode_traces_file,
)
from mcp_server.backends.local.redact_columns import redact_table
from mcp_server.backends.local.schema import LOG_ARROW, METRIC_ARROW, SPAN_ARROW
from mcp_server.errors import InputFileError
from mcp_server.redaction import Redactor
from tests.mcp_server.backends.local.otlp_requests import request

DECODERS = {
    "traces": (decode_traces_file, SPAN_COLUMNS, SPAN_ARROW),
    "logs": (decode_logs_file, LOG_COLUMNS, LOG_ARROW),
    "metrics": (decode_metrics_file, METRIC_COLUMNS, METRIC_ARROW),
}
EXAMPLES = 350  # per signal: 1,050 mutated requests in all

_hostile_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([2**63, 2**63 - 1, 2**64, -(2**63) - 1, 10**30, -1, 0, 25, 1e300, -0.0, 2.5]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "SEVERITY_NUMBER_ERROR9",
            "SEVERITY_NUMBER_INFOX",
            "SEVERITY_NUMBER_",
            "SPAN_KIND_SERVERX",
            "STATUS_CODE_ERROR",
            "AGGREGATION_TEMPORALITY_DELTA",
            "NaN",
            "Infinity",
            "-Infinity",
            "1e400",
            "18446744073709551616",
            "9" * 40,
            "²",
            "0x1f",
            "1_000",
            " 12 ",
            "",
            "a" * 70,
        ]
    ),
)
_hostile = st.recursive(
    _hostile_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                ["stringValue", "intValue", "arrayValue", "kvlistValue", "values", "key", "value", "x"]
            ),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON tree that holds a value."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*prefix, i))
    return found


def _mutate(req: dict[str, Any], path: tuple[Any, ...], how: str, value: Any) -> None:
    parent: Any = req
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "replace":
        parent[last] = value
    elif how == "drop" and isinstance(parent, dict):
        del parent[last]
    elif how == "unknown key" and isinstance(parent, dict):
        parent["unexpectedField"] = value
    elif how == "nest":
        nested: Any = parent[last]
        for _ in range(70):
            nested = {"arrayValue": {"values": [nested]}}
        parent[last] = nested


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize("kind", sorted(DECODERS))
def test_fuzzed_requests_decode_or_fail_with_a_named_line_never_a_traceback(
    kind: str, fuzz_dir: Path
) -> None:
    decode, columns, schema = DECODERS[kind]
    redactor = Redactor()
    path = fuzz_dir / f"{kind}.jsonl"
    outcomes = {"imported": 0, "rejected": 0}

    @settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
    )
    @given(st.data())
    def decode_mutated(data: st.DataObject) -> None:
        req = request(kind)
        for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
            paths = _paths(req)
            if not paths:
                break
            where = data.draw(st.sampled_from(paths))
            how = data.draw(st.sampled_from(["replace", "replace", "replace", "drop", "unknown key", "nest"]))
            _mutate(req, where, how, data.draw(_hostile))
        path.write_text(json.dumps(req) + "\n", encoding="utf-8")
        buffer = ColumnBuffer(columns)
        try:
            decode(path, buffer)
            redact_table(buffer.to_arrow(schema), kind, redactor)
        except InputFileError as exc:
            assert exc.line == 1 and "\n" not in str(exc)
            outcomes["rejected"] += 1
        else:
            outcomes["imported"] += 1

    decode_mutated()
    assert outcomes["rejected"] > EXAMPLES // 4 and outcomes["imported"] > 0
