from __future__ import annotations

from typing import Any

import pytest
from mcp.server import MCPServer

from tests.mcp_server.tools.calls import call, data, text

pytestmark = pytest.mark.anyio


async def test_list_slos_puts_the_breaching_slo_first_with_its_budget_and_burn_rate(
    checkout_server: MCPServer[Any],
) -> None:
    result = data(await call(checkout_server, "list_slos"))

    first = result["slos"][0]
    assert first["name"] == "checkout-availability"
    assert first["breaching"] is True
    assert first["attainment"] < 0.9
    assert first["burn_rate"] > 10
    assert first["error_budget_remaining"] < 0
    assert result["breaching_count"] == 1
    assert result["window"]["start"] == "2026-01-01T10:00:00Z"


async def test_get_slo_names_the_failing_operation_and_when_the_sli_turned_bad(
    checkout_server: MCPServer[Any],
) -> None:
    result = await call(checkout_server, "get_slo", name="checkout-availability")
    detail = data(result)

    assert detail["first_bad_bucket"] == "2026-01-01T10:15:00Z"
    assert detail["operations"][0]["operation"] == "POST /api/checkout"
    assert detail["operations"][0]["breaching"] is True
    assert not any(op["breaching"] for op in detail["operations"][1:])
    assert "POST /api/checkout" in text(result)


async def test_an_unknown_slo_is_an_error_listing_the_known_ones(checkout_server: MCPServer[Any]) -> None:
    result = await call(checkout_server, "get_slo", name="checkout-latency")

    assert result.is_error
    assert "known SLOs: cart-availability, checkout-availability, frontend-latency" in text(result)


async def test_audit_ranks_breaching_services_first_and_names_where_failures_start(
    checkout_server: MCPServer[Any],
) -> None:
    services = data(await call(checkout_server, "audit_services"))["services"]

    assert [s["service"] for s in services] == ["checkout", "payments", "frontend", "cart"]
    assert services[0]["status"] == "breaching"
    payments = services[1]
    assert payments["alarms_firing"] == ["payments-dynamodb-throttles"]
    assert "ProvisionedThroughputExceededException" in payments["top_error"]
    assert services[3]["status"] == "ok"


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ({"start": "yesterday"}, "start='yesterday' is not a time"),
        ({"start": "-5m", "end": "-10m"}, "is not before end"),
        ({"start": "2025-01-01T00:00:00Z"}, "more than the 7d a tool reads at once"),
        (
            {"service": "billing"},
            "unknown service 'billing'; known services: cart, checkout, frontend, payments",
        ),
    ],
)
async def test_bad_windows_and_unknown_services_are_errors_the_model_can_act_on(
    checkout_server: MCPServer[Any], arguments: dict[str, Any], complaint: str
) -> None:
    result = await call(checkout_server, "list_slos", **arguments)

    assert result.is_error
    assert complaint in text(result)


async def test_relative_times_count_back_from_the_end_of_recorded_data(
    checkout_server: MCPServer[Any],
) -> None:
    window = data(await call(checkout_server, "list_slos", start="-5m"))["window"]

    assert window == {"start": "2026-01-01T10:25:00Z", "end": "2026-01-01T10:30:00Z"}


async def test_a_window_outside_the_data_says_where_the_data_is(checkout_server: MCPServer[Any]) -> None:
    result = data(
        await call(checkout_server, "list_slos", start="2026-01-01T08:00:00Z", end="2026-01-01T09:00:00Z")
    )

    assert "data covers 2026-01-01T10:00:00Z" in result["message"]
