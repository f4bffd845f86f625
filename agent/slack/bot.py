"""The Slack bot: ``/sleuth investigate``, ``@sleuth`` mentions, threads, buttons and feedback.

Listeners only validate, enqueue and post: investigations run in the worker pool and report
back through :class:`SlackNotifier`, one thread per investigation. Requests are verified with
the Slack signing secret (slack_bolt does it before any listener runs).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from agent.service.payloads import AlarmEvent, AlarmSource, AlarmStatus
from agent.service.queue import EnqueueOutcome, InvestigationQueue
from agent.slack.messages import progress_text, started_text, summary_blocks
from agent.slack.threads import SlackThreads

log = logging.getLogger(__name__)

_USAGE = "Usage: `/sleuth investigate <service or alarm> [window, e.g. 30m]`"
_WINDOW = re.compile(r"^\d+[smhd]$")

ReviewHandler = Callable[[str, int, bool, str], str]  # (job id, rank, accepted, user) -> message
CoeHandler = Callable[[str], str]  # job id -> where the COE is (path or link)


def parse_request(text: str) -> tuple[str, str | None]:
    """``investigate visits 30m`` -> ("visits", "30m"). Raises ValueError with usage help."""
    words = [w for w in re.sub(r"<@[A-Z0-9]+>", " ", text).split() if w]
    if words and words[0].lower() == "investigate":
        words = words[1:]
    if not words:
        raise ValueError(_USAGE)
    target = words[0]
    window = words[1] if len(words) > 1 else None
    if window is not None and not _WINDOW.match(window):
        raise ValueError(f"window {window!r} is not like 30m, 2h or 1d. {_USAGE}")
    return target, window


class SleuthSlackBot:
    def __init__(
        self,
        *,
        client: WebClient,
        signing_secret: str,
        queue: InvestigationQueue,
        threads: SlackThreads,
        on_enqueued: Callable[[], None] | None = None,
        review: ReviewHandler | None = None,
        draft_coe: CoeHandler | None = None,
        known_services: Callable[[], list[str]] | None = None,
    ) -> None:
        self.queue = queue
        self.threads = threads
        self._on_enqueued = on_enqueued
        self._review = review
        self._draft_coe = draft_coe
        self._known_services = known_services
        self.app = App(
            client=client,
            signing_secret=signing_secret,
            token_verification_enabled=False,
            process_before_response=True,  # listeners are quick: the work happens in the queue
        )
        self.app.command("/sleuth")(self._command)
        self.app.event("app_mention")(self._mention)
        self.app.action(re.compile(r"^sleuth_(accept|reject)$"))(self._verdict)
        self.app.action("sleuth_draft_coe")(self._coe)
        self.app.action(re.compile(r"^sleuth_feedback_(up|down)$"))(self._feedback)

    # ------------------------------------------------------------------------- requests

    def start(
        self,
        target: str,
        window: str | None,
        channel: str,
        user: str,
        request_id: str,
        thread_ts: str | None = None,
    ) -> tuple[EnqueueOutcome, str | None]:
        services = self._known_services() if self._known_services else []
        event = AlarmEvent(
            source=AlarmSource.SLACK,
            message_id=f"slack:{request_id}",
            alarm_name=f"slack:{target}",
            status=AlarmStatus.FIRING,
            time=datetime.now(UTC),
            service=target if target in services else None,
            reason=f"requested by <@{user}> in Slack" + (f" for the last {window}" if window else ""),
            labels={"target": target, **({"window": window} if window else {})},
        )
        outcome, job_id = self.queue.enqueue(event)
        if job_id is not None and outcome == EnqueueOutcome.CREATED:
            if thread_ts is None:
                posted = self.app.client.chat_postMessage(channel=channel, text=started_text(job_id, event))
                thread_ts = str(posted["ts"])
            self.threads.remember(job_id, channel, thread_ts)
            if self._on_enqueued is not None:
                self._on_enqueued()
        return outcome, job_id

    def _command(self, ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        try:
            target, window = parse_request(command.get("text", ""))
        except ValueError as exc:
            ack(text=str(exc))
            return
        ack(text=f"Investigating `{target}`…")
        outcome, job_id = self.start(
            target,
            window,
            command["channel_id"],
            command["user_id"],
            command.get("trigger_id") or _digest(command),
        )
        if outcome != EnqueueOutcome.CREATED:
            respond(text=f"Already investigating this: investigation `{job_id}`.")

    def _mention(self, event: dict[str, Any], say: Any) -> None:
        thread_ts = event.get("thread_ts") or event["ts"]
        try:
            target, window = parse_request(event.get("text", ""))
        except ValueError as exc:
            say(text=str(exc), thread_ts=thread_ts)
            return
        self.start(
            target,
            window,
            event["channel"],
            event.get("user", "someone"),
            event.get("client_msg_id") or event["ts"],
            thread_ts=thread_ts,
        )

    # -------------------------------------------------------------------------- buttons

    def _verdict(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        job_id, rank = action["value"].rsplit(":", 1)
        accepted = action["action_id"] == "sleuth_accept"
        user = body.get("user", {}).get("id", "someone")
        if self._review is None:
            respond(text="Reviews are not enabled on this Sleuth.", replace_original=False)
            return
        message = self._review(job_id, int(rank), accepted, user)
        self._post_in_thread(
            job_id, f"<@{user}> {'accepted' if accepted else 'rejected'} hypothesis #{rank}. {message}"
        )

    def _coe(self, ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond) -> None:
        ack()
        job_id = action["value"]
        if self._draft_coe is None:
            respond(text="COE drafting is not enabled on this Sleuth.", replace_original=False)
            return
        self._post_in_thread(job_id, f"COE draft: {self._draft_coe(job_id)}")

    def _feedback(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        vote = 1 if action["action_id"] == "sleuth_feedback_up" else -1
        self.queue.record_feedback(action["value"], body.get("user", {}).get("id", "someone"), vote)

    def _post_in_thread(self, job_id: str, text: str) -> None:
        where = self.threads.find(job_id)
        if where is not None:
            self.app.client.chat_postMessage(channel=where[0], thread_ts=where[1], text=text)


class SlackNotifier:
    """Posts investigation progress and the summary into the investigation's thread.

    Alarm-triggered investigations (no thread yet) get a new thread in ``default_channel``.
    """

    def __init__(self, client: WebClient, threads: SlackThreads, default_channel: str | None) -> None:
        self.client = client
        self.threads = threads
        self.default_channel = default_channel

    def _thread(self, job_id: str, event: AlarmEvent) -> tuple[str, str] | None:
        where = self.threads.find(job_id)
        if where is None and self.default_channel:
            posted = self.client.chat_postMessage(
                channel=self.default_channel, text=started_text(job_id, event)
            )
            where = (self.default_channel, str(posted["ts"]))
            self.threads.remember(job_id, *where)
        return where

    def started(self, job_id: str, event: AlarmEvent) -> None:
        self._thread(job_id, event)

    def progress(self, job_id: str, message: str) -> None:
        where = self.threads.find(job_id)
        if where is not None:
            self.client.chat_postMessage(channel=where[0], thread_ts=where[1], text=progress_text(message))

    def finished(self, job_id: str, event: AlarmEvent, summary: dict[str, Any]) -> None:
        where = self._thread(job_id, event)
        if where is None:
            return
        blocks = summary_blocks(job_id, summary)
        self.client.chat_postMessage(
            channel=where[0], thread_ts=where[1], text=summary.get("headline", "Done"), blocks=blocks
        )


def _digest(command: dict[str, Any]) -> str:
    return hashlib.sha256(repr(sorted(command.items())).encode()).hexdigest()[:16]
