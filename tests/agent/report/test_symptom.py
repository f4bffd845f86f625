"""The title, the first whys and the customer RCA say what customers got as the data measured it:
errors, slow responses or both; never what the trigger's words or the fault type suggest."""

from __future__ import annotations

from tests.simulated_reports import SimulatedReports


def _section(markdown: str, heading: str) -> str:
    return markdown.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]


def test_requests_that_only_slowed_make_a_slow_responses_title_and_whys(
    simulated_reports: SimulatedReports,
) -> None:
    # a network delay in a service behind the front door: no request failed, every one slowed
    markdown = simulated_reports.markdown("network_delay", "customers", 21)

    assert markdown.splitlines()[0].startswith(
        "# Slow responses on frontend caused by network delay in customers"
    )
    root = next(line for line in markdown.splitlines() if line.startswith("- **1 Why"))
    assert root.startswith("- **1 Why did customers of frontend see slow responses?**")
    assert "Why did frontend respond slowly to customers?" in markdown
    assert "The investigation traced the slowdown to customers" in markdown
    assert "Why did customers (postgresql:petclinic) slow down?" in markdown
    customer = next(simulated_reports.reports("network_delay", "customers", 21).glob("*.customer.md"))
    assert "requests to parts of our service were slow." in customer.read_text()


def test_failures_with_slower_successes_name_both_and_state_how_much_latency_rose(
    simulated_reports: SimulatedReports,
) -> None:
    markdown = simulated_reports.markdown("cpu_saturation", "frontend", 21)

    assert markdown.splitlines()[0].startswith(
        "# Slow responses and errors on frontend caused by cpu saturation"
    )
    summary = _section(markdown, "Summary")
    assert "requests failed (" in summary and ", and their median latency rose from " in summary
    slowed = next(line for line in _section(markdown, "Customer impact").splitlines() if "slowed" in line)
    # measured, with the failures counted beside it: a statement, not a question for the team
    assert slowed.startswith("- Requests to frontend slowed: their median latency rose from ")
    assert "TBD" not in slowed and "[rep-" in slowed
