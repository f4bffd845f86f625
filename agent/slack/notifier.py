"""Investigation progress and results in Slack: one thread, one progress message, one summary.

The thread is where the person asked (their channel, or their mention's thread) or, for alarms,
the on-call channel. Progress is a single message edited as steps finish (at most one edit per
``min_edit_interval`` per investigation; the last state is flushed when the investigation ends),
not a message per step. The summary message is edited again after Accept/Reject.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient

from agent.service.payloads import AlarmEvent
from agent.slack.messages import (
    DEFAULT_CONFIDENCE_FLOOR,
    ReportLink,
    escape,
    progress_text,
    started_text,
    summary_blocks,
)
from agent.slack.threads import SlackThread, SlackThreads


@dataclass
class _Progress:
    lines: list[str] = field(default_factory=list)
    shown: int = 0  # lines already in the Slack message
    edited_at: float = float("-inf")


class SlackNotifier:
    def __init__(
        self,
        client: WebClient,
        threads: SlackThreads,
        default_channel: str | None,
        *,
        report_link: ReportLink | None = None,
        confidence_floor: float = DEFAULT_CONFIDENCE_FLOOR,
        min_edit_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.threads = threads
        self.default_channel = default_channel
        self.report_link = report_link
        self.confidence_floor = confidence_floor
        self.min_edit_interval = min_edit_interval
        self._clock = clock
        self._progress: dict[str, _Progress] = {}
        self._lock = threading.Lock()

    def _thread(self, job_id: str, event: AlarmEvent) -> SlackThread | None:
        where = self.threads.thread(job_id)
        if where is not None:
            return where
        channel = event.origin.get("channel") or self.default_channel
        if not channel:
            return None
        thread_ts = event.origin.get("thread_ts")
        posted = self.client.chat_postMessage(
            channel=channel, text=started_text(job_id, event), thread_ts=thread_ts
        )
        self.threads.remember(job_id, channel, thread_ts or str(posted["ts"]))
        return self.threads.thread(job_id)

    # ------------------------------------------------------------------ Notifier protocol

    def started(self, job_id: str, event: AlarmEvent) -> None:
        self._thread(job_id, event)

    def progress(self, job_id: str, message: str) -> None:
        with self._lock:
            state = self._progress.setdefault(job_id, _Progress())
            state.lines.append(message)
            due = self._clock() - state.edited_at >= self.min_edit_interval
        if due:
            self._flush(job_id)

    def finished(self, job_id: str, event: AlarmEvent, summary: dict[str, Any]) -> None:
        where = self._thread(job_id, event)
        if where is None:
            return
        self._flush(job_id, done=True)
        with self._lock:
            self._progress.pop(job_id, None)
        posted = self.client.chat_postMessage(
            channel=where.channel,
            thread_ts=where.ts,
            text=escape(summary.get("headline", "Investigation finished")),
            blocks=self._blocks(job_id, summary),
        )
        self.threads.set_summary(job_id, str(posted["ts"]))

    # --------------------------------------------------------------------------- editing

    def refresh_summary(self, job_id: str, summary: dict[str, Any]) -> bool:
        """Edit the summary message in place (after a verdict); False when there is none."""
        where = self.threads.thread(job_id)
        if where is None or where.summary_ts is None:
            return False
        self.client.chat_update(
            channel=where.channel,
            ts=where.summary_ts,
            text=escape(summary.get("headline", "Investigation finished")),
            blocks=self._blocks(job_id, summary),
        )
        return True

    def _blocks(self, job_id: str, summary: dict[str, Any]) -> list[dict[str, Any]]:
        link = self.report_link(job_id) if self.report_link and summary.get("report") else None
        return summary_blocks(job_id, summary, report_link=link, confidence_floor=self.confidence_floor)

    def _flush(self, job_id: str, *, done: bool = False) -> None:
        with self._lock:
            state = self._progress.get(job_id)
            if state is None or (state.shown == len(state.lines) and not done) or not state.lines:
                return
            lines = list(state.lines)
            state.shown = len(lines)
            state.edited_at = self._clock()
        where = self.threads.thread(job_id)
        if where is None:
            return
        text = progress_text(lines, done=done)
        if where.progress_ts is None:
            posted = self.client.chat_postMessage(channel=where.channel, thread_ts=where.ts, text=text)
            self.threads.set_progress(job_id, str(posted["ts"]))
        else:
            self.client.chat_update(channel=where.channel, ts=where.progress_ts, text=text)
