"""Log lines the simulated services write: access logs, domain messages, errors with stack traces.

Java services print Spring Boot plain text; Go, Python and Node services print JSON. Request logs
carry the trace and span ids (the OpenTelemetry log bridge); logs shipped from files by the
collector's filelog receiver carry them only inside the body, and background logs (health checks,
startup, GC, TLS alerts) carry none.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from evals.simulator.messages import Failure, class_name
from evals.simulator.records import SCOPES, Resources, log_record
from evals.simulator.topology import Dependency, Host, Operation, Service

if TYPE_CHECKING:
    from evals.simulator.metrics import MinuteAggregate

NS_PER_MS = 1_000_000

DOMAIN_MESSAGES: dict[str, list[str]] = {
    "frontend": ["Rendered page {op} in {ms}ms", "Session {id} resolved for owner {id2}"],
    "api-gateway": ["Routed {op} to upstream", "Token accepted for client petclinic-web"],
    "auth": ["Session {id} verified", "Token refreshed for user {id2}"],
    "customers": ["Loaded owner {id} with {n} pets", "Found {n} pets for owner {id}"],
    "vets": ["Returning {n} vets", "Availability computed for vet {id}: {n} free slots"],
    "visits": ["Found {n} visits for pet {id}", "Created visit {id} for pet {id2}"],
    "appointments": ["Booked appointment {id} with vet {id2}", "Slot {id} reserved for {n} minutes"],
    "billing": ["Invoice {id} total computed: {n}0.00 USD", "Invoice {id} marked paid"],
    "payments": ["Charge {id} authorised by provider", "Charge {id} captured"],
    "inventory": ["Item {id} stock level {n}", "Stock lookup for item {id}"],
    "notifications": ["Reminder email queued for owner {id}", "Email {id} accepted by provider"],
    "reports-batch": ["Reconciled {n} invoices", "Reconciliation page {id} done"],
}

# Harmless warnings every production service prints now and then.
BACKGROUND_WARNINGS: dict[str, list[str]] = {
    "java": [
        "HikariPool-1 - Thread starvation or clock leap detected (housekeeper delta=1m1s).",
        "Spring Data repository method uses deprecated Sort.unsorted(); results may be unordered",
        "Client sent deprecated header X-Petclinic-Client; please upgrade",
    ],
    "go": ["slow request to instance metadata service (212ms)", "config reload skipped: file unchanged"],
    "python": [
        "Connection pool is full, discarding connection: sqs.us-east-1.amazonaws.com",
        "DeprecationWarning: datetime.utcnow() is deprecated",
    ],
    "nodejs": [
        "MaxListenersExceededWarning: Possible EventEmitter memory leak detected. 11 close listeners added",
        "Slow render of /owners (310ms)",
    ],
}


def _failure_line(service: Service, failure: Failure, text_lead: str, json_lead: str) -> str:
    """A failure as the service logs it: the stack trace in plain-text logs, one line in JSON ones."""
    if service.log_format == "text" and failure.stack:
        return f"{text_lead}: {failure.stack}"
    return f"{json_lead}: {failure.text}"


class LogWriterMixin:
    """Log emission for :class:`evals.simulator.engine.Engine` (kept apart to keep modules small)."""

    rng: random.Random
    resources: Resources
    logs: list[tuple[int, int, dict[str, Any], str, dict[str, Any]]]
    agg: MinuteAggregate
    domain_messages: dict[str, list[str]] = DOMAIN_MESSAGES

    def _resource(self, service: Service, host: Host, t: int) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def _log(
        self,
        service: Service,
        host: Host,
        t: int,
        severity: str,
        message: str,
        logger: str,
        trace_id: str | None = None,
        span_id: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        # Go and Node services ship logs from files: the ids are only in the JSON body for most lines.
        correlate = service.log_format == "text" or service.runtime == "python" or self.rng.random() < 0.5
        record = log_record(service, t, severity, message, logger, trace_id, span_id, fields, correlate)
        rid, resource = self._resource(service, host, t)
        self.logs.append((t, rid, resource, SCOPES[service.runtime]["log"], record))

    def _logger(self, service: Service, part: str) -> str:
        if service.runtime == "java":
            return f"o.s.s.p.{service.name.replace('-', '')}.{part}.{class_name(service.name)}{part.capitalize()}"
        return f"{service.name}.{part}"

    def _domain_message(self, service: Service, op: Operation) -> str:
        templates = self.domain_messages.get(service.name) or ["Handled {op}"]
        template = templates[self.rng.randrange(len(templates))]
        rng = self.rng
        return template.format(
            op=op.name,
            ms=rng.randrange(3, 40),
            id=rng.randrange(1, 5000),
            id2=rng.randrange(1, 5000),
            n=rng.randrange(0, 9),
        )

    def log_request(
        self,
        service: Service,
        op: Operation,
        host: Host,
        start: int,
        end: int,
        status: int,
        trace_id: str,
        span_id: str,
        failure: Failure | None,
    ) -> None:
        duration_ms = (end - start) // NS_PER_MS
        if self.rng.random() < 0.9:
            self._log(
                service,
                host,
                start + NS_PER_MS // 5,
                "INFO",
                f"Received {op.name}",
                self._logger(service, "web"),
                trace_id,
                span_id,
            )
        for share in (0.33, 0.66):
            if self.rng.random() > 0.85:
                continue
            self._log(
                service,
                host,
                start + int((end - start) * share),
                "INFO",
                self._domain_message(service, op),
                self._logger(service, "service"),
                trace_id,
                span_id,
            )
        if failure is not None:
            text = _failure_line(service, failure, "Request processing failed", "request failed")
            fields = (
                {"error.type": failure.exception_type, "http.route": op.route}
                if service.log_format == "json"
                else None
            )
            self._log(
                service,
                host,
                end - NS_PER_MS // 4,
                failure.log_severity,
                text,
                self._logger(service, "web"),
                trace_id,
                span_id,
                fields,
            )
        access = f"{op.name} {status} {duration_ms}ms" if op.method else f"{op.name} done in {duration_ms}ms"
        access_fields: dict[str, Any] | None = (
            {"http.status": status, "duration_ms": duration_ms} if service.log_format == "json" else None
        )
        self._log(
            service,
            host,
            end,
            "INFO",
            access,
            self._logger(service, "access"),
            trace_id,
            span_id,
            access_fields,
        )

    def log_handled_error(
        self,
        service: Service,
        host: Host,
        t: int,
        trace_id: str,
        span_id: str,
        failure: Failure,
    ) -> None:
        """An error the code catches, logs with its stack trace, and answers around."""
        lead = f"{failure.message}, continuing with defaults"
        text = _failure_line(service, failure, lead, lead)
        fields = {"error.type": failure.exception_type} if service.log_format == "json" else None
        self._log(
            service, host, t, "ERROR", text, self._logger(service, "service"), trace_id, span_id, fields
        )

    def log_call_failure(
        self,
        service: Service,
        host: Host,
        t: int,
        trace_id: str,
        span_id: str,
        callee: str,
        op: str,
        status: int | None,
        failure: Failure | None,
        will_retry: bool,
    ) -> None:
        what = f"{status}" if status is not None else (failure.text if failure else "error")
        if will_retry:
            self._log(
                service,
                host,
                t,
                "WARN",
                f"Call to {callee} {op} failed ({what}); retrying",
                self._logger(service, "client"),
                trace_id,
                span_id,
            )
        else:
            self._log(
                service,
                host,
                t,
                "ERROR",
                f"Call to {callee} {op} failed: {what}",
                self._logger(service, "client"),
                trace_id,
                span_id,
            )

    def log_call(
        self,
        service: Service,
        host: Host,
        t: int,
        trace_id: str,
        span_id: str,
        callee: str,
        op: str,
        status: int,
        duration_ns: int,
    ) -> None:
        self._log(
            service,
            host,
            t,
            "INFO",
            f"{op} -> {callee} {status} ({duration_ns // NS_PER_MS} ms)",
            self._logger(service, "client"),
            trace_id,
            span_id,
        )

    def log_dependency_call(
        self,
        service: Service,
        host: Host,
        t: int,
        trace_id: str,
        span_id: str,
        dep: Dependency,
        name: str,
        latency_ms: float,
    ) -> None:
        target = dep.table or dep.database or dep.queue or dep.name
        self._log(
            service,
            host,
            t,
            "INFO",
            f"{name} on {target} completed in {latency_ms:.1f} ms",
            self._logger(service, "repository"),
            trace_id,
            span_id,
        )

    def log_dependency_failure(
        self,
        service: Service,
        host: Host,
        t: int,
        trace_id: str,
        span_id: str,
        dep: Dependency,
        failure: Failure,
        attempt: int,
        will_retry: bool,
    ) -> None:
        if will_retry:
            self._log(
                service,
                host,
                t,
                "WARN",
                f"{failure.exception_type} from {dep.table or dep.name}; retrying (attempt {attempt + 2} of 3)",
                self._logger(service, "repository"),
                trace_id,
                span_id,
            )

    def log_cache_fallback(
        self, service: Service, host: Host, t: int, trace_id: str, span_id: str, failure: Failure
    ) -> None:
        self._log(
            service,
            host,
            t,
            "WARN",
            f"Cache unavailable, falling back to database: {failure.text}",
            self._logger(service, "cache"),
            trace_id,
            span_id,
        )

    def log_batch(
        self,
        service: Service,
        host: Host,
        start: int,
        end: int,
        op: Operation,
        trace_id: str,
        span_id: str,
        failure: Failure | None,
    ) -> None:
        if failure is None:
            self._log(
                service,
                host,
                end,
                "INFO",
                self._domain_message(service, op),
                self._logger(service, "jobs"),
                trace_id,
                span_id,
            )
            return
        self._log(
            service,
            host,
            end,
            "ERROR",
            f"Job {op.name} failed: {failure.stack or failure.text}",
            self._logger(service, "jobs"),
            trace_id,
            span_id,
        )

    def log_background(self, service: Service, host: Host, t: int) -> None:
        """Health checks, probes and housekeeping: no trace ids."""
        rng = self.rng
        for k in range(6):
            at = t + k * 10_000_000_000 + rng.randrange(0, 2_000_000_000)
            self._log(
                service,
                host,
                at,
                "INFO",
                f"GET /health 200 {rng.randrange(0, 3)}ms",
                self._logger(service, "health"),
            )
        if rng.random() < 0.12:
            warnings = BACKGROUND_WARNINGS.get(service.runtime, BACKGROUND_WARNINGS["java"])
            self._log(
                service,
                host,
                t + rng.randrange(0, 60_000_000_000),
                "WARN",
                warnings[rng.randrange(len(warnings))],
                self._logger(service, "runtime"),
            )
        if service.runtime == "java" and rng.random() < 0.5:
            self._log(
                service,
                host,
                t + rng.randrange(0, 60_000_000_000),
                "INFO",
                f"HikariPool-1 - Pool stats (total=10, active={rng.randrange(0, 4)}, idle=8, waiting=0)",
                "com.zaxxer.hikari.pool.HikariPool",
            )
