"""Build ``sleuth serve`` from its settings: queue, SNS verifier, routes, Slack, workers.

:class:`ServeSettings` is the one description of a service; the CLI fills it from flags,
environment variables and an optional YAML file (``--config``), in that order of precedence.
Secrets (webhook secret, Slack tokens) come from the environment or flags, never the file.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette

from agent.service.app import ServiceConfig, ServiceDeps, build_app
from agent.service.auth import ReportLinks
from agent.service.dispatch import DEFAULT_CELERY_QUEUE, CeleryDispatch, Dispatch, celery_app, queue_url
from agent.service.jobs import JobStore
from agent.service.metrics import MeteredQueue, ServiceMetrics, open_metrics
from agent.service.notifier import Notifier, WebhookNotifier
from agent.service.queue import DEFAULT_LEASE_SECONDS, InvestigationQueue
from agent.service.report_storage import PublishingInvestigator, open_remote_results, parse_reports
from agent.service.reports import ResultStore
from agent.service.sns import MAX_AGE_SECONDS, SnsVerifier
from agent.service.sns_certs import CertificateSource
from agent.service.sns_testing import TEST_CERT_PATH
from agent.service.topics import TopicAllowList
from agent.service.worker import Investigator, Worker, WorkerPool
from mcp_server.backends.base import TelemetryBackend
from mcp_server.errors import SleuthError

log = logging.getLogger(__name__)


class ServeSettings(BaseModel):
    """Everything ``sleuth serve`` can be told (the YAML file uses these names)."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None  # how people reach this service (report links)
    store: Path | None = None
    queue: Path
    workers: int = Field(default=2, ge=0)
    max_attempts: int = Field(default=3, ge=1)
    lease_seconds: float = Field(default=DEFAULT_LEASE_SECONDS, gt=0)
    known_alarms: list[str] = Field(default_factory=list)
    notify_webhooks: list[str] = Field(default_factory=list)
    reasoner: str | None = None
    draft_report: bool = True
    sns_topics: list[str] = Field(default_factory=list)
    sns_max_age: float = Field(default=MAX_AGE_SECONDS, gt=0)
    sns_test_cert: Path | None = None
    slack_channel: str | None = None
    slack_allow_channels: list[str] = Field(default_factory=list)
    slack_allow_users: list[str] = Field(default_factory=list)
    confidence_floor: float = Field(default=0.2, ge=0, le=1)
    drain_seconds: float = Field(default=30.0, ge=0)  # on SIGTERM: finish running work, then hand back
    reports: str | None = None  # SLEUTH_REPORTS: a directory or s3://bucket/prefix (report_storage)
    secret: str | None = Field(default=None, exclude=True)

    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


_SECRET_KEYS = {"secret"}


def read_settings_file(path: Path) -> dict[str, Any]:
    """The YAML settings file as a dict (validated later, with the flags merged in)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SleuthError(f"cannot read settings file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SleuthError(f"settings file {path} is not YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SleuthError(f"settings file {path} must be a mapping of setting: value")
    secrets = _SECRET_KEYS & data.keys()
    if secrets:
        raise SleuthError(
            f"settings file {path}: put {', '.join(sorted(secrets))} in the environment, not the file"
        )
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def settings_from(values: Mapping[str, Any], file_values: Mapping[str, Any]) -> ServeSettings:
    """Flags/env (``values``, None or empty meaning "not given") over the file over defaults."""
    merged = dict(file_values)
    merged.update({k: v for k, v in values.items() if v is not None and v != []})
    try:
        return ServeSettings.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SleuthError(f"serve setting {where}: {first['msg']}") from None


class HttpSubscriptionConfirmer:
    """GETs an SNS SubscribeURL (already checked to be on the SNS host of the allowed topic)."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(timeout=10.0, follow_redirects=False)

    def __call__(self, url: str) -> None:
        self._client.get(url).raise_for_status()


class _KnownServices:
    """The backend's service names, re-read at most once a minute."""

    def __init__(self, backend: TelemetryBackend, ttl: float = 60.0) -> None:
        self.backend = backend
        self.ttl = ttl
        self._names: list[str] = []
        self._at = float("-inf")
        self._lock = threading.Lock()

    def __call__(self) -> list[str]:
        with self._lock:
            if time.monotonic() - self._at > self.ttl:
                self._names = self.backend.list_services()
                self._at = time.monotonic()
            return list(self._names)


