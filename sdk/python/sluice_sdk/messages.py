"""Reading and rebuilding `types.message` (`wit/types.wit`): headers by name, the body as
text or JSON, and a copy with a new body.

A message's `value` is `None` for a Kafka tombstone; every reader here answers `None` for it,
so a plugin handles "no body" once.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, Optional

from wit_world.imports import types

# JSON nested deeper than this is not read: serde_json (the Rust examples) stops at 128 too.
# The depth is measured before parsing, because `json`'s C parser recurses once per level and
# a body of 100,000 `[` would exhaust the component's stack (a trap, not an exception): the
# instance would be discarded and, under the `hold` failure policy, the message would stall
# its queue for ever.
JSON_DEPTH_MAX = 128

# A JSON string (skipped whole, so brackets inside it do not count) or a bracket.
_STRING_OR_BRACKET = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)

# What the body's text becomes between these helpers and `json`: compact, as Kafka clients and
# the other languages' examples write it, with non-ASCII kept as UTF-8 rather than escaped.
_COMPACT = (",", ":")


def header(message: types.Message, name: str) -> Optional[bytes]:
    """The value of the first header named `name` (case-sensitive, as Kafka's are); `None`
    when absent. A header present without a value (Kafka allows it) reads as `b""`."""
    for h in message.headers:
        if h.key == name:
            return h.value if h.value is not None else b""
    return None


def header_text(message: types.Message, name: str) -> Optional[str]:
    """`header` as UTF-8 text, invalid sequences replaced by U+FFFD."""
    value = header(message, name)
    return None if value is None else value.decode("utf-8", "replace")


def has_header(message: types.Message, name: str) -> bool:
    return any(h.key == name for h in message.headers)


def body_text(message: types.Message) -> Optional[str]:
    """The body as UTF-8 text, invalid sequences replaced by U+FFFD; `None` for a tombstone."""
    if message.value is None:
        return None
    return message.value.decode("utf-8", "replace")


def body_json(message: types.Message) -> Optional[Any]:
    """The body parsed as JSON, or `None` when there is no body or it is not JSON: not UTF-8,
    not strict JSON (Python's `NaN` and `Infinity` extensions are refused), or nested deeper
    than `JSON_DEPTH_MAX`. Objects become dicts in their members' order; a repeated key keeps
    its last value, as Python's `json` reads it."""
    body = message.value
    if body is None or not _depth_within(body, JSON_DEPTH_MAX):
        return None
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return None


def with_body(message: types.Message, value: Optional[bytes]) -> types.Message:
    """A copy of `message` with `value` as its body; key, timestamp, durability, expiry and
    headers are kept. An AMQP receiver gets the new body: the AMQP codec sends the sections
    it stored (`amqp.body`) only while they still make the value (docs/message-mapping.md)."""
    return dataclasses.replace(message, value=value)


def with_json_body(message: types.Message, value: Any) -> types.Message:
    """A copy of `message` whose body is `value` written as compact JSON in UTF-8."""
    text = json.dumps(value, separators=_COMPACT, ensure_ascii=False, allow_nan=False)
    return with_body(message, text.encode("utf-8"))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth_within(body: bytes, depth_max: int) -> bool:
    """Whether no array or object in the JSON text `body` opens deeper than `depth_max`. Most
    bodies have fewer brackets than that in all; the others are scanned bracket by bracket,
    strings skipped by the regex engine. Malformed text may count deeper than it is: such a
    body is not JSON anyway."""
    if body.count(b"[") + body.count(b"{") <= depth_max:
        return True
    depth = 0
    for token in _STRING_OR_BRACKET.finditer(body):
        bracket = token.group()
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > depth_max:
                return False
        elif bracket in (b"]", b"}"):
            depth -= 1
    return True
