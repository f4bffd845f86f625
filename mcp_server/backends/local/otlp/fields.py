"""Decoding single OTLP/JSON fields: integers, numbers, ids, enums and AnyValue attributes.

Every problem raises :class:`FieldError` naming the field; the request walker prefixes the path
and the file walker adds file and line, so a user sees ``logs.jsonl:7 field '...': problem``.
Values are checked against what the store can hold (64-bit integers, bounded nesting and string
length), so nothing malformed gets as far as a traceback.
"""

from __future__ import annotations

import base64
import contextlib
import re
from typing import Any

import orjson

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
UINT32_MAX = 2**32 - 1
MAX_DEPTH = 64  # nested arrayValue/kvlistValue levels; JSON serialisation stops at 255
MAX_STRING = 4 * 1024 * 1024  # characters in one string value (a log body, an attribute)
_MAX_DIGITS = 20  # longer decimal strings cannot be 64-bit integers (and int() refuses 4,300+)
_HEX = re.compile(r"[0-9a-fA-F]+")


class FieldError(Exception):
    """A problem at ``field``, a path relative to where it was raised; callers prefix their part."""

    def __init__(self, field: str, problem: str, *, deep: bool = False) -> None:
        self.field = field
        self.problem = problem
        self.deep = deep  # too deeply nested: named by the outermost value, not the full path

    def under(self, prefix: str) -> FieldError:
        if not prefix:
            return self
        if not self.field:
            self.field = prefix
        elif self.field.startswith("["):
            self.field = prefix + self.field
        else:
            self.field = f"{prefix}.{self.field}"
        return self


