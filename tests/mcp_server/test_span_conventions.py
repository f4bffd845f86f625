"""Reading what a call talks to off its attributes, by the current conventions and older ones."""

from __future__ import annotations

from mcp_server.span_conventions import SpanKind, peer_service, span_peer

SERVICES = {"customers", "orders"}


def test_a_client_span_names_its_peer_by_the_current_service_peer_name_before_the_older_peer_service():
    attrs = {"service.peer.name": "orders", "peer.service": "legacy-orders", "server.address": "10.0.0.7"}
    assert span_peer(SpanKind.CLIENT, attrs) == "orders"


def test_a_client_span_from_an_older_sdk_names_its_peer_by_peer_service():
    assert span_peer(SpanKind.CLIENT, {"peer.service": "orders", "server.address": "10.0.0.7"}) == "orders"


def test_a_client_span_without_a_service_name_names_its_peer_by_address():
    assert span_peer(SpanKind.CLIENT, {"server.address": "orders.prod.svc.cluster.local"}) == (
        "orders.prod.svc.cluster.local"
    )


def test_a_server_span_has_no_peer():
    assert span_peer(SpanKind.SERVER, {"service.peer.name": "orders"}) is None


def test_an_address_names_the_instrumented_service_its_host_begins_with():
    assert peer_service("customers.prod.svc.cluster.local", SERVICES) == "customers"
    assert peer_service("customers:8080", SERVICES) == "customers"
    assert peer_service("dynamodb.us-east-1.amazonaws.com", SERVICES) is None
    assert peer_service(None, SERVICES) is None
