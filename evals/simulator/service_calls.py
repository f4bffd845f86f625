"""Calls between instrumented services: a client span, the callee's server span, retries, timeouts.

A caller retries what its retry policy allows (502/503/504 and timeouts); a proxy passes the
upstream status through, any other service answers 500 when a call fails.
"""

from __future__ import annotations

from typing import Any

from evals.simulator.effects import CLIENT, NS_PER_MS, REASONS, SERVER, StepResult, combine_dep
from evals.simulator.engine_state import EngineState
from evals.simulator.messages import TIMEOUT, Failure, spelled, stacktrace
from evals.simulator.records import span_record
from evals.simulator.topology import Host, Operation, Service, Step


class ServiceCallMixin(EngineState):
    def call_service(
        self, caller: Service, host: Host, step: Step, t: int, trace_id: str, parent_id: str
    ) -> StepResult:
        rng = self.rng
        callee = self.topology.services[step.service]
        op = callee.operations[step.op]
        retries = step.retries if step.retries >= 0 else caller.retries
        result = StepResult(t)
        for attempt in range(retries + 1):
            span_id = self._span_id()
            effect = combine_dep(
                [e for f in self.faults if (e := f.call(caller, host, callee, step, t)) is not None]
            )
            net_ns = int((0.35 + rng.random() * 0.5 + effect.extra_ms) * NS_PER_MS)
            timeout_ms = effect.timeout_ms or step.timeout_ms
            failure: Failure | None = None
            status: int | None = None
            timed_out = False
            if effect.failure is not None:
                end = t + int(effect.failure.duration_ms * NS_PER_MS)
                failure = effect.failure
            else:
                served = self.serve(callee, op, t + net_ns // 2, trace_id, span_id, SERVER)
                if served is None:
                    exc, msg = (
                        "ConnectException",
                        f"Connection refused: {callee.name}:8080 (no healthy endpoints)",
                    )
                    failure = Failure(exc, msg, status=502, retryable=True)
                    end = t + NS_PER_MS
                else:
                    end = served.end_ns + net_ns - net_ns // 2
                    status = served.status
                    if served.failure is not None:
                        failure = served.failure
            if timeout_ms and end - t > timeout_ms * NS_PER_MS:
                end = t + int(timeout_ms * NS_PER_MS)
                exc, msg = spelled(TIMEOUT, caller.runtime, secs=timeout_ms / 1000)
                failure = Failure(
                    exc, f"{msg} after {timeout_ms:.0f}ms calling {callee.name}", status=504, retryable=True
                )
                status = None
                timed_out = True
            error = failure is not None or (status is not None and status >= 400)
            attrs: dict[str, Any] = {
                "http.request.method": op.method,
                "url.full": f"http://{callee.name}.{self.topology.name}.svc.cluster.local:8080{op.route}",
                "server.address": f"{callee.name}.{self.topology.name}.svc.cluster.local",
                "server.port": 8080,
                "peer.service": callee.name,
            }
            if status is not None:
                attrs["http.response.status_code"] = status
            if attempt:
                attrs["http.request.resend_count"] = attempt
            message = None
            if error:
                if failure is not None and (timed_out or status is None):
                    attrs["error.type"] = failure.exception_type
                    message = failure.text
                else:
                    attrs["error.type"] = str(status)
                    message = f"{status} {REASONS.get(status or 0, '')}".strip()
            name = f"{op.method} {op.route}" if op.method else op.name
            self._add_span(
                caller,
                host,
                "http",
                t,
                span_record(trace_id, span_id, parent_id, name, CLIENT, t, end, attrs, message),
            )
            self.agg.add_client(caller.name, host.index, callee.name, (end - t) / NS_PER_MS, error)
            if not error:
                if rng.random() < 0.5:
                    self.log_call(
                        caller, host, end, trace_id, parent_id, callee.name, op.name, status or 200, end - t
                    )
                return StepResult(end)
            retry = (
                timed_out
                or status in (502, 503, 504)
                or (failure is not None and failure.retryable and status is None)
            )
            upstream = status if status is not None else (failure.status if failure else 502)
            answer = upstream if caller.passthrough else 500
            if timed_out:
                answer = 504 if caller.passthrough else 500
            why = failure if failure is not None and (timed_out or status is None) else None
            result = StepResult(
                end, why or self._upstream_failure(caller, callee, op, status or 0), answer, timed_out
            )
            self.log_call_failure(
                caller,
                host,
                end,
                trace_id,
                parent_id,
                callee.name,
                op.name,
                status,
                result.failure,
                will_retry=retry and attempt < retries,
            )
            if not (retry and attempt < retries):
                return result
            t = end + int((25 * 2**attempt) * (0.5 + rng.random()) * NS_PER_MS)
        return result

    def _upstream_failure(self, caller: Service, callee: Service, op: Operation, status: int) -> Failure:
        reason = REASONS.get(status, "")
        if caller.runtime == "java":
            exc = (
                "org.springframework.web.client.HttpServerErrorException"
                if status >= 500
                else "org.springframework.web.client.HttpClientErrorException"
            )
        elif caller.runtime == "python":
            exc = "httpx.HTTPStatusError"
        elif caller.runtime == "go":
            exc = "UpstreamError"
        else:
            exc = "HTTPError"
        msg = f"{status} {reason} from {callee.name} {op.name}"
        return Failure(exc, msg, status=500, stack=stacktrace(caller.runtime, caller.name, exc, msg))
