"""Delivery of work to workers: in-process wake-ups (embedded) or Celery over Redis or SQS.

The job store (:mod:`agent.service.jobs`) stays the one source of truth for what to investigate:
intake records and deduplicates there first, then *dispatches* a wake-up. A Celery task carries
no alarm, only "a job is due"; the worker that receives it claims the next due job from the store
under a lease and runs it with the same :class:`~agent.service.worker.Worker` the embedded pool
uses. So a duplicated or redelivered task finds nothing new to claim and never starts a second
investigation, and a task lost with a killed worker is redelivered (``acks_late`` with
``reject_on_worker_lost``, the broker's visibility timeout) while the store's lease hands the
killed worker's job to the next claim.

``SLEUTH_QUEUE`` selects the broker: unset or ``sqlite`` for the embedded default, ``redis://``
or ``sqs://`` for Celery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from mcp_server.errors import SleuthError

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

TASK_NAME = "sleuth.investigate_next"
DEFAULT_CELERY_QUEUE = "sleuth-investigations"
DEFAULT_VISIBILITY_TIMEOUT = 600.0
CELERY_SCHEMES = ("redis://", "rediss://", "sqs://")


class Dispatch(Protocol):
    def wake(self) -> None:
        """Tell the workers that a new job is due (never blocks intake on a running investigation)."""
        ...


def queue_url(env: Mapping[str, str]) -> str | None:
    """The Celery broker URL from ``SLEUTH_QUEUE``, or None for the embedded queue."""
    value = env.get("SLEUTH_QUEUE", "").strip()
    if not value or value == "sqlite":
        return None
    if not value.startswith(CELERY_SCHEMES):
        raise SleuthError(f"SLEUTH_QUEUE={value!r}: expected sqlite, redis://…, rediss://… or sqs://…")
    return value


def celery_app(
    url: str,
    *,
    queue: str = DEFAULT_CELERY_QUEUE,
    visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT,
) -> Celery:
    """A Celery app on ``url`` with at-least-once settings (late acks, one task prefetched)."""
    try:
        from celery import Celery
    except ImportError:
        raise SleuthError(
            f"SLEUTH_QUEUE={url}: Celery is not installed; install the scale extra: pip install 'sleuth[scale]'"
        ) from None
    app = Celery("sleuth", broker=url, set_as_current=False)
    # Redis and SQS both redeliver a task not acknowledged within this time (a killed worker's).
    transport: dict[str, Any] = {"visibility_timeout": visibility_timeout}
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=queue,
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        worker_hijack_root_logger=False,
    )
    return app


class CeleryDispatch:
    """Sends one wake-up task per new job to the Celery queue."""

    def __init__(self, app: Celery, queue: str = DEFAULT_CELERY_QUEUE) -> None:
        self.app = app
        self.queue = queue

    def wake(self) -> None:
        self.app.send_task(TASK_NAME, queue=self.queue)


def register_task(app: Celery, run_once: Callable[[], object]) -> None:
    """Make ``app``'s workers run one due job per task with ``run_once`` (``Worker.run_once``)."""

    @app.task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
    def investigate_next() -> bool:
        job = run_once()
        return job is not None
