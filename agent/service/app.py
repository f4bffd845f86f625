"""The ASGI service: alarm intake routes, investigation lookups, and the Slack events endpoint.

Every accepted notification is in the durable queue before the 2xx is sent. Unauthenticated,
forged, malformed or oversized requests are rejected with 4xx and nothing is queued.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agent.service.auth import authorized
from agent.service.payloads import (
    AlarmEvent,
    PayloadError,
    alarm_from_eventbridge,
    alarm_from_sns,
    alarms_from_alertmanager,
    parse_sns_envelope,
)
from agent.service.queue import EnqueueOutcome, InvestigationQueue
from agent.service.sns import SignatureError, SnsVerifier

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024


@dataclass
class ServiceConfig:
    shared_secret: str | None = None  # for EventBridge / Alertmanager routes
    known_alarms: Sequence[str] | None = None  # glob patterns; None accepts every alarm name
    allowed_topics: Sequence[str] | None = None  # SNS TopicArn globs; None accepts any topic
    max_body_bytes: int = MAX_BODY_BYTES
    confirm_subscriptions: bool = True


@dataclass
class ServiceDeps:
    queue: InvestigationQueue
    verifier: SnsVerifier
    config: ServiceConfig = field(default_factory=ServiceConfig)
    confirm_subscription: Callable[[str], None] | None = None  # GETs the SubscribeURL
    on_enqueued: Callable[[], None] | None = None  # wakes the workers
    extra_routes: list[Route] = field(default_factory=list)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


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


def build_app(deps: ServiceDeps) -> Starlette:
    config = deps.config

    def known(event: AlarmEvent) -> bool:
        return config.known_alarms is None or any(
            fnmatch.fnmatch(event.alarm_name, p) for p in config.known_alarms
        )

    def accept(events: list[AlarmEvent]) -> JSONResponse:
        unknown = [e.alarm_name for e in events if not known(e)]
        if unknown:
            return _error(422, f"unknown alarm {unknown[0]!r}: not in the configured known_alarms")
        results = []
        for event in events:
            outcome, job_id = deps.queue.enqueue(event)
            results.append({"alarm": event.alarm_name, "outcome": outcome.value, "investigation": job_id})
        if deps.on_enqueued is not None and any(r["outcome"] == EnqueueOutcome.CREATED for r in results):
            deps.on_enqueued()
        return JSONResponse({"accepted": results}, status_code=202)

    async def sns(request: Request) -> Response:
        try:
            body = await _body(request, config.max_body_bytes)
            envelope = parse_sns_envelope(body)
            deps.verifier.verify(envelope)
        except _TooLarge as exc:
            return _error(413, str(exc))
        except PayloadError as exc:
            return _error(400, str(exc))
        except SignatureError as exc:
            return _error(403, str(exc))
        if config.allowed_topics is not None and not any(
            fnmatch.fnmatch(envelope.TopicArn, p) for p in config.allowed_topics
        ):
            return _error(403, f"SNS topic {envelope.TopicArn!r} is not allowed")
        if envelope.Type == "SubscriptionConfirmation":
            url = envelope.SubscribeURL or ""
            if config.confirm_subscriptions and deps.confirm_subscription is not None:
                if urlparse(url).hostname != urlparse(envelope.SigningCertURL).hostname:
                    return _error(403, "SubscribeURL is not on the SNS host that signed the message")
                deps.confirm_subscription(url)
            return JSONResponse({"subscription": "confirmed" if config.confirm_subscriptions else "ignored"})
        if envelope.Type == "UnsubscribeConfirmation":
            log.warning("SNS unsubscribed topic %s", envelope.TopicArn)
            return JSONResponse({"subscription": "unsubscribed"})
        try:
            return accept([alarm_from_sns(envelope)])
        except PayloadError as exc:
            return _error(400, str(exc))

    def authenticated_route(parse: Callable[[bytes], list[AlarmEvent]]) -> Callable[[Request], Any]:
        async def handler(request: Request) -> Response:
            try:
                body = await _body(request, config.max_body_bytes)
            except _TooLarge as exc:
                return _error(413, str(exc))
            if not config.shared_secret:
                return _error(403, "this route is disabled: no shared secret is configured")
            if not authorized(config.shared_secret, request.headers, body):
                return _error(
                    401, "missing or wrong credentials (Bearer token, X-Sleuth-Token or X-Sleuth-Signature)"
                )
            try:
                events = parse(body)
            except PayloadError as exc:
                return _error(400, str(exc))
            return accept(events)

        return handler

    async def investigation(request: Request) -> Response:
        job = deps.queue.get(request.path_params["job_id"])
        if job is None:
            return _error(404, "no such investigation")
        return JSONResponse(
            {
                "id": job.id,
                "alarm": job.alarm_name,
                "service": job.service,
                "status": job.status.value,
                "attempts": job.attempts,
                "updates": len(job.updates),
                "resolved_at": job.resolved_at,
                "result": job.result,
                "error": job.error,
            }
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "jobs": deps.queue.counts()})

    routes = [
        Route("/alarms/sns", sns, methods=["POST"]),
        Route(
            "/alarms/eventbridge",
            authenticated_route(lambda b: [alarm_from_eventbridge(b)]),
            methods=["POST"],
        ),
        Route("/alarms/alertmanager", authenticated_route(alarms_from_alertmanager), methods=["POST"]),
        Route("/investigations/{job_id}", investigation, methods=["GET"]),
        Route("/healthz", health, methods=["GET"]),
        *deps.extra_routes,
    ]
    return Starlette(routes=routes)
