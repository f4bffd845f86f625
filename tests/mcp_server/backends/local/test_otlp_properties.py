from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_server.backends.local import LocalBackend
from mcp_server.backends.local.otlp import attributes

_scalars = st.one_of(
    st.text(max_size=20),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _encode(value: Any) -> dict[str, Any]:
    """OTLP/JSON AnyValue, written the way the spec says (64-bit ints as decimal strings)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_encode(v) for v in value]}}
    return {"kvlistValue": {"values": [{"key": k, "value": _encode(v)} for k, v in value.items()]}}


@given(st.dictionaries(st.text(min_size=1, max_size=12), _values, max_size=6))
def test_any_attribute_value_decodes_to_what_was_encoded(values: dict[str, Any]) -> None:
    encoded = [{"key": key, "value": _encode(value)} for key, value in values.items()]

    assert attributes(encoded) == values


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=10**18), st.integers(min_value=0, max_value=10**9)),
        min_size=1,
        max_size=5,
    )
)
def test_span_times_keep_nanosecond_precision_through_the_store(
    tmp_path_factory: Any, times: list[tuple[int, int]]
) -> None:
    directory: Path = tmp_path_factory.mktemp("prop")
    spans = [
        {
            "traceId": f"{i + 1:032x}",
            "spanId": f"{i + 1:016x}",
            "name": "op",
            "kind": 2,
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + length),
        }
        for i, (start, length) in enumerate(times)
    ]
    request = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
    (directory / "traces.jsonl").write_text(json.dumps(request) + "\n")

    backend = LocalBackend.from_scenario(directory)
    stored = {
        s.span_id: (s.start_time_unix_nano, s.end_time_unix_nano)
        for i in range(len(times))
        for s in backend.get_trace(f"{i + 1:032x}")
    }

    assert stored == {f"{i + 1:016x}": (start, start + length) for i, (start, length) in enumerate(times)}
    assert backend.list_services() == ["unknown_service"]
