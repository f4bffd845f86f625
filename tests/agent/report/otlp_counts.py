"""What a metric recorded, read straight from a scenario's OTLP/JSON metrics file: the truth a
report's figures are checked against, without the store in between."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path


def _moment(nanos: str | int) -> datetime:
    return datetime.fromtimestamp(int(nanos) / 1e9, UTC)


def points(data: Path, service: str, metric: str) -> list[tuple[datetime, datetime, float]]:
    """(interval start, stamp, value) of every point of ``service``'s ``metric``, a sum or a gauge."""
    out = []
    for line in (data / "metrics.jsonl").read_text(encoding="utf-8").splitlines():
        for rm in json.loads(line).get("resourceMetrics", []):
            names = [
                a["value"].get("stringValue")
                for a in rm["resource"]["attributes"]
                if a["key"] == "service.name"
            ]
            if names != [service]:
                continue
            for sm in rm["scopeMetrics"]:
                for m in sm["metrics"]:
                    if m["name"] != metric:
                        continue
                    for p in (m.get("sum") or m.get("gauge") or {}).get("dataPoints", []):
                        stamp = _moment(p["timeUnixNano"])
                        began = _moment(p["startTimeUnixNano"]) if "startTimeUnixNano" in p else stamp
                        out.append((began, stamp, float(p.get("asInt", p.get("asDouble", 0)))))
    return out


def counted(
    data: Path, service: str, metric: str, since: datetime | None = None, until: datetime | None = None
) -> int:
    """The sum of ``service``'s ``metric`` points whose counted interval began in [since, until)
    (every point when neither is given)."""
    return round(
        sum(
            value
            for began, _, value in points(data, service, metric)
            if (since is None or began >= since) and (until is None or began < until)
        )
    )
