"""Options `sleuth serve` and `sleuth worker` share: both run the same investigation workers."""

from __future__ import annotations

from typing import Any

import typer


def store_option() -> Any:
    return typer.Option(
        None, "--store", help="Local store to investigate (default: $SLEUTH_DATA_DIR/store.duckdb)."
    )


def max_attempts_option() -> Any:
    return typer.Option(
        None, "--max-attempts", help="Tries before an investigation goes to the DLQ (default 3)."
    )


def lease_seconds_option() -> Any:
    return typer.Option(
        None,
        "--lease-seconds",
        help="A running investigation's lease, renewed while its worker lives (default 30): a killed "
        "worker's investigation is taken over within this time.",
    )


def reasoner_option() -> Any:
    return typer.Option(None, "--reasoner", help="offline | anthropic | bedrock (env SLEUTH_REASONER).")


def reports_option() -> Any:
    return typer.Option(
        None,
        "--reports",
        envvar="SLEUTH_REPORTS",
        help="Where results and reports are kept: a directory, or s3://bucket/prefix (default: "
        "results/ beside the queue).",
    )


def drain_seconds_option() -> Any:
    return typer.Option(
        None,
        "--drain-seconds",
        help="On SIGTERM: take no new investigation and let running ones finish for this long, then "
        "hand them back to the queue (default 30).",
    )
