"""Put a scenario into moto and responders so the AWS backend reads the same telemetry as the local one.

Use inside ``moto.mock_aws()``:

    with mock_aws():
        loaded = load_scenario(Path("evals/scenarios/x"))
        backend = loaded.backend()

Moto holds what it models faithfully: X-Ray segments (PutTraceSegments, GetTraceSummaries,
BatchGetTraces), CloudWatch metrics and alarms, log groups and events (DescribeLogGroups,
FilterLogEvents). Responders answer what moto lacks or gets wrong, computed from the same
scenario: Logs Insights queries (including Transaction Search's ``aws/spans``), X-Ray
GetServiceGraph and GetTraceSegmentDestination, DescribeAlarmHistory, Application Signals
(services, operations, dependencies, SLOs, entity events, audit findings), anomaly detectors
and CloudTrail LookupEvents (see :mod:`platform_fakes`).
Moto cannot evaluate X-Ray filter expressions, so they are dropped before moto sees them (and
kept in ``filter_expressions``); the backend filters spans exactly in Python anyway.
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import boto3

from mcp_server.backends.aws import span_analysis
from mcp_server.backends.aws.backend import AwsBackend
from mcp_server.backends.aws.clients import AwsClients
from mcp_server.backends.aws.config import AwsBackendConfig
from mcp_server.backends.aws.testing.clock import FakeClock
from mcp_server.backends.aws.testing.cloudwatch import FakeCloudWatchMetrics
from mcp_server.backends.aws.testing.control_plane import (
    NAMESPACE,
    REGION,
    alarm_history_handler,
    answer_application_signals,
    entity_event_id,
    load_alarms,
    lookup_events_handler,
)
from mcp_server.backends.aws.testing.insights import FakeInsights
from mcp_server.backends.aws.testing.platform_fakes import (
    PlatformAnswers,
    SignalsFromSpans,
    entity_events_handler,
    load_spans,
)
from mcp_server.backends.aws.testing.responders import Responders, strip_parameter
from mcp_server.backends.aws.testing.segments import trace_to_documents
from mcp_server.backends.base import MAX_LIMIT, LogQuery, SpanQuery
from mcp_server.backends.local import LocalBackend, read_scenario
from mcp_server.backends.local.schema import METRIC_ARROW
from mcp_server.scenario import METRICS_FILE
from mcp_server.telemetry import (
    LogRecord,
    Span,
    TimeWindow,
    from_nanos,
)

LOG_GROUP_TEMPLATE = "/sleuth/{service}"


def fake_session() -> boto3.Session:
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)


def scenario_config(**overrides: Any) -> AwsBackendConfig:
    values: dict[str, Any] = {
        "region": REGION,
        "log_group_template": LOG_GROUP_TEMPLATE,
        "metric_namespaces": [NAMESPACE],
        "max_attempts": 2,
    }
    values.update(overrides)
    return AwsBackendConfig(**values)


@dataclass
class LoadedScenario:
    clients: AwsClients
    config: AwsBackendConfig
    window: TimeWindow
    insights: FakeInsights
    responders: dict[str, Responders]
    platform: PlatformAnswers = field(default_factory=PlatformAnswers)
    filter_expressions: list[Any] = field(default_factory=list)
    extra_handlers: list[tuple[str, Any]] = field(default_factory=list)

    clock: FakeClock = field(default_factory=FakeClock)

    def backend(self, **config_overrides: Any) -> AwsBackend:
        """An AwsBackend on these clients whose "now" is the end of the scenario (no real sleeps)."""
        config = self.config.model_copy(update=config_overrides) if config_overrides else self.config
        end = self.window.end
        return AwsBackend(self.clients, config, now=lambda: end, clock=self.clock, sleep=self.clock.sleep)


def load_scenario(
    directory: str | Path,
    *,
    local: LocalBackend | None = None,
    clients: AwsClients | None = None,
    config: AwsBackendConfig | None = None,
    metrics_in_moto: bool = False,
    transaction_search: bool = True,
) -> LoadedScenario:
    """Load ``directory`` (already imported in ``local`` if given) into moto and responders.

    Metric reads go to :class:`FakeCloudWatchMetrics` unless ``metrics_in_moto`` (moto has no
    percentiles or metric math, and its ListMetrics is slow on scenario-sized data). With
    ``transaction_search`` every span is also in ``aws/spans`` and X-Ray says so.
    """
    directory = Path(directory)
    config = config or scenario_config()
    clients = clients or AwsClients.from_session(fake_session(), config)
    local = local or LocalBackend.from_scenario(directory)
    extent = local.time_range()
    spec = local.scenario_spec()
    window = extent or (
        spec.window
        if spec
        else TimeWindow(start=datetime.now(UTC) - timedelta(hours=1), end=datetime.now(UTC))
    )
    config = config.model_copy(
        update={"default_lookback_seconds": max(60, int(window.duration.total_seconds()) + 1)}
    )
    responders = {
        name: Responders(getattr(clients, name))
        for name in ("cloudwatch", "logs", "xray", "application_signals", "cloudtrail")
    }
    loaded = LoadedScenario(clients, config, window, FakeInsights(), responders)
    spans = _all_spans(local, window)
    _load_traces(clients.xray, spans)
    loaded.extra_handlers.append(
        strip_parameter(clients.xray, "GetTraceSummaries", "FilterExpression", loaded.filter_expressions)
    )
    responders["xray"].on("GetServiceGraph", _service_graph_handler(spans))
    groups = _load_logs(clients.logs, local, loaded.insights)
    loaded.insights.attach(responders["logs"])
    metric_reads = FakeCloudWatchMetrics()
    _load_metrics(clients.cloudwatch, directory, metric_reads, store_in_moto=metrics_in_moto)
    signals = SignalsFromSpans(spans)
    signals.load(metric_reads)
    signals.attach(responders["application_signals"])
    if not metrics_in_moto:
        metric_reads.attach(responders["cloudwatch"])
    loaded.platform.segment_destination = "CloudWatchLogs" if transaction_search else "XRay"
    loaded.platform.attach(
        responders["application_signals"], responders["logs"], responders["cloudwatch"], responders["xray"]
    )
    if transaction_search:
        load_spans(loaded.insights, spans)
    alarms = local.list_alarms()
    load_alarms(clients.cloudwatch, alarms)
    responders["cloudwatch"].on("DescribeAlarmHistory", alarm_history_handler(alarms))
    slos = local.list_slo_definitions()
    services = sorted(set(local.list_services()))
    answer_application_signals(responders["application_signals"], local, services, slos, groups, window)
    changes = local.list_changes()
    responders["cloudtrail"].on("LookupEvents", lookup_events_handler(changes))
    responders["application_signals"].on("ListEntityEvents", entity_events_handler(changes, entity_event_id))
    return loaded


# ------------------------------------------------------------------------------------- traces


def _all_spans(local: LocalBackend, window: TimeWindow) -> list[Span]:
    spans: list[Span] = []
    pending = [TimeWindow(start=window.start, end=window.end + timedelta(seconds=1))]
    while pending:
        part = pending.pop()
        found = local.query_spans(SpanQuery(window=part, limit=MAX_LIMIT))
        if len(found) >= MAX_LIMIT and part.duration > timedelta(milliseconds=2):
            middle = part.start + part.duration / 2
            pending += [TimeWindow(start=part.start, end=middle), TimeWindow(start=middle, end=part.end)]
            continue
        spans.extend(found)
    return spans


def _load_traces(xray: Any, spans: list[Span]) -> None:
    traces: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        traces[span.trace_id].append(span)
    documents = [json.dumps(doc) for trace in traces.values() for doc in trace_to_documents(trace)]
    for i in range(0, len(documents), 50):
        response = xray.put_trace_segments(TraceSegmentDocuments=documents[i : i + 50])
        if response.get("UnprocessedTraceSegments"):
            raise RuntimeError(f"X-Ray rejected segments: {response['UnprocessedTraceSegments'][:3]}")


def _service_graph_handler(spans: list[Span]) -> Any:
    traces: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        traces[span.trace_id].append(span)
    derived = span_analysis.derive_all(traces.values())

    def handle(params: dict[str, Any]) -> dict[str, Any]:
        window = TimeWindow(start=params["StartTime"], end=params["EndTime"])
        calls = span_analysis.edge_calls(derived, window)
        names = sorted({name for caller, callee, _ in calls for name in (caller, callee)})
        external = {callee for (_, callee, is_external) in calls if is_external}
        ids = {name: i for i, name in enumerate(names)}
        edges: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for (caller, callee, _), members in sorted(calls.items()):
            durations: dict[float, int] = defaultdict(int)
            for d in members:
                durations[d.span.duration_ms / 1000.0] += 1
            errors = sum(d.is_error for d in members)
            edges[caller].append(
                {
                    "ReferenceId": ids[callee],
                    "SummaryStatistics": {
                        "OkCount": len(members) - errors,
                        "ErrorStatistics": {"TotalCount": 0},
                        "FaultStatistics": {"TotalCount": errors},
                        "TotalCount": len(members),
                        "TotalResponseTime": sum(d.span.duration_ms for d in members) / 1000.0,
                    },
                    "ResponseTimeHistogram": [{"Value": v, "Count": c} for v, c in sorted(durations.items())],
                }
            )
        services = [
            {
                "ReferenceId": ids[name],
                "Name": name,
                "Type": "remote" if name in external and name not in edges else "AWS::ECS::Container",
                "Edges": edges.get(name, []),
            }
            for name in names
        ]
        return {"Services": services, "StartTime": window.start, "EndTime": window.end}

    return handle


# --------------------------------------------------------------------------------------- logs


def log_message(record: LogRecord) -> str:
    """The JSON the OpenTelemetry CloudWatch Logs exporter writes for one record."""
    data: dict[str, Any] = {
        "body": record.body,
        "severity_number": record.severity_number,
        "severity_text": record.severity_text or record.severity.value,
    }
    if record.flags:
        data["flags"] = record.flags
    if record.trace_id:
        data["trace_id"] = record.trace_id
    if record.span_id:
        data["span_id"] = record.span_id
    if record.attributes:
        data["attributes"] = record.attributes
    data["resource"] = record.resource or {"service.name": record.service}
    return json.dumps(data, ensure_ascii=False)


def _load_logs(logs: Any, local: LocalBackend, insights: FakeInsights) -> dict[str, list[str]]:
    records = local.query_logs(LogQuery(limit=MAX_LIMIT * 100))
    by_group: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for record in records:
        group = LOG_GROUP_TEMPLATE.format(service=record.service)
        by_group[group].append((record.time_unix_nano // 1_000_000, log_message(record)))
    groups: dict[str, list[str]] = defaultdict(list)
    for service in local.list_services():
        group = LOG_GROUP_TEMPLATE.format(service=service)
        groups[service].append(group)
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="scenario")
        events = sorted(by_group.get(group, []))
        for timestamp, message in events:
            insights.add(group, timestamp, message)
        insights.events.setdefault(group, [])
        batch: list[dict[str, Any]] = []
        size = 0
        for timestamp, message in events:
            event_size = len(message.encode()) + 26
            if batch and (len(batch) >= 10_000 or size + event_size > 1_000_000):
                _put(logs, group, batch)
                batch, size = [], 0
            batch.append({"timestamp": timestamp, "message": message})
            size += event_size
        if batch:
            _put(logs, group, batch)
    return dict(groups)


@contextmanager
def moto_logs_clock(at: datetime) -> Iterator[None]:
    """Make moto's CloudWatch Logs accept events as if it were ``at`` (it rejects events over 14 days old)."""
    try:
        import moto.logs.models as moto_logs
    except ImportError:  # no moto: nothing to adjust
        yield
        return
    naive = at.astimezone(UTC).replace(tzinfo=None)
    with patch.object(moto_logs, "utcnow", lambda: naive):
        yield


