"""The ASGI service: alarm intake routes, investigation reads, and the Slack events endpoint.

Every accepted notification is in the durable queue before the 2xx is sent. Unauthenticated,
forged, stale, malformed or oversized requests are rejected with 4xx and nothing is queued.

Nothing that waits on a peer or a disk runs on the event loop: certificate fetches, subscription
confirmations and queue writes run in worker threads, each kind under its own capacity limit,
so a hanging certificate host or a slow Slack API costs only the requests that need them.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from agent.service.auth import ReportLinks, authorized
from agent.service.jobs import AlarmIntake, EnqueueOutcome, Job, JobReader
from agent.service.payloads import (
    AlarmEvent,
    PayloadError,
    Rejected,
    alarm_from_eventbridge,
    alarm_from_sns,
    alarms_from_alertmanager,
    parse_sns_envelope,
)
from agent.service.ratelimit import ClientBuckets
from agent.service.report_storage import ReportStorageError
from agent.service.reports import ResultMissing, ResultStore
from agent.service.sns import SignatureError, SnsVerifier, check_subscribe_url
from agent.service.sns_certs import CertificateBudgetSpent

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
T = TypeVar("T")


class IntakeStore(AlarmIntake, JobReader, Protocol):
    pass


class IntakeMetrics(Protocol):
    def enqueued(self, outcomes: Iterable[EnqueueOutcome]) -> None: ...

    def render(self) -> tuple[bytes, str]: ...


@dataclass
class ServiceConfig:
    shared_secret: str | None = None  # for EventBridge / Alertmanager and every read
    known_alarms: Sequence[str] | None = None  # glob patterns; None accepts every alarm name
    max_body_bytes: int = MAX_BODY_BYTES
    confirm_subscriptions: bool = True
    # Unverified SNS posts per client address: a burst, then this many per second.
    sns_failure_burst: float = 20.0
    sns_failures_per_second: float = 1 / 3


@dataclass
class ServiceDeps:
    queue: IntakeStore
    verifier: SnsVerifier
    config: ServiceConfig = field(default_factory=ServiceConfig)
    confirm_subscription: Callable[[str], None] | None = None  # GETs the SubscribeURL
    on_enqueued: Callable[[], None] | None = None  # wakes the workers
    results: ResultStore | None = None
    report_links: ReportLinks | None = None
    extra_routes: list[Route] = field(default_factory=list)
    metrics: IntakeMetrics | None = None  # None: prometheus_client is not installed (/metrics: 501)


class _Limiters:
    """Thread capacity per kind of blocking work (created inside the running loop)."""

    def __init__(self) -> None:
        self._made: dict[str, anyio.CapacityLimiter] = {}

    def __call__(self, kind: str, size: int) -> anyio.CapacityLimiter:
        limiter = self._made.get(kind)
        if limiter is None:
            limiter = self._made[kind] = anyio.CapacityLimiter(size)
        return limiter


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge(limit)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


class _TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"body larger than {limit} bytes")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def build_app(deps: ServiceDeps) -> Starlette:
    config = deps.config
    limiters = _Limiters()
    failures = ClientBuckets(config.sns_failure_burst, config.sns_failures_per_second)

    async def off_loop(kind: str, size: int, func: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(func, *args, limiter=limiters(kind, size))

    def known(event: AlarmEvent) -> bool:
        return config.known_alarms is None or any(
            fnmatch.fnmatch(event.alarm_name, p) for p in config.known_alarms
        )

    def enqueue_all(events: list[AlarmEvent]) -> list[tuple[EnqueueOutcome, str | None]]:
        return [deps.queue.enqueue(event) for event in events]

    async def accept(items: Sequence[AlarmEvent | Rejected]) -> JSONResponse:
        """Each alert is taken or refused on its own; 422 only when none was taken."""
        rejected = [
            {"alarm": r.alarm, "outcome": "rejected", "reason": r.reason}
            for r in items
            if isinstance(r, Rejected)
        ]
        events = [e for e in items if isinstance(e, AlarmEvent)]
        for event in [e for e in events if not known(e)]:
            reason = "not in the configured known alarms (--known-alarm)"
            rejected.append({"alarm": event.alarm_name, "outcome": "rejected", "reason": reason})
        events = [e for e in events if known(e)]
        outcomes = await off_loop("intake", 16, enqueue_all, events) if events else []
        accepted = [
            {"alarm": e.alarm_name, "outcome": outcome.value, "investigation": job_id}
            for e, (outcome, job_id) in zip(events, outcomes, strict=True)
        ]
        if deps.metrics is not None:
            deps.metrics.enqueued(o for o, _ in outcomes)
        if deps.on_enqueued is not None and any(o == EnqueueOutcome.CREATED for o, _ in outcomes):
            deps.on_enqueued()
        if not accepted:
            first = rejected[0] if rejected else {"alarm": "-", "reason": "no alerts in the notification"}
            return JSONResponse(
                {
                    "error": f"alarm {first['alarm']!r}: {first['reason']}",
                    "accepted": [],
                    "rejected": rejected,
                },
                status_code=422,
            )
        return JSONResponse({"accepted": accepted, "rejected": rejected}, status_code=202)

    async def sns(request: Request) -> Response:
        bucket = failures.bucket(_client(request))
        if not bucket.available():
            wait = max(1, round(bucket.retry_after()))
            return _error(429, "too many unverified SNS posts from this address", {"retry-after": str(wait)})
        try:
            body = await _body(request, config.max_body_bytes)
            envelope = parse_sns_envelope(body)
            deps.verifier.check_topic(envelope)  # cheap, before anything is fetched
            await off_loop("sns", 8, deps.verifier.verify, envelope)
            if envelope.Type == "SubscriptionConfirmation":
                url = check_subscribe_url(envelope)
        except _TooLarge as exc:
            bucket.charge()
            return _error(413, str(exc))
        except PayloadError as exc:
            bucket.charge()
            return _error(400, str(exc))
        except SignatureError as exc:
            bucket.charge()
            return _error(403, str(exc))
        except CertificateBudgetSpent as exc:
            bucket.charge()
            return _error(503, str(exc), {"retry-after": "60"})
        if envelope.Type == "SubscriptionConfirmation":
            if not (config.confirm_subscriptions and deps.confirm_subscription is not None):
                return JSONResponse({"subscription": "ignored"})
            try:
                await off_loop("sns", 8, deps.confirm_subscription, url)
            except Exception as exc:  # the peer's failure, reported to SNS (which retries 5xx)
                log.warning("SNS subscription confirmation for %s failed: %s", envelope.TopicArn, exc)
                return _error(502, f"could not confirm the subscription: {exc}")
            log.info("SNS subscription to %s confirmed", envelope.TopicArn)
            return JSONResponse({"subscription": "confirmed"})
        if envelope.Type == "UnsubscribeConfirmation":
            log.warning("SNS unsubscribed topic %s", envelope.TopicArn)
            return JSONResponse({"subscription": "unsubscribed"})
        try:
            event = alarm_from_sns(envelope)
        except PayloadError as exc:
            return _error(400, str(exc))
        return await accept([event])

    def refused(request: Request, body: bytes) -> JSONResponse | None:
        if not config.shared_secret:
            return _error(
                403, "this route is disabled: no shared secret is configured (SLEUTH_WEBHOOK_SECRET)"
            )
        if not authorized(config.shared_secret, request.headers, body):
            return _error(
                401,
                "missing or wrong credentials (Bearer token, X-Sleuth-Token, or a fresh "
                "X-Sleuth-Timestamp + X-Sleuth-Signature)",
            )
        return None

    def authenticated_route(
        parse: Callable[[bytes], Sequence[AlarmEvent | Rejected]],
    ) -> Callable[[Request], Any]:
        async def handler(request: Request) -> Response:
            try:
                body = await _body(request, config.max_body_bytes)
            except _TooLarge as exc:
                return _error(413, str(exc))
            denied = refused(request, body)
            if denied is not None:
                return denied
            try:
                items = parse(body)
            except PayloadError as exc:
                return _error(400, str(exc))
            return await accept(items)

        return handler

    async def investigation(request: Request) -> Response:
        denied = refused(request, b"")
        if denied is not None:
            return denied
        job = await off_loop("reads", 8, deps.queue.get, request.path_params["job_id"])
        if job is None:
            return _error(404, "no such investigation")
        return JSONResponse(_job_json(job, deps))

    async def report(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        links = deps.report_links
        link_ok = links is not None and links.valid(
            job_id, request.query_params.get("expires", ""), request.query_params.get("signature", "")
        )
        if not link_ok:
            denied = refused(request, b"")
            if denied is not None:
                return denied
        if deps.results is None:
            return _error(404, "this Sleuth keeps no reports")
        try:
            path = await off_loop("reads", 8, deps.results.report, job_id)
        except ResultMissing as exc:
            return _error(404, str(exc))
        except ReportStorageError as exc:  # S3 unreachable: the report exists, this host cannot read it
            return _error(502, str(exc))
        if path is None:
            return _error(404, "no report drafted for this investigation yet")
        html = await off_loop("reads", 8, path.read_text, "utf-8")
        return HTMLResponse(
            html,
            headers={
                "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
            },
        )

    async def health(request: Request) -> Response:
        counts = await off_loop("reads", 8, deps.queue.counts)
        return JSONResponse({"status": "ok", "jobs": counts})

    async def ready(request: Request) -> Response:
        # Ready to take alarms: the job store answers (a load balancer stops sending when not).
        try:
            await off_loop("reads", 8, deps.queue.counts)
        except Exception as exc:  # any store failure means "not ready", never a traceback
            return JSONResponse({"status": "unavailable", "error": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics(request: Request) -> Response:
        if deps.metrics is None:
            return _error(501, "metrics need prometheus_client: pip install 'sleuth[scale]'")
        body, content_type = await off_loop("reads", 8, deps.metrics.render)
        return Response(body, media_type=content_type)

    routes = [
        Route("/alarms/sns", sns, methods=["POST"]),
        Route(
            "/alarms/eventbridge",
            authenticated_route(lambda b: [alarm_from_eventbridge(b)]),
            methods=["POST"],
        ),
        Route("/alarms/alertmanager", authenticated_route(alarms_from_alertmanager), methods=["POST"]),
        Route("/investigations/{job_id}", investigation, methods=["GET"]),
        Route("/investigations/{job_id}/report", report, methods=["GET"]),
        Route("/healthz", health, methods=["GET"]),
        Route("/readyz", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        *deps.extra_routes,
    ]
    return Starlette(routes=routes)


def _job_json(job: Job, deps: ServiceDeps) -> dict[str, Any]:
    result = job.result
    if result and result.get("report") and deps.report_links is not None:
        result = {**result, "report_url": deps.report_links.url(job.id)}
    return {
        "id": job.id,
        "alarm": job.alarm_name,
        "service": job.service,
        "status": job.status.value,
        "attempts": job.attempts,
        "updates": len(job.updates),
        "resolved_at": job.resolved_at,
        "result": result,
        "error": job.error,
    }
