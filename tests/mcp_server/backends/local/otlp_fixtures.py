"""OTLP requests built with the official opentelemetry-proto classes, written as OTLP/JSON.

``MessageToDict`` gives protobuf's canonical JSON; OTLP/JSON differs only in ids (hex, not
base64), which :func:`to_otlp_json` converts, exactly as the OTLP specification prescribes.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

_ID_KEYS = {"traceId", "spanId", "parentSpanId"}


def _hexify(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: base64.b64decode(value).hex()
            if key in _ID_KEYS and isinstance(value, str)
            else _hexify(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_hexify(item) for item in node]
    return node


def to_otlp_json(message: Message) -> dict[str, Any]:
    return _hexify(MessageToDict(message, use_integers_for_enums=True))


def write_jsonl(path: Path, messages: list[Message]) -> None:
    path.write_text("".join(json.dumps(to_otlp_json(m)) + "\n" for m in messages), encoding="utf-8")
