"""Where a write's ids came from: an agent may only use ids it has been shown.

A careful agent never guesses: every id-valued argument of a write it makes has appeared
earlier in the dialogue, in a tool result or in something the user said. This module names
which arguments are ids and finds the ones that had no earlier source.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from writ.trajectory import Message, parse_arguments

_ID_KEY = re.compile(r"(^|_)ids?$|^flight_number$")


def is_id_key(key: str) -> bool:
    """`order_id`, `item_ids`, `payment_id`, `flight_number`: arguments whose value names a record."""
    return bool(_ID_KEY.search(key))


def id_values(arguments: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """(argument key, value) for every id-valued string in a call's arguments, nested ones included."""
    if isinstance(arguments, dict):
        for k, v in arguments.items():
            yield from id_values(v, str(k))
    elif isinstance(arguments, list):
        for v in arguments:
            yield from id_values(v, key)
    elif isinstance(arguments, str) and key and is_id_key(key) and arguments:
        yield key, arguments


def mentions(text: str, value: str) -> bool:
    """`value` appears in `text` as a whole token (so "123" is not found inside "91234")."""
    if value not in text:  # the common answer, without a regex
        return False
    return _token(value).search(text) is not None


@lru_cache(maxsize=65536)
def _token(value: str) -> re.Pattern[str]:
    return re.compile(r"(?<![A-Za-z0-9_])" + re.escape(value) + r"(?![A-Za-z0-9_])")


@dataclass(frozen=True)
class UnsourcedId:
    """An id a write used before any tool result or user turn had shown it."""

    message_index: int
    tool: str
    key: str
    value: str


def unsourced_write_ids(messages: Sequence[Message], write_tools: Collection[str]) -> list[UnsourcedId]:
    """Every id argument of a write call that no earlier tool result or user turn mentions."""
    seen: list[str] = []
    found: list[UnsourcedId] = []
    for index, message in enumerate(messages):
        role = message.get("role")
        if role in ("tool", "user"):
            seen.append(str(message.get("content") or ""))
        elif role == "assistant":
            for call in message.get("tool_calls") or []:
                fn = call.get("function", {})
                if fn.get("name") not in write_tools:
                    continue
                try:
                    arguments = parse_arguments(fn.get("arguments"))
                except (ValueError, json.JSONDecodeError):
                    continue
                for key, value in id_values(arguments):
                    if not any(mentions(text, value) for text in seen):
                        found.append(UnsourcedId(index, str(fn.get("name")), key, value))
    return found
