"""What CloudWatch's own anomaly detection saw: log anomaly detectors and metric anomaly bands.

- CloudWatch Logs anomaly detectors (``ListLogAnomalyDetectors``, ``ListAnomalies``) learn each
  log group's patterns and flag new or surging ones; the anomalies overlapping the window on the
  services' log groups become :class:`PlatformFinding` (kind ``log``).
- CloudWatch metric anomaly detectors (``DescribeAnomalyDetectors``) model a metric's expected
  band; ``GetMetricData`` with ``ANOMALY_DETECTION_BAND(m, 2)`` reads the band next to the
  metric, and the points outside it become a finding (kind ``metric``). The band comes back as
  two results sharing the expression's id, labelled with ``High``/``Low`` (``Upper``/``Lower``);
  failing a label, the higher series is the upper bound.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from mcp_server.backends.aws.calls import ApiCaller
from mcp_server.backends.base import PlatformFinding
from mcp_server.telemetry import TimeWindow

MAX_LOG_DETECTORS = 100
MAX_ANOMALIES = 500
BAND_WIDTH = 2  # standard deviations
QUERIES_PER_CALL = 500
_PRIORITY = {"HIGH": 1.0, "MEDIUM": 0.6, "LOW": 0.3}


# ---------------------------------------------------------------------------------------- logs


def log_anomaly_findings(
    client: Any, calls: ApiCaller, groups: dict[str, str], window: TimeWindow
) -> list[PlatformFinding] | None:
    """Anomalies of the detectors watching ``groups`` (log group -> service); None when no
    detector watches any of them."""
    detectors = [
        d
        for d in calls.pages(
            "logs:ListLogAnomalyDetectors",
            client,
            "list_log_anomaly_detectors",
            "anomalyDetectors",
            MAX_LOG_DETECTORS,
        )
        if any(_group_name(arn) in groups for arn in d.get("logGroupArnList") or [])
    ]
    if not detectors:
        return None
    start_ms, end_ms = window.start_ns // 1_000_000, window.end_ns // 1_000_000
    findings = []
    for detector in detectors:
        for anomaly in calls.pages(
            "logs:ListAnomalies",
            client,
            "list_anomalies",
            "anomalies",
            MAX_ANOMALIES,
            anomalyDetectorArn=detector["anomalyDetectorArn"],
            suppressionState="UNSUPPRESSED",
        ):
            first, last = int(anomaly.get("firstSeen") or 0), int(anomaly.get("lastSeen") or 0)
            if first >= end_ms or last < start_ms:
                continue
            services = {
                groups[g] for g in map(_group_name, anomaly.get("logGroupArnList") or []) if g in groups
            }
            for service in sorted(services):
                pattern = str(anomaly.get("patternString") or "")
                findings.append(
                    PlatformFinding(
                        source="logs anomaly detector",
                        kind="log",
                        service=service,
                        description=f"{anomaly.get('description') or 'log anomaly'}: {pattern[:200]}",
                        severity=_PRIORITY.get(str(anomaly.get("priority", "")).upper(), 0.5),
                        component=str(detector.get("detectorName") or detector["anomalyDetectorArn"]),
                        first_seen=_ms(first),
                        last_seen=_ms(last),
                        attributes={"pattern": pattern[:500], "state": str(anomaly.get("state", ""))},
                    )
                )
    return findings


def _group_name(arn: str) -> str:
    """``arn:aws:logs:region:account:log-group:NAME[:*]`` -> NAME."""
    if ":log-group:" not in arn:
        return arn
    name = arn.split(":log-group:", 1)[1]
    return name[:-2] if name.endswith(":*") else name


def _ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


# ------------------------------------------------------------------------------------- metrics


def metric_band_findings(
    client: Any,
    calls: ApiCaller,
    service_of: Any,
    window: TimeWindow,
    service: str | None,
    period_seconds: int,
) -> list[PlatformFinding] | None:
    """Metrics of ``service`` (or every service) outside their anomaly band in ``window``; None
    when no metric of theirs has an anomaly detector. ``service_of(metric)`` names a metric's
    service (or None)."""
    detectors = []
    for namespace in calls.config.metric_namespaces:
        for detector in calls.pages(
            "cloudwatch:DescribeAnomalyDetectors",
            client,
            "describe_anomaly_detectors",
            "AnomalyDetectors",
            calls.config.max_anomaly_detectors,
            Namespace=namespace,
            AnomalyDetectorTypes=["SINGLE_METRIC"],
        ):
            single = detector.get("SingleMetricAnomalyDetector") or detector
            metric = {k: single[k] for k in ("Namespace", "MetricName", "Dimensions") if k in single}
            owner = service_of(metric)
            if owner is None or (service is not None and owner != service):
                continue
            if detector.get("StateValue") == "PENDING_TRAINING":
                continue
            detectors.append((owner, metric, str(single.get("Stat") or "Average")))
    detectors = detectors[: calls.config.max_anomaly_detectors]
    if not detectors:
        return None
    queries = []
    for i, (_, metric, stat) in enumerate(detectors):
        queries.append(
            {"Id": f"m{i}", "MetricStat": {"Metric": metric, "Period": period_seconds, "Stat": stat}}
        )
        queries.append({"Id": f"b{i}", "Expression": f"ANOMALY_DETECTION_BAND(m{i}, {BAND_WIDTH})"})
    results: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in range(0, len(queries), QUERIES_PER_CALL):
        for result in calls.pages(
            "cloudwatch:GetMetricData",
            client,
            "get_metric_data",
            "MetricDataResults",
            None,
            MetricDataQueries=queries[i : i + QUERIES_PER_CALL],
            StartTime=window.start,
            EndTime=window.end,
        ):
            results[str(result["Id"])].append(result)
    findings = []
    for i, (owner, metric, stat) in enumerate(detectors):
        finding = _outside_band(owner, metric, stat, results.get(f"m{i}", []), results.get(f"b{i}", []))
        if finding is not None:
            findings.append(finding)
    return findings


def _series(result: dict[str, Any]) -> dict[datetime, float]:
    return {
        t: float(v) for t, v in zip(result.get("Timestamps") or [], result.get("Values") or [], strict=False)
    }


def _bounds(band: list[dict[str, Any]]) -> tuple[dict[datetime, float], dict[datetime, float]] | None:
    if len(band) != 2:
        return None
    labelled = {}
    for result in band:
        label = str(result.get("Label") or "").lower()
        if "high" in label or "upper" in label:
            labelled["high"] = _series(result)
        elif "low" in label or "lower" in label:
            labelled["low"] = _series(result)
    if len(labelled) == 2:
        return labelled["low"], labelled["high"]
    a, b = (_series(r) for r in band)
    mean = lambda s: sum(s.values()) / len(s) if s else 0.0  # noqa: E731
    return (a, b) if mean(a) <= mean(b) else (b, a)


def _outside_band(
    service: str, metric: dict[str, Any], stat: str, values: list[dict[str, Any]], band: list[dict[str, Any]]
) -> PlatformFinding | None:
    bounds = _bounds(band)
    if not values or bounds is None:
        return None
    low, high = bounds
    points = _series(values[0])
    outside = sorted(t for t, v in points.items() if t in low and t in high and not low[t] <= v <= high[t])
    if len(outside) < 2:  # one point outside a 2-sigma band is expected now and then
        return None
    worst = max(outside, key=lambda t: abs(points[t] - (low[t] + high[t]) / 2) / max(high[t] - low[t], 1e-9))
    above = points[worst] > high[worst]
    name = str(metric.get("MetricName"))
    return PlatformFinding(
        source="cloudwatch anomaly band",
        kind="metric",
        service=service,
        description=(
            f"{name} ({stat}) left its anomaly band: {len(outside)} of {len(points)} points "
            f"{'above' if above else 'below'} it, worst {points[worst]:.4g} vs expected "
            f"{low[worst]:.4g}..{high[worst]:.4g} at {worst:%H:%M}"
        ),
        severity=min(1.0, len(outside) / max(3, len(points) / 4)),
        component=name,
        first_seen=outside[0],
        last_seen=outside[-1],
        value=points[worst],
        baseline=(low[worst] + high[worst]) / 2,
        attributes={"direction": "above" if above else "below", "statistic": stat},
    )