def _put(logs: Any, group: str, batch: list[dict[str, Any]]) -> None:
    with moto_logs_clock(from_nanos(batch[-1]["timestamp"] * 1_000_000) + timedelta(hours=1)):
        response = logs.put_log_events(logGroupName=group, logStreamName="scenario", logEvents=batch)
    if response.get("rejectedLogEventsInfo"):
        raise RuntimeError(f"CloudWatch Logs rejected events of {group}: {response['rejectedLogEventsInfo']}")


# ------------------------------------------------------------------------------------ metrics


def _load_metrics(
    cloudwatch: Any, directory: Path, reads: FakeCloudWatchMetrics, store_in_moto: bool
) -> None:
    if not (directory / METRICS_FILE).exists():
        return
    with tempfile.TemporaryDirectory(prefix="sleuth-metrics-") as only_metrics:
        # decode just the metrics file (the rest of the scenario is already in the local store)
        (Path(only_metrics) / METRICS_FILE).symlink_to((directory / METRICS_FILE).resolve())
        decoded = read_scenario(Path(only_metrics), require_spec=False)
    rows = decoded.metrics.to_arrow(METRIC_ARROW).to_pylist() if len(decoded.metrics) else []
    series: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        series[row["series_key"]].append(row)
    data: list[dict[str, Any]] = []
    for points in series.values():
        points.sort(key=lambda r: r["time_ns"])
        previous: float | None = None
        for row in points:
            datum = _datum(row, previous)
            previous = row["value"]
            if datum is not None:
                data.append(datum)
    for datum in data:
        reads.put(NAMESPACE, datum)
    if store_in_moto:
        for i in range(0, len(data), 1000):
            cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[i : i + 1000])


