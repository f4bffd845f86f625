"""The Slack bot: ``/sleuth investigate``, ``@sleuth`` mentions, buttons and feedback.

Listeners validate, check the channel/user allow-list, enqueue and acknowledge; everything that
talks to Slack or drafts a report happens after the acknowledgement, in a separate follow-up pool
(slack_bolt answers as soon as ``ack`` is called), so a slow Slack API never makes a slash command
miss Slack's 3-second limit, however many clicks are waiting on it. Investigations run in the worker pool and report
back through :class:`~agent.slack.notifier.SlackNotifier`. Requests are verified with the Slack
signing secret (slack_bolt does it before any listener runs).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from slack_bolt import Ack, App, Respond
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from agent.service.jobs import AlarmIntake, EnqueueOutcome, JobReader, PeopleFeedback
from agent.service.payloads import AlarmEvent, AlarmSource, AlarmStatus, parse_duration
from agent.slack.messages import escape
from agent.slack.notifier import SlackNotifier
from mcp_server.errors import SleuthError

log = logging.getLogger(__name__)

_USAGE = "Usage: `/sleuth investigate <service or alarm> [window, e.g. 30m]`"

# (job id, "service/fault_type", accepted, user) -> the re-ranked summary; raises SleuthError
ReviewHandler = Callable[[str, str, bool, str], dict[str, Any]]
CoeHandler = Callable[[str], str]  # job id -> a link to the drafted COE; raises SleuthError


class SlackStore(AlarmIntake, JobReader, PeopleFeedback, Protocol):
    pass


@dataclass(frozen=True)
class SlackAccess:
    """Who may use the bot. Empty channels and users: nobody (say so, and how to allow)."""

    channels: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()

    @classmethod
    def of(cls, channels: Iterable[str] = (), users: Iterable[str] = ()) -> SlackAccess:
        def split(values: Iterable[str]) -> frozenset[str]:
            return frozenset(v for raw in values for v in re.split(r"[,\s]+", raw) if v)

        return cls(split(channels), split(users))

    def refusal(self, channel: str | None, user: str | None) -> str | None:
        """None when allowed, else what to tell the person."""
        if not self.channels and not self.users:
            return (
                "Sleuth accepts no Slack requests yet: an admin allows channels with --slack-allow-channel."
            )
        if self.channels and channel not in self.channels:
            return "Sleuth is not enabled in this channel (ask an admin: --slack-allow-channel)."
        if self.users and user not in self.users:
            return "You are not on Sleuth's list of allowed users (ask an admin: --slack-allow-user)."
        return None


def parse_request(text: str) -> tuple[str, str | None]:
    """``investigate visits 30m`` -> ("visits", "30m"). Raises ValueError with usage help."""
    words = [w for w in re.sub(r"<@[A-Z0-9]+>", " ", text).split() if w]
    if words and words[0].lower() == "investigate":
        words = words[1:]
    if not words:
        raise ValueError(_USAGE)
    target = words[0]
    window = words[1] if len(words) > 1 else None
    if window is not None:
        try:
            parse_duration(window)
        except ValueError:
            raise ValueError(f"window {window!r} is not like 30m, 2h or 1d. {_USAGE}") from None
    return target, window


class _BotIdentity:
    """Who the bot is, for bolt's authorization step, without ever making a request wait.

    Bolt would call ``auth.test`` inside the first request (on a slow Slack, the first slash
    command would miss its 3 s). The service fetches it once in the background at startup; until
    it arrives requests carry the token alone, which is all a single-workspace bot that listens
    only to commands, mentions and buttons needs.
    """

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._result: AuthorizeResult | None = None

    def result(self, enterprise_id: str | None = None, team_id: str | None = None) -> AuthorizeResult:
        if self._result is not None:
            return self._result
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=self.client.token)

    def warm_up(self) -> None:
        try:
            response = self.client.auth_test()
        except SlackClientError as exc:
            log.warning("Slack auth.test failed at startup (requests go on with the token alone): %s", exc)
            return
        self._result = AuthorizeResult.from_auth_test_response(
            auth_test_response=response, bot_token=self.client.token
        )


class SleuthSlackBot:
    def __init__(
        self,
        *,
        client: WebClient,
        signing_secret: str,
        queue: SlackStore,
        access: SlackAccess,
        notifier: SlackNotifier | None = None,
        on_enqueued: Callable[[], None] | None = None,
        review: ReviewHandler | None = None,
        draft_coe: CoeHandler | None = None,
        known_services: Callable[[], list[str]] | None = None,
    ) -> None:
        self.queue = queue
        self.access = access
        self.notifier = notifier
        self._on_enqueued = on_enqueued
        self._review = review
        self._draft_coe = draft_coe
        self._known_services = known_services
        self.identity = _BotIdentity(client)

        def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            return self.identity.result(enterprise_id, team_id)

        # Listeners only acknowledge (and queue); anything that waits on Slack or drafts a report
        # runs in the follow-up pool, so a slow Slack API never delays the next acknowledgement.
        self._followups = ThreadPoolExecutor(max_workers=16, thread_name_prefix="sleuth-slack")
        self.app = App(
            client=client,
            signing_secret=signing_secret,
            authorize=authorize,
            process_before_response=False,  # answer on ack; Slack API calls happen afterwards
            listener_executor=ThreadPoolExecutor(max_workers=16, thread_name_prefix="sleuth-bolt"),
        )
        self.app.command("/sleuth")(self._command)
        self.app.event("app_mention")(self._on_mention)
        self.app.action(re.compile(r"^sleuth_(accept|reject)$"))(self._on_button(self._verdict))
        self.app.action("sleuth_draft_coe")(self._on_button(self._coe))
        self.app.action(re.compile(r"^sleuth_feedback_(up|down)$"))(self._on_button(self._feedback))

    def _defer(self, work: Callable[..., None], *args: Any) -> None:
        def run() -> None:
            try:
                work(*args)
            except Exception:  # the outermost handler of a follow-up: log, Slack already has its ack
                log.exception("Slack follow-up %s failed", getattr(work, "__name__", work))

        self._followups.submit(run)

    def _on_button(
        self, work: Callable[[dict[str, Any], dict[str, Any], Respond], None]
    ) -> Callable[..., None]:
        def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
            ack()
            self._defer(work, body, action, respond)

        return listener

    def _on_mention(self, event: dict[str, Any], say: Any) -> None:
        self._defer(self._mention, event, say)

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
        """Queue an investigation of ``target`` (a known service, or anything else as a question)."""
        services = self._known_services() if self._known_services else []
        event = AlarmEvent(
            source=AlarmSource.SLACK,
            message_id=f"slack:{request_id}",
            alarm_name=f"slack:{target}",
            status=AlarmStatus.FIRING,
            time=datetime.now(UTC),
            service=target if target in services else None,
            reason="requested in Slack" + (f" for the last {window}" if window else ""),
            labels={"target": target, **({"window": window} if window else {})},
            origin={"channel": channel, "user": user, **({"thread_ts": thread_ts} if thread_ts else {})},
        )
        outcome, job_id = self.queue.enqueue(event)
        if outcome == EnqueueOutcome.CREATED and self._on_enqueued is not None:
            self._on_enqueued()
        return outcome, job_id

    def _command(self, ack: Ack, command: dict[str, Any]) -> None:
        refusal = self.access.refusal(command.get("channel_id"), command.get("user_id"))
        if refusal is not None:
            ack(text=refusal)
            return
        try:
            target, window = parse_request(command.get("text", ""))
        except ValueError as exc:
            ack(text=str(exc))
            return
        outcome, job_id = self.start(
            target,
            window,
            command["channel_id"],
            command["user_id"],
            command.get("trigger_id") or _digest(command),
        )
        if outcome == EnqueueOutcome.CREATED:
            span = f" over the last {window}" if window else ""
            ack(
                text=f"Investigating `{escape(target)}`{span}: investigation `{job_id}`. Progress follows in a thread."
            )
        else:
            ack(text=f"Already investigating this: investigation `{job_id}`.")

    def _mention(self, event: dict[str, Any], say: Any) -> None:
        thread_ts = event.get("thread_ts") or event["ts"]
        refusal = self.access.refusal(event.get("channel"), event.get("user"))
        if refusal is not None:
            say(text=refusal, thread_ts=thread_ts)
            return
        try:
            target, window = parse_request(event.get("text", ""))
        except ValueError as exc:
            say(text=str(exc), thread_ts=thread_ts)
            return
        outcome, job_id = self.start(
            target,
            window,
            event["channel"],
            event.get("user", "someone"),
            event.get("client_msg_id") or event["ts"],
            thread_ts=thread_ts,
        )
        if outcome == EnqueueOutcome.ATTACHED:
            say(text=f"Already investigating this: investigation `{job_id}`.", thread_ts=thread_ts)

    # -------------------------------------------------------------------------- buttons

    def _allowed(self, body: dict[str, Any], respond: Respond) -> str | None:
        """The clicking user when allowed; otherwise tells them why not and returns None."""
        user = body.get("user", {}).get("id")
        refusal = self.access.refusal(body.get("channel", {}).get("id"), user)
        if refusal is not None:
            respond(text=refusal, response_type="ephemeral", replace_original=False)
            return None
        return user or "someone"

    def _verdict(self, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        user = self._allowed(body, respond)
        if user is None:
            return
        job_id, _, hypothesis = action["value"].partition("|")
        if not hypothesis:
            respond(text="This button is from an older Sleuth message.", replace_original=False)
            return
        if self._review is None:
            respond(text="Reviews are not enabled on this Sleuth.", replace_original=False)
            return
        accepted = action["action_id"] == "sleuth_accept"
        try:
            summary = self._review(job_id, hypothesis, accepted, user)
        except SleuthError as exc:
            respond(text=f"Could not record that: {exc}", replace_original=False)
            return
        if self.notifier is not None:
            self.notifier.refresh_summary(job_id, summary)

    def _coe(self, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        if self._allowed(body, respond) is None:
            return
        if self._draft_coe is None:
            respond(text="COE drafting is not enabled on this Sleuth.", replace_original=False)
            return
        job_id = action["value"]
        try:
            link = self._draft_coe(job_id)
        except SleuthError as exc:
            respond(text=f"Could not draft the COE: {exc}", replace_original=False)
            return
        self._post_in_thread(
            job_id, f"COE draft for investigation `{escape(job_id)}`: <{link}|open the report>"
        )

    def _feedback(self, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        user = self._allowed(body, respond)
        if user is None:
            return
        vote = 1 if action["action_id"] == "sleuth_feedback_up" else -1
        if not self.queue.record_feedback(action["value"], user, vote):
            respond(text="That investigation does not exist here.", replace_original=False)

    def _post_in_thread(self, job_id: str, text: str) -> None:
        threads = self.notifier.threads if self.notifier is not None else None
        where = threads.find(job_id) if threads is not None else None
        if where is not None:
            self.app.client.chat_postMessage(channel=where[0], thread_ts=where[1], text=text)


def _digest(command: dict[str, Any]) -> str:
    return hashlib.sha256(repr(sorted(command.items())).encode()).hexdigest()[:16]
