"""``--backend aws`` for every command that reads telemetry (investigate, report, serve, mcp).

The options are the ones ``sleuth mcp`` has always taken (``--backend``, ``--aws-config``,
``--region``, ``--profile``), plus ``--start``/``--end`` for the live window to investigate;
:func:`open_cli_backend` opens the AWS backend from them through the backend factory, so a bad
profile, a missing region or missing credentials is one line on stderr, not a traceback.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel, ConfigDict

from mcp_server.backends.base import TelemetryBackend
from mcp_server.backends.factory import BACKEND_KINDS
from mcp_server.errors import SleuthError
from mcp_server.telemetry import TimeWindow

BACKEND_HELP = "local (a scenario directory or the local store) or aws (live telemetry)."
_RELATIVE = re.compile(r"^\s*-\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$", re.I)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def backend_option() -> Any:
    return typer.Option("local", "--backend", help=BACKEND_HELP)


def aws_config_option() -> Any:
    return typer.Option(None, "--aws-config", help="aws: a backend config file (env SLEUTH_AWS_CONFIG).")


def region_option() -> Any:
    return typer.Option(None, "--region", help="aws: region (env AWS_REGION).")


def profile_option() -> Any:
    return typer.Option(None, "--profile", help="aws: credentials profile (env AWS_PROFILE).")


def start_option() -> Any:
    return typer.Option(
        None,
        "--start",
        help="aws: window start, ISO 8601 or relative like -2h (default: an hour before --end).",
    )


def end_option() -> Any:
    return typer.Option(None, "--end", help="aws: window end, ISO 8601 or relative (default: now).")


class AwsOptions(BaseModel):
    model_config = ConfigDict(frozen=True)

    config_path: Path | None = None
    region: str | None = None
    profile: str | None = None

    def given(self) -> list[str]:
        names = {"config_path": "--aws-config", "region": "--region", "profile": "--profile"}
        return [flag for field, flag in names.items() if getattr(self, field) is not None]

    def factory_options(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


def check_kind(kind: str) -> None:
    if kind not in BACKEND_KINDS:
        raise SleuthError(f"unknown --backend {kind!r}; choose one of: {', '.join(BACKEND_KINDS)}")


def open_cli_backend(kind: str, aws: AwsOptions, local_flags: dict[str, object]) -> TelemetryBackend | None:
    """The AWS backend for ``--backend aws`` (None for local: the command opens its own store).

    Local-only flags with ``--backend aws``, or AWS flags without it, are one-line errors.
    """
    check_kind(kind)
    if kind != "aws":
        if aws.given():
            raise SleuthError(f"{', '.join(aws.given())} go with --backend aws")
        return None
    local = [flag for flag, value in local_flags.items() if value not in (None, False)]
    if local:
        raise SleuthError(f"{', '.join(local)} serve the local backend; leave them out with --backend aws")
    from mcp_server.backends.factory import open_backend

    return open_backend("aws", **aws.factory_options())


def live_window(start: str | None, end: str | None, now: datetime | None = None) -> TimeWindow | None:
    """The window ``--start``/``--end`` name (None when neither is given: the backend's default)."""
    if start is None and end is None:
        return None
    moment = now or datetime.now(UTC)
    end_time = parse_moment(end, moment, "--end") if end else moment
    start_time = parse_moment(start, moment, "--start") if start else end_time - timedelta(hours=1)
    if end_time <= start_time:
        raise SleuthError(f"--start {start_time.isoformat()} is not before --end {end_time.isoformat()}")
    return TimeWindow(start=start_time, end=end_time)


def parse_moment(value: str, now: datetime, flag: str) -> datetime:
    text = value.strip()
    if text.lower() == "now":
        return now
    relative = _RELATIVE.match(text)
    if relative:
        return now - timedelta(seconds=float(relative.group(1)) * _UNIT_SECONDS[relative.group(2).lower()])
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise SleuthError(
            f"{flag} {value!r} is not a time; use ISO 8601 like 2026-03-10T08:00:00Z or -30m, -2h, now"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