@dataclass
class Service:
    app: Starlette
    settings: ServeSettings
    pools: list[WorkerPool] = field(default_factory=list)
    slack_bot: Any = None  # the SleuthSlackBot (its bolt App serves Socket Mode too)


def build_service(
    settings: ServeSettings, env: Mapping[str, str], *, backend: TelemetryBackend | None = None
) -> Service:
    """Everything ``sleuth serve`` runs; ``backend`` replaces the local store (e.g. live AWS)."""
    queue = open_queue(settings, env)
    backend = backend if backend is not None else _open_backend(settings)
    results = open_results(settings, backend)
    links = ReportLinks(settings.base_url(), settings.secret) if settings.secret else None
    if settings.public_url is None and settings.host in ("0.0.0.0", "::"):
        log.warning(
            "report links will name %s: set --public-url to the address people use", settings.base_url()
        )
    certificates = CertificateSource()
    if settings.sns_test_cert is not None:
        try:
            certificates.pin(TEST_CERT_PATH, settings.sns_test_cert.read_bytes())
        except OSError as exc:
            raise SleuthError(
                f"cannot read --sns-test-cert {settings.sns_test_cert}: {exc.strerror}"
            ) from None
    topics = TopicAllowList.parse(settings.sns_topics)
    if not topics:
        log.warning("SNS intake is off: no topic is allowed (--sns-topic, SLEUTH_SNS_TOPICS or sns_topics)")
    pools: list[WorkerPool] = []
    dispatch = _dispatch(env)
    metrics = open_metrics(queue)

    def wake() -> None:
        for pool in pools:
            pool.wake()
        if dispatch is not None:
            dispatch.wake()

    notifiers: list[Notifier] = [WebhookNotifier(url) for url in settings.notify_webhooks]
    slack = _slack(settings, env, queue, results, links, backend, wake)
    extra_routes = []
    if slack is not None:
        from agent.slack.routes import slack_routes

        notifiers.append(slack.notifier)
        extra_routes = slack_routes(slack)
    app = build_app(
        ServiceDeps(
            queue=queue,
            verifier=SnsVerifier(certificates, topics, max_age=settings.sns_max_age),
            config=ServiceConfig(shared_secret=settings.secret, known_alarms=settings.known_alarms or None),
            confirm_subscription=HttpSubscriptionConfirmer(),
            on_enqueued=wake,
            results=results,
            report_links=links,
            extra_routes=extra_routes,
            metrics=metrics,
        )
    )
    if settings.workers > 0 and dispatch is None:
        worker = build_worker(settings, queue, backend, notifiers, metrics=metrics)
        pools.append(WorkerPool(worker, size=settings.workers))
    service = Service(app, settings, pools, slack)
    app.router.lifespan_context = _lifespan(service, env)
    return service


def open_queue(settings: ServeSettings, env: Mapping[str, str]) -> JobStore:
    """The one place a job store is chosen: PostgreSQL when ``SLEUTH_DATABASE_URL`` names it,
    else the SQLite file ``settings.queue``."""
    from agent.service.pgstore import PostgresJobStore, database_url

    url = database_url(env)
    if url is not None:
        return PostgresJobStore(url, max_attempts=settings.max_attempts, lease_seconds=settings.lease_seconds)
    return InvestigationQueue(
        settings.queue, max_attempts=settings.max_attempts, lease_seconds=settings.lease_seconds
    )


def build_worker(
    settings: ServeSettings,
    queue: JobStore,
    backend: TelemetryBackend | None,
    notifiers: list[Notifier] | None = None,
    checkpointer: Any = None,
    *,
    metrics: ServiceMetrics | None = None,
) -> Worker:
    """The worker both the embedded pool and ``sleuth worker`` (Celery) run."""
    if backend is None:
        raise SleuthError("workers need a telemetry store: pass --store (or --workers 0 to only queue)")
    from agent.service.investigator import GraphInvestigator

    results = open_results(settings, backend)
    investigator: Investigator = GraphInvestigator(
        backend,
        results_dir=results.results_dir,
        reasoner=settings.reasoner,
        draft_report=settings.draft_report,
        checkpointer=checkpointer,
        execution_log=queue,
    )
    if results.remote is not None:
        investigator = PublishingInvestigator(investigator, results.results_dir, results.remote)
    if notifiers is None:
        notifiers = [WebhookNotifier(url) for url in settings.notify_webhooks]
    return Worker(MeteredQueue(queue, metrics) if metrics is not None else queue, investigator, notifiers)


