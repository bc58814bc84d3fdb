"""Strict parsing of what comes from outside: request bodies, query strings, path ids and uploaded files.

Everything that reaches a query or a row passes one of these checks, so hostile input is a clear 4xx, never a 500:

* text with a NUL character (PostgreSQL refuses it in text and ``jsonb``) or a lone UTF-16 surrogate (it cannot be
  encoded to UTF-8) is refused;
* structured data (JSON, msgpack) nests at most :data:`MAX_DEPTH` levels, holds only finite numbers, and is checked
  before it is decoded, so 100,000 nested brackets cost one scan, not a ``RecursionError``;
* integer ids are ASCII decimal digits only (no sign, space, ``_`` or other scripts' digits) and fit a ``bigint``;
  so are counts (``page_size``, ``lastn``), read as their cap above it; UUIDs are in their canonical form only;
* a date and time with an offset is turned into UTC (PostgreSQL takes offsets up to 15:59 only, Python up to 24h).

The API's parsers (core/api/parsers.py), the bad-text middleware (core/middleware.py) and the report decoders use
these helpers; docs/security.md lists the limits.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import uuid
from collections.abc import Iterator
from typing import Any

import msgpack

MAX_DEPTH = 64
MAX_ID = 2**63 - 1  # PostgreSQL bigint

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_ASCII_DIGITS = re.compile(r"[0-9]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# A JSON string (with its escapes), to skip when counting brackets.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class InputError(ValueError):
    """Input that is refused; the message says why, for the client."""


def bad_text_reason(text: str) -> str | None:
    """Why ``text`` cannot be stored (a NUL character or a lone surrogate), or ``None`` when it can."""
    found = _BAD_TEXT.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "NUL characters are not allowed."
    return "Unpaired surrogate characters are not allowed."


def check_text(text: str, where: str = "input") -> str:
    reason = bad_text_reason(text)
    if reason is not None:
        raise InputError(f"{where}: {reason}")
    return text


def parse_id(value: str | int, what: str = "id") -> int:
    """A non-negative integer id from ASCII decimal digits that fits a ``bigint``; ``-1``, ``+1``, `` 1``, ``1_0``
    and other scripts' digits are refused."""
    if isinstance(value, bool):
        raise InputError(f"'{value}' is not a valid {what}.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _ASCII_DIGITS.fullmatch(value):
        number = int(value)
    else:
        raise InputError(f"'{str(value)[:40]}' is not a valid {what}.")
    if not 0 <= number <= MAX_ID:
        raise InputError(f"{what} {number} is out of range.")
    return number


def parse_count(value: str, *, cap: int, minimum: int = 0) -> int:
    """A number of things asked for (a page's size, the last N rows) from ASCII decimal digits, ``minimum`` or more;
    a sign, a space, ``_``, a fraction, an exponent and other scripts' digits are refused. Above ``cap`` it is read as
    ``cap``, however many digits it has (``int()`` of thousands of digits is not reached)."""
    if not isinstance(value, str) or not _ASCII_DIGITS.fullmatch(value):
        raise InputError(f"'{str(value)[:40]}' is not a whole number.")
    digits = value.lstrip("0")
    number = cap if len(digits) > len(str(cap)) else int(digits or "0")
    if number < minimum:
        raise InputError(f"{number} is less than {minimum}.")
    return min(number, cap)


def parse_uuid(value: str | uuid.UUID) -> uuid.UUID:
    """A UUID in its canonical text form only (``uuid.UUID`` also takes braces, ``urn:uuid:``, missing or extra
    dashes, so ``-<uuid>`` would name the object)."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise InputError(f"'{str(value)[:40]}' is not a valid UUID.")
    return uuid.UUID(value)


def is_id(value: str) -> bool:
    """Whether ``value`` is an id :func:`parse_id` accepts."""
    return bool(_ASCII_DIGITS.fullmatch(value)) and int(value) <= MAX_ID


def utc_datetime(value: datetime.datetime) -> datetime.datetime:
    """``value`` in UTC (naive is UTC already); a time that UTC cannot hold (before year 1, after 9999) is refused."""
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone(datetime.UTC)
    except OverflowError as exc:
        raise InputError(f"{value.isoformat()} is out of range.") from exc


def json_depth(text: str) -> int:
    """How deeply the JSON document ``text`` nests (its strings are skipped), without decoding it."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    depth = deepest = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> float:
    raise InputError(f"{name} is not a valid JSON number.")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise InputError(f"{text[:40]} is out of range.")
    return number


def json_loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode a JSON document strictly: UTF-8, at most ``max_depth`` levels, finite numbers, no NUL characters or
    lone surrogates in keys or strings. Raises :class:`InputError` with a message for the client."""
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"The body is not valid UTF-8 ({exc.reason} at byte {exc.start}).") from exc
    else:
        text = data
    if json_depth(text) > max_depth:
        raise InputError(f"The document nests more than {max_depth} levels.")
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except InputError:
        raise
    except (ValueError, RecursionError) as exc:
        raise InputError(f"Invalid JSON: {str(exc)[:200]}") from exc
    check_structure(value, max_depth=max_depth)
    return value


def msgpack_loads(data: bytes, *, max_depth: int = MAX_DEPTH, allow_bytes: bool = False) -> Any:
    """Decode a msgpack document into JSON's kinds of values (maps with text keys, lists, text, numbers, booleans,
    null), with the checks of :func:`json_loads`. Extension types are refused, and so are binary strings unless
    ``allow_bytes``."""
    try:
        value = msgpack.unpackb(data, raw=False, strict_map_key=True, ext_hook=_refuse_ext, timestamp=0)
    except InputError:
        raise
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise InputError(f"Invalid msgpack: {str(exc)[:200] or type(exc).__name__}") from exc
    check_structure(value, max_depth=max_depth, allow_bytes=allow_bytes)
    return value


def _refuse_ext(code: int, data: bytes) -> Any:
    raise InputError(f"msgpack extension type {code} is not allowed.")


def _walk(value: Any) -> Iterator[tuple[Any, int]]:
    """Every value inside ``value`` (map keys included), with its depth; iterative, so no recursion limit."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        yield item, depth
        if isinstance(item, dict):
            for key, child in item.items():
                yield key, depth + 1
                stack.append((child, depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)


def check_structure(value: Any, *, max_depth: int = MAX_DEPTH, allow_bytes: bool = False) -> None:
    """Refuse decoded data that nests more than ``max_depth`` levels, holds text that cannot be stored, or holds
    anything but JSON's kinds of values (and ``bytes`` when ``allow_bytes``)."""
    allowed: tuple[type, ...] = (bool, int, dict, list, tuple, bytes) if allow_bytes else (bool, int, dict, list, tuple)
    for item, depth in _walk(value):
        if isinstance(item, dict | list | tuple) and depth > max_depth:
            raise InputError(f"The document nests more than {max_depth} levels.")
        if isinstance(item, str):
            reason = bad_text_reason(item)
            if reason is not None:
                raise InputError(reason)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InputError("Numbers must be finite.")
        elif item is not None and not isinstance(item, allowed):
            raise InputError(f"A {type(item).__name__} value is not allowed.")
