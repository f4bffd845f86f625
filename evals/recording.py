"""Record the LLM's HTTP exchanges during an eval and replay them later without the API.

Recording sits at the HTTP transport of the Anthropic SDK's client (``httpx2``), so it captures
exactly what was sent and received, for both the Anthropic API and Bedrock. One cassette per
scenario: ``<dir>/<scenario>.jsonl``, one exchange per line, in call order.

Replay has two modes:

- **strict**: a request must match a recorded one byte for byte (canonical JSON); a changed
  prompt is a miss, reported as an error instead of calling the API.
- **sequential**: the n-th request gets the n-th recorded response, whatever was sent, and every
  request that differs from the recorded one is noted. This is how a prompt change is compared
  offline: the rest of the pipeline (parsing, evidence validation, ranking, report) runs on the
  recorded replies, and the eval says which calls would have been asked differently.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx2

from mcp_server.errors import SleuthError

RecordingMode = Literal["off", "record", "replay"]
_KEPT_RESPONSE_HEADERS = ("content-type", "request-id", "x-request-id")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class ReplayMissError(SleuthError):
    """Replay was asked for an exchange the cassette does not hold."""


@dataclass(frozen=True)
class RecordingConfig:
    mode: RecordingMode = "off"
    directory: str | None = None
    strict: bool = True

    def cassette(self, scenario: str) -> Path:
        if self.directory is None:
            raise SleuthError("recording needs a directory (--record DIR or --replay DIR)")
        return Path(self.directory) / f"{_SAFE_NAME.sub('_', scenario)}.jsonl"


def _canonical_body(request: httpx2.Request) -> Any:
    raw = request.content
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")


def request_key(request: httpx2.Request) -> str:
    """A stable fingerprint of what was asked: method, path and the JSON body with sorted keys."""
    body = json.dumps(_canonical_body(request), sort_keys=True, separators=(",", ":"))
    text = f"{request.method} {request.url.path}\n{body}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Exchange:
    key: str
    method: str
    path: str
    request_body: Any
    status: int
    headers: dict[str, str]
    body: str

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    def response(self, request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            self.status, headers=self.headers, content=self.body.encode("utf-8"), request=request
        )


def read_cassette(path: Path) -> list[Exchange]:
    if not path.exists():
        return []
    exchanges = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            exchanges.append(Exchange(**json.loads(line)))
        except (json.JSONDecodeError, TypeError) as exc:
            raise SleuthError(f"{path}:{number}: not a recorded exchange ({exc})") from None
    return exchanges


class RecordingTransport(httpx2.BaseTransport):
    """Passes each request to ``inner`` and appends the exchange to the cassette."""

    def __init__(self, inner: httpx2.BaseTransport, cassette: Path) -> None:
        self._inner = inner
        self._cassette = cassette
        self._lock = threading.Lock()
        cassette.parent.mkdir(parents=True, exist_ok=True)
        cassette.write_text("", encoding="utf-8")

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = self._inner.handle_request(request)
        body = response.read()
        exchange = Exchange(
            key=request_key(request),
            method=request.method,
            path=request.url.path,
            request_body=_canonical_body(request),
            status=response.status_code,
            headers={k: v for k, v in response.headers.items() if k.lower() in _KEPT_RESPONSE_HEADERS},
            body=body.decode("utf-8", "replace"),
        )
        with self._lock, self._cassette.open("a", encoding="utf-8") as handle:
            handle.write(exchange.to_json() + "\n")
        return exchange.response(request)

    def close(self) -> None:
        self._inner.close()


@dataclass
class ReplayTransport(httpx2.BaseTransport):
    """Serves recorded responses; never touches the network."""

    cassette: Path
    strict: bool = True
    mismatches: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._exchanges = read_cassette(self.cassette)
        self._used: set[int] = set()
        self._next = 0
        self._lock = threading.Lock()
        if not self._exchanges:
            raise ReplayMissError(f"no recorded LLM exchanges in {self.cassette}; record them first")

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        key = request_key(request)
        with self._lock:
            if self.strict:
                for index, exchange in enumerate(self._exchanges):
                    if index not in self._used and exchange.key == key:
                        self._used.add(index)
                        return exchange.response(request)
                raise ReplayMissError(
                    f"{self.cassette}: no recorded reply for this {request.method} {request.url.path} "
                    "request (the prompt or tools changed?); replay with strict=False to compare anyway"
                )
            if self._next >= len(self._exchanges):
                raise ReplayMissError(
                    f"{self.cassette}: the investigation made more LLM calls ({self._next + 1}) "
                    f"than were recorded ({len(self._exchanges)})"
                )
            exchange = self._exchanges[self._next]
            self._next += 1
            if exchange.key != key:
                self.mismatches.append(f"call {self._next}: request differs from the recording")
            return exchange.response(request)


def transport_for(config: RecordingConfig, scenario: str) -> RecordingTransport | ReplayTransport | None:
    """The transport the Anthropic SDK's client should use for this scenario (None: the SDK's default)."""
    if config.mode == "off":
        return None
    if config.mode == "record":
        return RecordingTransport(httpx2.HTTPTransport(), config.cassette(scenario))
    return ReplayTransport(config.cassette(scenario), strict=config.strict)


def http_client_for(transport: httpx2.BaseTransport) -> httpx2.Client:
    return httpx2.Client(transport=transport, timeout=httpx2.Timeout(600.0))
