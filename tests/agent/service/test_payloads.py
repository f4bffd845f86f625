from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.service.payloads import (
    AlarmEvent,
    AlarmSource,
    AlarmStatus,
    PayloadError,
    Rejected,
    alarm_from_eventbridge,
    alarms_from_alertmanager,
    parse_duration,
)
from tests.agent.service.samples import ALERTMANAGER, EVENTBRIDGE

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            out += _paths(value, (*prefix, index))
    return out


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copied = copy.deepcopy(doc)
    target = copied
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copied


def _mutations(document: dict[str, Any]) -> st.SearchStrategy[bytes]:
    paths = _paths(document)
    return st.tuples(st.sampled_from(paths), JSON).map(
        lambda pv: json.dumps(_replace(document, *pv)).encode()
    )


def _only_payload_errors(parse: Any, body: bytes) -> None:
    with contextlib.suppress(PayloadError):
        parse(body)


@settings(max_examples=150, deadline=None)
@given(_mutations(EVENTBRIDGE))
def test_any_eventbridge_shape_is_an_event_or_a_payload_error(body: bytes) -> None:
    _only_payload_errors(alarm_from_eventbridge, body)


@settings(max_examples=150, deadline=None)
@given(_mutations(ALERTMANAGER))
def test_any_alertmanager_shape_is_events_rejections_or_a_payload_error(body: bytes) -> None:
    _only_payload_errors(alarms_from_alertmanager, body)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_are_a_payload_error(body: bytes) -> None:
    _only_payload_errors(alarm_from_eventbridge, body)
    _only_payload_errors(alarms_from_alertmanager, body)


def test_an_eventbridge_expression_alarm_with_a_null_metric_stat_is_an_event() -> None:
    doc = copy.deepcopy(EVENTBRIDGE)
    doc["detail"]["configuration"]["metrics"].append({"id": "e1", "expression": "m1 * 2", "metricStat": None})

    event = alarm_from_eventbridge(json.dumps(doc).encode())

    assert (event.metric, event.service) == ("Fault", "visits")


def test_an_alertmanager_alert_without_a_name_is_rejected_alone() -> None:
    doc = copy.deepcopy(ALERTMANAGER)
    doc["commonLabels"] = {}
    doc["alerts"][0]["labels"] = {"service": "visits"}

    first, second = alarms_from_alertmanager(json.dumps(doc).encode())

    assert isinstance(first, Rejected) and "alertname" in first.reason
    assert isinstance(second, AlarmEvent) and second.alarm_name == "BillingLatency"


def test_an_alarms_identity_is_its_source_name_and_labels_not_its_delivery() -> None:
    def event(message_id: str, **labels: str) -> AlarmEvent:
        return AlarmEvent(
            source=AlarmSource.ALERTMANAGER,
            message_id=message_id,
            alarm_name="HighErrorRate",
            status=AlarmStatus.FIRING,
            time="2026-01-01T10:00:00Z",  # type: ignore[arg-type]
            labels=labels,
            origin={"channel": message_id},
        )

    assert event("a", service="visits").identity == event("b", service="visits").identity
    assert event("a", service="visits").identity != event("a", service="billing").identity


def test_durations_read_like_people_write_them() -> None:
    assert parse_duration("30m").total_seconds() == 1800 and parse_duration("2h").total_seconds() == 7200
    for bad in ("0m", "30", "m", "1w", "-5m"):
        try:
            parse_duration(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} parsed")
