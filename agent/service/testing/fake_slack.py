"""A fake Slack Web API on loopback that records every call (any JSON or form POST: it doubles as a
webhook receiver) and can hold calls to play slow.

``WebClient(base_url=api.base_url)`` (or ``SLACK_API_URL`` for ``sleuth serve``) talks to it;
``response_url`` posts land on ``<base_url>respond``. ``delay`` makes every call slow;
:meth:`hold` makes matching calls wait, unanswered, until :meth:`release` (a Slack API that
answers in minutes, for as long as a test needs); :meth:`wait_for` waits on recorded calls with
a deadline.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

Call = tuple[str, dict[str, Any]]  # (method, decoded body)


class FakeSlackApi:
    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay  # seconds every call takes to answer (a slow Slack API, for benchmarks)
        self.calls: list[Call] = []
        self.held = 0  # calls waiting right now
        self._ts = 1000
        self._hold: Callable[[str, dict[str, Any]], bool] = lambda method, body: False
        self._released = threading.Event()
        self._changed = threading.Condition()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length).decode()
                if self.headers.get("content-type", "").startswith("application/json"):
                    body = json.loads(raw or "{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                if isinstance(body.get("blocks"), str):
                    body["blocks"] = json.loads(body["blocks"])
                method = self.path.rsplit("/", 1)[-1]
                api._serve(method, body)
                with api._changed:
                    api._ts += 1
                    ts = f"{api._ts}.000100"
                    api.calls.append((method, {**body, "_ts": ts}))
                    api._changed.notify_all()
                reply = {"ok": True, "ts": body.get("ts", ts), "channel": body.get("channel", "C0")}
                payload = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def __enter__(self) -> FakeSlackApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def hold(self, matching: Callable[[str, dict[str, Any]], bool]) -> None:
        """Hold calls for which ``matching(method, body)`` is true until :meth:`release`."""
        self._released.clear()
        self._hold = matching

    def release(self) -> None:
        self._hold = lambda method, body: False
        self._released.set()

    def _serve(self, method: str, body: dict[str, Any]) -> None:
        if self.delay:
            threading.Event().wait(self.delay)
        if not self._hold(method, body):
            return
        with self._changed:
            self.held += 1
            self._changed.notify_all()
        self._released.wait(120)
        with self._changed:
            self.held -= 1
            self._changed.notify_all()

    def wait_for(self, check: Callable[[FakeSlackApi], Any], timeout: float = 30.0, what: str = "") -> Any:
        with self._changed:
            found = self._changed.wait_for(lambda: check(self), timeout)
        if not found:
            raise TimeoutError(f"fake Slack API: {what or 'condition'} not met within {timeout:.0f} s")
        return found

    def of(self, method: str) -> list[dict[str, Any]]:
        with self._changed:
            return [body for m, body in self.calls if m == method]

    def posted(self) -> list[dict[str, Any]]:
        return self.of("chat.postMessage")


def sign_body(body: str, signing_secret: str, *, now: float | None = None) -> dict[str, str]:
    """The headers Slack adds to a request: timestamp and v0 signature."""
    stamp = str(int(time.time() if now is None else now))
    digest = hmac.new(signing_secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": stamp, "x-slack-signature": f"v0={digest}"}


def slack_request(
    fields: dict[str, str], signing_secret: str, *, now: float | None = None
) -> tuple[str, dict[str, str]]:
    """A form-encoded request body and headers signed as Slack signs them."""
    body = urlencode(fields)
    headers = sign_body(body, signing_secret, now=now) | {"content-type": "application/x-www-form-urlencoded"}
    return body, headers


def button_click(action_id: str, value: str, *, user: str, channel: str, response_url: str) -> dict[str, str]:
    """The form fields Slack posts when someone clicks a button."""
    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": "T1"},
        "channel": {"id": channel},
        "response_url": response_url,
        "actions": [{"action_id": action_id, "value": value, "type": "button", "block_id": "b"}],
    }
    return {"payload": json.dumps(payload)}


def slash_command(text: str, *, user: str, channel: str, trigger: str, response_url: str) -> dict[str, str]:
    return {
        "command": "/sleuth",
        "text": text,
        "channel_id": channel,
        "user_id": user,
        "trigger_id": trigger,
        "team_id": "T1",
        "response_url": response_url,
    }
