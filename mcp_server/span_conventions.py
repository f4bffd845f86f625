"""OpenTelemetry's span conventions: the kind and status enums as OTLP carries them, and the rules
that read errors, HTTP statuses and peers off a span's attributes, shared by every backend and
analysis."""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Any


class SpanKind(IntEnum):
    """OTLP ``Span.SpanKind``."""

    UNSPECIFIED = 0
    INTERNAL = 1
    SERVER = 2
    CLIENT = 3
    PRODUCER = 4
    CONSUMER = 5


class StatusCode(IntEnum):
    """OTLP ``Status.StatusCode``."""

    UNSET = 0
    OK = 1
    ERROR = 2


HTTP_STATUS_KEYS = ("http.response.status_code", "http.status_code")
GRPC_STATUS_KEYS = ("rpc.grpc.status_code",)


def span_http_status(attributes: dict[str, Any]) -> int | None:
    for key in HTTP_STATUS_KEYS:
        value = attributes.get(key)
        if value is not None:
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None


def span_is_error(status_code: int, kind: int, attributes: dict[str, Any], event_names: list[str]) -> bool:
    """The error rule every backend and analysis shares.

    OpenTelemetry semantic conventions: a SERVER span is an error for HTTP 5xx, a CLIENT span for
    4xx and 5xx; gRPC non-OK codes are errors; an ``exception`` event marks an error when the
    instrumentation left the status unset.
    """
    if status_code == StatusCode.ERROR:
        return True
    if status_code == StatusCode.OK:
        return False
    http = span_http_status(attributes)
    if http is not None:
        if http >= 500:
            return True
        if http >= 400 and kind == SpanKind.CLIENT:
            return True
    for key in GRPC_STATUS_KEYS:
        grpc = attributes.get(key)
        if grpc is not None and str(grpc) not in ("0", "OK"):
            return True
    if attributes.get("error.type"):
        return True
    return "exception" in event_names


def span_states_outcome(status_code: int, attributes: dict[str, Any], is_error: bool) -> bool:
    """Whether a span says how its request ended: a status code, an HTTP or gRPC status, or a
    failure it was flagged with. Spans that say none of this (bare timings) count requests but
    cannot tell a failed one from a good one, so zero failures among them means "unknown"."""
    if is_error or status_code != StatusCode.UNSET or span_http_status(attributes) is not None:
        return True
    return any(attributes.get(key) is not None for key in GRPC_STATUS_KEYS)


# The attributes that name what a call talks to: the logical service (``service.peer.name``, which
# replaced ``peer.service``; data from older SDKs still carries the latter), then its network
# address, which names a host (``customers.prod.svc.cluster.local``) more than a service.
PEER_SERVICE_KEYS = ("service.peer.name", "peer.service")
PEER_ADDRESS_KEYS = ("server.address", "net.peer.name")
PEER_KEYS = PEER_SERVICE_KEYS + PEER_ADDRESS_KEYS


def peer_service(peer: str | None, services: set[str]) -> str | None:
    """The instrumented service a peer names, if any ("customers",
    "customers.prod.svc.cluster.local", "customers:8080")."""
    if not peer:
        return None
    if peer in services:
        return peer
    head = re.split(r"[.:/]", peer, maxsplit=1)[0]
    return head if head in services else None


def span_peer(kind: int, attrs: dict[str, Any]) -> str | None:
    """The dependency a client/producer span talks to, named as an operator would name it."""
    if kind not in (3, 4):
        return None
    named = next((attrs[key] for key in PEER_SERVICE_KEYS if attrs.get(key)), None)
    if named is not None:
        return str(named)
    if attrs.get("rpc.system") == "aws-api" and attrs.get("rpc.service"):
        tables = attrs.get("aws.dynamodb.table_names")
        if isinstance(tables, list) and tables:
            return f"{attrs['rpc.service']}:{tables[0]}"
        return str(attrs["rpc.service"])
    if attrs.get("db.system"):
        name = attrs.get("db.namespace") or attrs.get("db.name")
        return f"{attrs['db.system']}:{name}" if name else str(attrs["db.system"])
    if attrs.get("messaging.system"):
        dest = attrs.get("messaging.destination.name") or attrs.get("messaging.destination")
        return f"{attrs['messaging.system']}:{dest}" if dest else str(attrs["messaging.system"])
    for key in (*PEER_ADDRESS_KEYS, "http.host"):
        if attrs.get(key):
            return str(attrs[key])
    if attrs.get("rpc.service"):
        return str(attrs["rpc.service"])
    return None