def open_results(settings: ServeSettings, backend: TelemetryBackend | None) -> ResultStore:
    """Results and reports where ``settings.reports`` says: beside the queue, a directory, or S3."""
    directory, bucket = parse_reports(settings.reports)
    if bucket is not None:
        remote = open_remote_results(*bucket)
        return ResultStore(settings.queue.parent / "results", backend, remote)
    return ResultStore(directory or settings.queue.parent / "results", backend)


def _dispatch(env: Mapping[str, str]) -> Dispatch | None:
    """Celery wake-ups when ``SLEUTH_QUEUE`` names a broker; None for the in-process pool."""
    url = queue_url(env)
    if url is None:
        return None
    return CeleryDispatch(celery_app(url, queue=env.get("SLEUTH_CELERY_QUEUE", DEFAULT_CELERY_QUEUE)))


def _open_backend(settings: ServeSettings) -> TelemetryBackend | None:
    from mcp_server.backends.local import LocalBackend
    from mcp_server.config import default_store_path

    path = settings.store or default_store_path()
    if settings.workers == 0 and not Path(path).exists():
        return None
    return LocalBackend(path, read_only=True)


def _slack(
    settings: ServeSettings,
    env: Mapping[str, str],
    queue: JobStore,
    results: ResultStore,
    links: ReportLinks | None,
    backend: TelemetryBackend | None,
    wake: Callable[[], None],
) -> Any:
    token, signing_secret = env.get("SLACK_BOT_TOKEN"), env.get("SLACK_SIGNING_SECRET")
    if not token or not signing_secret:
        return None
    from slack_sdk import WebClient

    from agent.service.review import ReviewDesk
    from agent.slack.bot import SlackAccess, SleuthSlackBot
    from agent.slack.notifier import SlackNotifier
    from agent.slack.threads import SlackThreads

    client = WebClient(token=token, base_url=env.get("SLACK_API_URL", WebClient.BASE_URL), timeout=10)
    threads = SlackThreads(settings.queue)
    notifier = SlackNotifier(
        client,
        threads,
        settings.slack_channel,
        report_link=links.url if links is not None else None,
        confidence_floor=settings.confidence_floor,
    )

    def draft_coe(job_id: str) -> str:
        if links is None:
            raise SleuthError("report links need the shared secret (SLEUTH_WEBHOOK_SECRET)")
        results.draft(job_id)
        return links.url(job_id)

    channels = settings.slack_allow_channels or ([settings.slack_channel] if settings.slack_channel else [])
    return SleuthSlackBot(
        client=client,
        signing_secret=signing_secret,
        queue=queue,
        access=SlackAccess.of(channels, settings.slack_allow_users),
        notifier=notifier,
        on_enqueued=wake,
        review=ReviewDesk(queue, results).review,
        draft_coe=draft_coe,
        known_services=_KnownServices(backend) if backend is not None else None,
    )


def _lifespan(service: Service, env: Mapping[str, str]) -> Callable[[Starlette], Any]:
    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        for pool in service.pools:
            pool.start()
        if service.slack_bot is not None:
            threading.Thread(
                target=service.slack_bot.identity.warm_up, name="slack-auth-test", daemon=True
            ).start()
        socket_mode = None
        if service.slack_bot is not None and env.get("SLACK_APP_TOKEN"):
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            socket_mode = SocketModeHandler(service.slack_bot.app, env["SLACK_APP_TOKEN"])
            socket_mode.connect()
        try:
            yield
        finally:
            if socket_mode is not None:
                socket_mode.close()
            for pool in service.pools:  # SIGTERM: take no new job, finish or hand back the running ones
                pool.drain(service.settings.drain_seconds)

    return lifespan
