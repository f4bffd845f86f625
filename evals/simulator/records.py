"""Builders for OTLP span and log records, resources and instrumentation scopes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from evals.simulator.otlp import SEVERITY_NUMBER, attributes
from evals.simulator.topology import Host, Service, Topology

# Instrumentation scope names per runtime and span family, as the OpenTelemetry agents name them.
SCOPES: dict[str, dict[str, str]] = {
    "java": {
        "server": "io.opentelemetry.tomcat-10.0",
        "http": "io.opentelemetry.java-http-client",
        "dynamodb": "io.opentelemetry.aws-sdk-2.2",
        "sqs": "io.opentelemetry.aws-sdk-2.2",
        "sql": "io.opentelemetry.jdbc",
        "redis": "io.opentelemetry.lettuce-5.1",
        "internal": "io.opentelemetry.spring-scheduling-3.1",
        "log": "org.springframework.samples.petclinic",
    },
    "go": {
        "server": "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
        "http": "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
        "dynamodb": "go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws",
        "sqs": "go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws",
        "sql": "github.com/exaring/otelpgx",
        "redis": "github.com/redis/go-redis/extra/redisotel",
        "internal": "main",
        "log": "go.opentelemetry.io/contrib/bridges/otelslog",
    },
    "python": {
        "server": "opentelemetry.instrumentation.fastapi",
        "http": "opentelemetry.instrumentation.httpx",
        "dynamodb": "opentelemetry.instrumentation.botocore",
        "sqs": "opentelemetry.instrumentation.botocore",
        "sql": "opentelemetry.instrumentation.psycopg2",
        "redis": "opentelemetry.instrumentation.redis",
        "internal": "reports.jobs",
        "log": "opentelemetry.sdk._logs",
    },
    "nodejs": {
        "server": "@opentelemetry/instrumentation-http",
        "http": "@opentelemetry/instrumentation-undici",
        "dynamodb": "@opentelemetry/instrumentation-aws-sdk",
        "sqs": "@opentelemetry/instrumentation-aws-sdk",
        "sql": "@opentelemetry/instrumentation-pg",
        "redis": "@opentelemetry/instrumentation-ioredis",
        "internal": "app",
        "log": "@opentelemetry/winston-transport",
    },
}

SDK_LANGUAGE = {"java": "java", "go": "go", "python": "python", "nodejs": "nodejs"}


class Resources:
    """OTLP resources per (host, version); ids are assigned in first-use order."""

    def __init__(self, topology: Topology, cluster: str = "petclinic-prod") -> None:
        self.topology = topology
        self.cluster = cluster
        self._ids: dict[tuple[str, int, str], tuple[int, dict[str, Any]]] = {}

    def host(self, service: Service, host: Host, version: str) -> tuple[int, dict[str, Any]]:
        key = (service.name, host.index, version)
        found = self._ids.get(key)
        if found is None:
            attrs = {
                "service.name": service.name,
                "service.namespace": self.topology.name,
                "service.version": version,
                "service.instance.id": host.pod,
                "deployment.environment.name": "production",
                "telemetry.sdk.language": SDK_LANGUAGE.get(service.runtime, service.runtime),
                "telemetry.sdk.name": "opentelemetry",
                "cloud.provider": "aws",
                "cloud.platform": "aws_eks",
                "cloud.region": self.topology.region,
                "cloud.availability_zone": host.az,
                "host.name": host.name,
                "host.id": host.instance_id,
                "k8s.cluster.name": self.cluster,
                "k8s.namespace.name": self.topology.name,
                "k8s.pod.name": host.pod,
            }
            found = (len(self._ids), {"attributes": attributes(attrs)})
            self._ids[key] = found
        return found

    def service_level(self, service: Service) -> tuple[int, dict[str, Any]]:
        """A resource for metrics AWS reports per service (DynamoDB tables, SQS queues): no host."""
        key = (service.name, -1, "")
        found = self._ids.get(key)
        if found is None:
            attrs = {
                "service.name": service.name,
                "service.namespace": self.topology.name,
                "cloud.provider": "aws",
                "cloud.region": self.topology.region,
            }
            found = (len(self._ids), {"attributes": attributes(attrs)})
            self._ids[key] = found
        return found


def span_record(
    trace_id: str,
    span_id: str,
    parent_id: str | None,
    name: str,
    kind: int,
    start_ns: int,
    end_ns: int,
    attrs: dict[str, Any],
    error_message: str | None = None,
    events: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {"traceId": trace_id, "spanId": span_id}
    if parent_id:
        record["parentSpanId"] = parent_id
    record["flags"] = 257
    record["name"] = name
    record["kind"] = kind
    record["startTimeUnixNano"] = str(start_ns)
    record["endTimeUnixNano"] = str(end_ns)
    record["attributes"] = attributes(attrs)
    if events:
        record["events"] = events
    record["status"] = {"code": 2, "message": error_message} if error_message is not None else {}
    return record


def exception_event(time_ns: int, exception_type: str, message: str, stack: str) -> dict[str, Any]:
    return {
        "timeUnixNano": str(time_ns),
        "name": "exception",
        "attributes": attributes(
            {"exception.type": exception_type, "exception.message": message, "exception.stacktrace": stack}
        ),
    }


_SECOND_TEXT: dict[int, str] = {}


def timestamp_text(time_ns: int) -> str:
    second = time_ns // 1_000_000_000
    text = _SECOND_TEXT.get(second)
    if text is None:
        text = datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
        if len(_SECOND_TEXT) > 100_000:
            _SECOND_TEXT.clear()
        _SECOND_TEXT[second] = text
    return f"{text}.{(time_ns // 1_000_000) % 1000:03d}Z"


def log_record(
    service: Service,
    time_ns: int,
    severity: str,
    message: str,
    logger: str,
    trace_id: str | None = None,
    span_id: str | None = None,
    fields: dict[str, Any] | None = None,
    correlate: bool = True,
) -> dict[str, Any]:
    """A log line in the service's own format; trace ids ride on the record when ``correlate``."""
    if service.log_format == "json":
        payload: dict[str, Any] = {
            "time": timestamp_text(time_ns),
            "level": severity.lower(),
            "logger": logger,
        }
        payload["msg"] = message
        if fields:
            payload.update(fields)
        if trace_id:
            payload["trace_id"] = trace_id
            payload["span_id"] = span_id
        body = orjson.dumps(payload).decode()
    else:
        if service.batch:
            thread = "scheduling-1"
        else:
            thread = f"nio-8080-exec-{(time_ns // 7_000_000) % 50 + 1}" if trace_id else "main"
        body = f"{timestamp_text(time_ns)} {severity:>5} 1 --- [{thread}] {logger} : {message}"
    record: dict[str, Any] = {
        "timeUnixNano": str(time_ns),
        "observedTimeUnixNano": str(time_ns + 1_500_000),
        "severityNumber": SEVERITY_NUMBER[severity],
        "severityText": severity,
        "body": {"stringValue": body},
    }
    if fields and service.log_format == "text":
        record["attributes"] = attributes(fields)
    if trace_id and correlate:
        record["traceId"] = trace_id
        record["spanId"] = span_id
    return record
