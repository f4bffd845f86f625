"""What a host or zone skew says about the failures it concentrates, besides where they sit."""

from __future__ import annotations

from mcp_server.analysis.skew import Skew, own_failures
from mcp_server.backends.base import ErrorOrigin
from tests.mcp_server.analysis.scopes import ONSET


def _origin(
    service: str, peer: str | None, message: str, hosts: dict[str, int], zones: dict[str, int]
) -> ErrorOrigin:
    return ErrorOrigin(
        service=service,
        operation="POST /api/appointments",
        peer=peer,
        count=sum(hosts.values()),
        first_seen=ONSET,
        last_seen=ONSET,
        sample_trace_id="0" * 32,
        sample_message=message,
        sample_exception="ConnectTimeoutError" if peer else "KeyError",
        hosts=hosts,
        availability_zones=zones,
    )


ORIGINS = [
    _origin(
        "appointments", "dynamodb", "Connection to appointments-table timed out", {"h-b": 4}, {"zone-b": 4}
    ),
    _origin("appointments", None, "'vetId'", {"h-a": 6, "h-b": 1}, {"zone-a": 6, "zone-b": 1}),
    _origin("frontend", "api-gateway", "502 Bad Gateway", {"h-b": 9}, {"zone-b": 9}),
]


def _skew(dimension: str, member: str, metric: str = "latency", errors: int = 0) -> Skew:
    return Skew("appointments", dimension, member, metric, 0.9, 0.3, 0.02, 3, member_errors=errors)


def test_a_skewed_host_carries_its_own_commonest_failure_not_another_hosts_or_services():
    on_b, on_a = _skew("host", "h-b"), _skew("host", "h-a")

    assert own_failures([on_b, on_a], ORIGINS) == [on_b, on_a]
    assert on_b.failure_peer == "dynamodb"
    assert on_b.failure_text == "ConnectTimeoutError Connection to appointments-table timed out"
    assert (on_a.failure_peer, on_a.failure_text) == (None, "KeyError 'vetId'")


def test_a_skewed_zone_is_matched_by_zone_and_a_member_without_failures_stays_blank():
    zone, quiet = _skew("availability_zone", "zone-b"), _skew("host", "h-c")

    assert own_failures([zone, quiet], ORIGINS) == [zone, quiet]
    assert zone.failure_peer == "dynamodb"
    assert (quiet.failure_peer, quiet.failure_text) == (None, "")


def test_errors_on_a_host_that_mostly_failed_because_a_call_below_them_failed_are_not_the_hosts_doing():
    # h-b has 5 failures that start there; 9 failing spans of which 5 are its own stay a host skew,
    # 12 of which 5 are its own are mostly a failing callee's answers landing on it
    own = _skew("host", "h-b", metric="errors", errors=9)
    inherited = _skew("host", "h-b", metric="errors", errors=12)

    assert own_failures([own, inherited], ORIGINS) == [own]