def show(value: Any) -> str:
    """A value for an error message: one line, at most about 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:50]}... ({len(text):,} characters)"


def known(*camel: str) -> frozenset[str]:
    return frozenset(camel)


_CAMEL_BY_SNAKE: dict[str, str] = {}


def check(obj: Any, keys: frozenset[str], where: str) -> dict[str, Any]:
    """``obj`` as a dict with lowerCamelCase keys; unknown fields are errors.

    snake_case field names (which protobuf JSON parsers accept) are renamed on a slow path, so
    the common all-camelCase object costs one subset test.
    """
    if not isinstance(obj, dict):
        raise FieldError(where, f"expected an object, got {type(obj).__name__}")
    if obj.keys() <= keys:  # a subset test allocates nothing, unlike a difference
        return obj
    renamed: dict[str, Any] = {}
    for key, value in obj.items():
        if key not in keys:
            camel = _CAMEL_BY_SNAKE.get(key) or re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)
            if camel not in keys:
                raise FieldError(f"{where}.{key}" if where else key, "unknown OTLP field")
            _CAMEL_BY_SNAKE[key] = camel
            key = camel
        renamed[key] = value
    return renamed


def as_list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(where, f"expected a list, got {type(value).__name__}")
    return value


def text(value: Any, where: str) -> str:
    """An optional string field ("" when absent)."""
    if type(value) is str and len(value) <= MAX_STRING:
        return value
    if value is None:
        return ""
    if type(value) is not str:
        raise FieldError(where, f"expected a string, got {type(value).__name__}")
    if len(value) > MAX_STRING:
        raise FieldError(where, f"a string of {len(value):,} characters is over the {MAX_STRING:,} limit")
    return value


def integer(value: Any, where: str, low: int = INT64_MIN, high: int = INT64_MAX) -> int:
    """A (64-bit) integer: a decimal string, the OTLP/JSON form, or a JSON number; None is 0."""
    if type(value) is str:  # the OTLP/JSON form of 64-bit integers, so the commonest by far
        if len(value) > _MAX_DIGITS:
            raise FieldError(where, f"{show(value)} is not a 64-bit integer")
        try:
            number = int(value)
        except ValueError:
            raise FieldError(where, f"expected an integer (decimal string), got {show(value)}") from None
    elif value is None:
        return 0
    elif isinstance(value, bool):
        raise FieldError(where, "expected an integer, got a boolean")
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        raise FieldError(where, f"expected an integer, got {show(value)}")
    if not low <= number <= high:
        raise FieldError(where, f"{show(number)} is out of range ({low}..{high})")
    return number


def unsigned(value: Any, where: str) -> int:
    """A fixed64 field the store keeps as a signed 64-bit integer: times and counts."""
    # Fast path for the commonest value of an import (a timestamp as a decimal string).
    if type(value) is str and len(value) < 20 and value.isascii() and value.isdigit():
        number = int(value)
        if number <= INT64_MAX:
            return number
    return integer(value, where, 0, INT64_MAX)


def number(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise FieldError(where, "expected a number, got a boolean")
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        if abs(value) > 2**1023:
            raise FieldError(where, f"{show(value)} is out of range for a double")
        return float(value)
    if isinstance(value, str) and len(value) <= 64:  # "NaN", "Infinity" and decimal strings are legal
        try:
            return float(value)
        except ValueError:
            pass
    raise FieldError(where, f"expected a number, got {show(value)}")


def hex_id(value: Any, length: int, where: str) -> str | None:
    if type(value) is str and len(value) == length and _HEX.fullmatch(value):
        return value.lower()
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise FieldError(where, f"expected a hex string, got {type(value).__name__}")
    if len(value) == length and _HEX.fullmatch(value):
        return value.lower()
    # Protobuf's canonical JSON writes bytes as base64; accept it and convert, since some
    # exporters (and MessageToJson) produce it.
    raw = b""
    if len(value) <= 2 * length:
        with contextlib.suppress(ValueError):
            raw = base64.b64decode(value, validate=True)
    if len(raw) * 2 == length:
        return raw.hex()
    raise FieldError(where, f"expected {length} lowercase hex characters, got {show(value)}")


def enum(value: Any, names: dict[str, int], where: str) -> int:
    """An enum given by number or name; ``names`` numbers its members 0, 1, 2..."""
    if type(value) is int and 0 <= value < len(names):
        return value
    if value is None:
        return 0
    if isinstance(value, str) and value in names:
        return names[value]
    if isinstance(value, str) and not value.lstrip("-").isdigit():
        raise FieldError(where, f"unknown enum name {show(value)}; expected one of {', '.join(names)}")
    number = integer(value, where)
    if number not in names.values():
        raise FieldError(where, f"unknown enum value {show(value)}; expected one of {sorted(names.values())}")
    return number


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode() if value else "{}"


def dumps_list(value: list[Any]) -> str:
    return orjson.dumps(value).decode() if value else "[]"


_ANY_VALUE_KEYS = known(
    "stringValue", "boolValue", "intValue", "doubleValue", "arrayValue", "kvlistValue", "bytesValue"
)
_VALUES = known("values")


def any_value(value: Any, where: str = "", depth: int = 0) -> Any:
    """Decode an OTLP ``AnyValue`` into plain Python."""
    if not isinstance(value, dict):
        raise FieldError(where, 'expected an AnyValue object like {"stringValue": ...}')
    if not value:
        return None
    if len(value) > 1 or not value.keys() <= _ANY_VALUE_KEYS:
        value = check(value, _ANY_VALUE_KEYS, where)
        if len(value) > 1:
            raise FieldError(where, "an AnyValue holds exactly one of stringValue, intValue, ...")
    key, inner = next(iter(value.items()))
    try:
        if key == "stringValue":
            if not isinstance(inner, str):
                raise FieldError("", "expected a string")
            return text(inner, "")
        if key == "intValue":
            return integer(inner, "")
        if key == "doubleValue":
            return number(inner, "")
        if key == "boolValue":
            if not isinstance(inner, bool):
                raise FieldError("", "expected true or false")
            return inner
        if key in ("arrayValue", "kvlistValue"):
            if depth >= MAX_DEPTH:
                raise FieldError("", f"values nested deeper than {MAX_DEPTH} levels", deep=True)
            values = as_list(check(inner or {}, _VALUES, "").get("values"), "values")
            if key == "kvlistValue":
                return attributes(values, "values", depth + 1)
            result = []
            for i, item in enumerate(values):
                try:
                    result.append(any_value(item, "", depth + 1))
                except FieldError as exc:
                    raise exc if exc.deep else exc.under(f"values[{i}]") from None
            return result
        return text(inner, "")  # bytesValue: keep the base64 text
    except FieldError as exc:
        if exc.deep and depth > 0:
            raise
        raise exc.under(key).under(where) from None


def attributes(items: Any, where: str = "", depth: int = 0) -> dict[str, Any]:
    """Decode a ``repeated KeyValue`` list."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise FieldError(where, "expected a list of {key, value}")
    result: dict[str, Any] = {}
    for i, item in enumerate(items):
        key = item.get("key") if type(item) is dict else None
        if type(key) is not str:
            raise FieldError(f"[{i}]", 'expected {"key": "a string", "value": {...}}').under(where)
        value = item.get("value")
        if value is None:
            result[key] = None
            continue
        # Fast path for the two commonest shapes; everything else (and every error) goes through
        # any_value. Saves a call per attribute, which is most of an import's time.
        if type(value) is dict and len(value) == 1:
            scalar = value.get("stringValue")
            if type(scalar) is str and len(scalar) <= MAX_STRING:
                result[key] = scalar
                continue
            scalar = value.get("intValue")
            if type(scalar) is str and len(scalar) < 19 and scalar.isascii() and scalar.isdigit():
                result[key] = int(scalar)
                continue
        try:
            result[key] = any_value(value, "", depth)
        except FieldError as exc:
            if exc.deep and depth > 0:
                raise
            raise exc.under(f"[{i}].value").under(where) from None
    return result
