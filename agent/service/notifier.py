"""Where finished (and progressing) investigations are announced: Slack, a webhook URL.

Each destination implements :class:`Notifier`; the worker calls every configured one and a
failing destination never fails the investigation.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import httpx

from agent.service.payloads import AlarmEvent

log = logging.getLogger(__name__)


class Notifier(Protocol):
    def started(self, job_id: str, event: AlarmEvent) -> None: ...

    def progress(self, job_id: str, message: str) -> None: ...

    def finished(self, job_id: str, event: AlarmEvent, summary: dict[str, Any]) -> None: ...


class WebhookNotifier:
    """POSTs the summary JSON to a URL when an investigation finishes.

    The body is the summary plus ``job`` (the id ``GET /investigations/{id}`` takes) and ``alarm``.
    """

    def __init__(self, url: str, client: httpx.Client | None = None) -> None:
        self.url = url
        self._client = client or httpx.Client(timeout=10.0)

    def started(self, job_id: str, event: AlarmEvent) -> None:
        return None

    def progress(self, job_id: str, message: str) -> None:
        return None

    def finished(self, job_id: str, event: AlarmEvent, summary: dict[str, Any]) -> None:
        response = self._client.post(self.url, json={**summary, "job": job_id, "alarm": event.alarm_name})
        response.raise_for_status()


def notify_all(notifiers: list[Notifier], method: str, *args: Any) -> None:
    for notifier in notifiers:
        try:
            getattr(notifier, method)(*args)
        except Exception as exc:  # a destination's outage must not fail the investigation
            log.warning("notifier %s.%s failed: %s", type(notifier).__name__, method, exc)
