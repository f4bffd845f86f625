"""Latency attribution: gaps between callers and callees compared with their peers."""

from __future__ import annotations

from mcp_server.analysis.latency import peer_gap_outliers
from mcp_server.analysis.span_totals import GroupTotals
from tests.mcp_server.analysis.scopes import twenty_minutes

SCOPE = twenty_minutes(["gw", "a", "b", "c", "d", "slow"])


def _edge(count: int, median: float, mean: float) -> GroupTotals:
    return GroupTotals(count=count, self_time=mean * count, self_median=median)


def _totals(slow_base: int) -> tuple[dict[tuple, GroupTotals], dict[tuple, GroupTotals]]:
    # a delayed pod among three: its callers' median gap stays at the healthy pods' 0.7 ms while a
    # third of the calls wait 200 ms more
    inc = {("gw", f"GET /{x}", None, x): _edge(40, 0.6, 0.6) for x in "abcd"}
    inc[("gw", "GET /slow", None, "slow")] = _edge(40, 0.7, 67.0)
    base = {("gw", "GET /slow", None, "slow"): _edge(slow_base, 0.7, 66.0)} if slow_base else {}
    return base, inc


def test_a_delayed_pods_edges_stand_out_by_their_mean_when_traces_barely_precede_the_onset():
    found = peer_gap_outliers(_totals(slow_base=12), SCOPE, past_seconds=10.0)
    assert [d.callee for d in found] == ["slow"]
    assert found[0].peer_baseline and found[0].edge


def test_an_edge_with_a_minute_of_its_own_past_is_left_to_the_change_over_time():
    assert peer_gap_outliers(_totals(slow_base=12), SCOPE, past_seconds=120.0) == []


def test_with_a_full_past_the_peer_comparison_keeps_to_medians():
    assert peer_gap_outliers(_totals(slow_base=0), SCOPE, past_seconds=120.0) == []


def test_an_edge_whose_short_past_already_shows_the_change_is_not_reported_twice():
    totals = _totals(slow_base=12)
    found = peer_gap_outliers(totals, SCOPE, past_seconds=10.0)
    assert peer_gap_outliers(totals, SCOPE, past_seconds=10.0, found=found) == []
