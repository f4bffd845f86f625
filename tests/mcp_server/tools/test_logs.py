from __future__ import annotations

from typing import Any

import pytest
from mcp.server import MCPServer

from mcp_server.backends.base import LogQuery
from mcp_server.backends.local import LocalBackend
from mcp_server.tools.common import iso
from tests.mcp_server.tools.calls import call, data, text

pytestmark = pytest.mark.anyio


async def test_log_excerpts_leave_the_server_with_emails_and_passwords_redacted(
    checkout_server: MCPServer[Any],
) -> None:
    result = await call(checkout_server, "query_logs", service="payments", min_severity="ERROR", limit=5)
    records = data(result)["records"]

    assert len(records) == 5
    for record in records:
        assert "ProvisionedThroughputExceededException" in record["body"]
        assert "jane.doe@example.com" not in record["body"]
        assert "hunter2" not in record["body"]
    assert "hunter2" not in text(result)
    assert "[REDACTED:email]" in text(result)


async def test_paging_through_logs_with_next_page_neither_repeats_nor_skips(
    checkout_server: MCPServer[Any], checkout_backend: LocalBackend
) -> None:
    every_time = [iso(r.time) for r in checkout_backend.query_logs(LogQuery(service="checkout", limit=1000))]
    first = data(await call(checkout_server, "query_logs", service="checkout", order="asc", limit=100))
    assert first["has_more"] is True
    assert first["truncated"] is True  # 100 records do not fit in 16k characters; the cursor follows the cut
    second = data(
        await call(
            checkout_server, "query_logs", service="checkout", order="asc", limit=100, **first["next_page"]
        )
    )

    paged = [r["time"] for r in first["records"] + second["records"]]
    assert paged == every_time[: len(paged)]
    assert "next page" in first["message"]


async def test_regex_and_trace_filters_narrow_the_records(checkout_server: MCPServer[Any]) -> None:
    matched = data(await call(checkout_server, "query_logs", regex=r"order 89\d:", limit=50))["records"]
    assert matched
    assert all("order 89" in r["body"] for r in matched)

    trace_id = matched[0]["trace_id"]
    same_trace = data(await call(checkout_server, "query_logs", trace_id=trace_id.upper()))["records"]
    assert {r["trace_id"] for r in same_trace} == {trace_id}
    assert {r["service"] for r in same_trace} == {"payments", "checkout"}


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ({"regex": "(unclosed"}, "bad regex '(unclosed'"),
        ({"limit": 5000}, "limit=5000 is out of range; use 1..500"),
        ({"min_severity": "LOUD"}, "min_severity"),
    ],
)
async def test_bad_log_queries_are_errors_that_say_what_to_fix(
    checkout_server: MCPServer[Any], arguments: dict[str, Any], complaint: str
) -> None:
    result = await call(checkout_server, "query_logs", **arguments)

    assert result.is_error
    assert complaint in text(result)


async def test_log_patterns_surface_the_new_throttling_error_with_its_sample_redacted(
    checkout_server: MCPServer[Any],
) -> None:
    result = await call(checkout_server, "log_patterns", service="payments")
    patterns = data(result)["patterns"]

    top = patterns[0]
    assert (top["status"], top["severity"], top["baseline_count"]) == ("new", "ERROR", 0)
    assert "ProvisionedThroughputExceededException" in top["template"]
    assert "hunter2" not in top["sample"]
    assert "jane.doe" not in text(result)


async def test_a_regex_the_log_store_cannot_run_is_refused_with_what_to_use_instead(
    checkout_server: MCPServer[Any],
) -> None:
    result = await call(checkout_server, "query_logs", regex="(?=charge)failed")

    assert result.is_error
    assert "look-around or a back-reference" in text(result)
