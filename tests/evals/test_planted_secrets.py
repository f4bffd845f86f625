"""Redaction recall over every output channel, on the planted-secrets corpus (as ``make bench`` runs it)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from evals.bench.planted_secrets import GOAL, run
from evals.redaction.corpus import KINDS
from evals.redaction.recall import overall


def test_no_planted_secret_comes_out_of_any_channel_or_lies_under_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("SLEUTH_REASONER", raising=False)
    caplog.set_level(logging.WARNING)

    rows = {row.channel: row for row in run(tmp_path / "bench")}

    assert KINDS >= 50
    assert {channel: row.leaked for channel, row in rows.items() if row.leaked} == {}
    assert overall(list(rows.values())) >= GOAL
    # every planted secret was really there to leak: the store and the data directory hold every probe
    assert len(rows["store tables"].reached) == len(rows["files under the data dir"].reached) == KINDS
    for channel in ("investigate --json", "report markdown", "report html", "mcp answers", "claude requests"):
        assert len(rows[channel].reached) >= 10, channel
