"""Copy-on-access views of a parsed database.

Parsing, hashing or deep-copying a τ²-bench database costs 0.1–0.3 s, far more than a whole
scripted dialogue. A dialogue touches a handful of records, so each dialogue gets a view whose
collections share the parsed records and deep-copy one only when a tool first reaches for it
by key. Iteration hands out the shared records read-only (the tools only search with it); the
records a dialogue touched are exactly the ones to compare against the gold outcome. While a
read tool runs (`reading()`), reads by key hand out the shared record too: a read tool does not
change what it reads, so copying it would only cost time (most tool calls are reads).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, MutableMapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

V = TypeVar("V")

_MISSING = object()


_ATOMIC = (str, int, float, bool, type(None))


def clone(value: Any) -> Any:
    """A deep copy of a record parsed from JSON, about 6x faster than `model_copy(deep=True)`.

    Records are trees (models, lists, dicts, scalars), so the copy needs no memo; it does what
    pydantic's own `__deepcopy__` does for a model, without `copy.deepcopy`'s generic dispatch.
    Anything else (a tuple, a set, a custom class) goes through `copy.deepcopy`.
    """
    kind = type(value)
    if kind in _ATOMIC:
        return value
    if kind is list:
        return [clone(v) for v in value]
    if kind is dict:
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, BaseModel):
        return _clone_model(value)
    return copy.deepcopy(value)


def _clone_model(model: BaseModel) -> BaseModel:
    fresh = type(model).__new__(type(model))
    setattr_ = object.__setattr__
    setattr_(fresh, "__dict__", {k: clone(v) for k, v in model.__dict__.items()})
    extra = model.__pydantic_extra__
    setattr_(fresh, "__pydantic_extra__", None if extra is None else {k: clone(v) for k, v in extra.items()})
    setattr_(fresh, "__pydantic_fields_set__", set(model.__pydantic_fields_set__))
    private = getattr(model, "__pydantic_private__", None)
    setattr_(
        fresh, "__pydantic_private__", None if private is None else {k: clone(v) for k, v in private.items()}
    )
    return fresh


def canonical_json(value: Any) -> str:
    """The same serialization τ²-bench hashes (`json.dumps(model_dump(), sort_keys=True, default=str)`)."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    return json.dumps(value, sort_keys=True, default=str)


class CopyOnAccess(MutableMapping[str, V], Generic[V]):
    """A dict-like collection over a shared base: records are copied the first time they are read by key."""

    __slots__ = ("_base", "_local", "_deleted", "read_only")

    def __init__(self, base: dict[str, V]) -> None:
        self._base = base
        self._local: dict[str, V] = {}
        self._deleted: set[str] = set()
        self.read_only = False  # set while a read tool runs: reads by key share, copy nothing

    def __getitem__(self, key: str) -> V:
        value = self._local.get(key, _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[return-value]
        if key in self._deleted:
            raise KeyError(key)
        if self.read_only:
            return self._base[key]
        fresh = clone(self._base[key])
        self._local[key] = fresh
        return fresh

    def __setitem__(self, key: str, value: V) -> None:
        self._local[key] = value
        self._deleted.discard(key)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._local.pop(key, None)
        self._deleted.add(key)

    def __contains__(self, key: object) -> bool:
        if key in self._local:
            return True
        return key in self._base and key not in self._deleted

    def __iter__(self) -> Iterator[str]:
        for key in self._base:
            if key not in self._deleted:
                yield key
        for key in self._local:
            if key not in self._base:
                yield key

    def __len__(self) -> int:
        extra = sum(1 for k in self._local if k not in self._base)
        hidden = sum(1 for k in self._deleted if k in self._base)  # a deleted new key hides nothing
        return len(self._base) - hidden + extra

    def _peek(self, key: str) -> V:
        value = self._local.get(key, _MISSING)
        return self._base[key] if value is _MISSING else value  # type: ignore[return-value]

    def items(self) -> list[tuple[str, V]]:  # type: ignore[override]
        return [(k, self._peek(k)) for k in self]

    def values(self) -> list[V]:  # type: ignore[override]
        return [self._peek(k) for k in self]

    def touched(self) -> set[str]:
        """Keys read by key, written, added or deleted in this view."""
        return set(self._local) | self._deleted

    def current_json(self, key: str) -> str | None:
        if key in self._deleted:
            return None
        value = self._local.get(key, _MISSING)
        if value is _MISSING:
            value = self._base.get(key, _MISSING)
        return None if value is _MISSING else canonical_json(value)

    def snapshot(self) -> tuple[dict[str, V], set[str]]:
        return {k: clone(v) for k, v in self._local.items()}, set(self._deleted)

    def restore(self, token: tuple[dict[str, V], set[str]]) -> None:
        local, deleted = token
        self._local = {k: clone(v) for k, v in local.items()}
        self._deleted = set(deleted)