def _datum(row: dict[str, Any], previous: float | None) -> dict[str, Any] | None:
    attributes = json.loads(row["attributes"] or "{}")
    dimensions = [{"Name": "Service", "Value": row["service"]}]
    dimensions += [
        {"Name": str(k), "Value": str(v)}
        for k, v in sorted(attributes.items())
        if isinstance(v, str | int | float | bool) and str(v)
    ][:29]
    datum: dict[str, Any] = {
        "MetricName": row["name"],
        "Dimensions": dimensions,
        "Timestamp": from_nanos(int(row["time_ns"])),
    }
    kind = row["kind"]
    if kind in ("histogram", "exponential_histogram", "summary"):
        if not row["count"]:
            return None
        datum["StatisticValues"] = {
            "SampleCount": float(row["count"]),
            "Sum": float(row["sum"] or 0.0),
            "Minimum": float(row["min"] if row["min"] is not None else (row["sum"] or 0.0) / row["count"]),
            "Maximum": float(row["max"] if row["max"] is not None else (row["sum"] or 0.0) / row["count"]),
        }
        return datum
    cumulative = row["temporality"] == 2 or (kind == "sum" and row["temporality"] != 1)
    if cumulative:
        if previous is None:
            return None  # the first cumulative point has no increase (as in the local store)
        value = row["value"] - previous
        datum["Value"] = row["value"] if value < 0 else value
        return datum
    datum["Value"] = float(row["value"])
    return datum
