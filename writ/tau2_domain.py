"""Domains backed by τ²-bench's toolkits: its own tools, data and policy, made cheap to copy.

Native domains written in this repo reuse the same machinery: a pydantic `DB` whose top-level
fields are dicts of records, and a `ToolKitBase` subclass whose methods are tagged with τ²'s
`is_tool(ToolType.READ | WRITE | GENERIC)`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from tau2.environment.db import DB
from tau2.environment.environment import Environment
from tau2.environment.toolkit import ToolKitBase, ToolType

from writ.domain import Outcome, RecordKey, ToolKind, ToolResult, ToolSpec, tool_kinds
from writ.overlay import CopyOnAccess, canonical_json, clone

_KINDS = {
    ToolType.READ: ToolKind.READ,
    ToolType.WRITE: ToolKind.WRITE,
    ToolType.GENERIC: ToolKind.GENERIC,
    ToolType.THINK: ToolKind.GENERIC,
}


class Tau2State:
    """One dialogue's isolated view of the database, with τ²'s toolkit bound to it."""

    def __init__(self, domain: Tau2Domain) -> None:
        self._domain = domain
        base = domain.base_db
        fields: dict[str, Any] = {}
        self._collections: dict[str, CopyOnAccess[Any]] = {}
        for name in type(base).model_fields:
            value = getattr(base, name)
            if isinstance(value, dict):
                view: CopyOnAccess[Any] = CopyOnAccess(value)
                self._collections[name] = view
                fields[name] = view
            else:
                fields[name] = clone(value)
        self._views = tuple(self._collections.values())
        self.db = type(base).model_construct(**fields)
        self.toolkit = domain.toolkit_cls(self.db)
        self.env = Environment(domain_name=domain.name, policy=domain.policy, tools=self.toolkit)

    def call(self, name: str, arguments: Mapping[str, Any], call_id: str = "") -> ToolResult:
        """Run a tool exactly as τ²'s `Environment.get_response` does (errors become 'Error: ...').

        Same steps as `get_response` minus its debug log line, whose f-string renders every
        result even when logging is off (about 15% of composition time). A read tool sees the
        shared records uncopied (see `CopyOnAccess`); `tests/test_overlay.py` checks that no
        read tool of a shipped domain changes the base database.
        """
        if not isinstance(arguments, Mapping):
            return ToolResult(content=f"Error: arguments must be an object, got {type(arguments).__name__}", error=True)
        reading = self._domain.tool_kind(name) == ToolKind.READ
        if reading:
            for view in self._views:
                view.read_only = True
        try:
            response = self.env.make_tool_call(name, requestor="assistant", **arguments)
            self.env.sync_tools()
            error = False
        except Exception as exc:
            response, error = f"Error: {exc}", True
        finally:
            if reading:
                for view in self._views:
                    view.read_only = False
        return ToolResult(content=Environment.to_json_str(response), error=error)

    def snapshot(self) -> dict[str, Any]:
        return {name: view.snapshot() for name, view in self._collections.items()}

    def restore(self, token: dict[str, Any]) -> None:
        for name, view in self._collections.items():
            view.restore(token[name])

    def outcome(self) -> Outcome:
        records: dict[RecordKey, str | None] = {}
        for name, view in self._collections.items():
            for key in view.touched():
                records[(name, key)] = view.current_json(key)
        return Outcome(records)

    def run_assertion(self, assertion: Any) -> bool:
        return bool(self.env.run_env_assertion(assertion, raise_assertion_error=False))

    def materialize(self) -> dict[str, Any]:
        """The whole current database as plain data (slow: tests and debugging only)."""
        data: dict[str, Any] = {}
        for name in type(self.db).model_fields:
            view = self._collections.get(name)
            value = {k: v for k, v in view.items()} if view is not None else getattr(self.db, name)
            data[name] = value
        return type(self.db).model_construct(**data).model_dump()

    def record(self, collection: str, key: str) -> Any:
        """Read a record without marking it touched (for the composer's own inspection)."""
        return self._collections[collection]._peek(key)


class Tau2Domain:
    """A domain whose tools are a τ²-bench `ToolKitBase` over a pydantic `DB` of record dicts."""

    def __init__(
        self,
        name: str,
        db_loader: Callable[[], DB],
        toolkit_cls: type[ToolKitBase],
        policy: str | Callable[[], str],
        description: str = "",
    ) -> None:
        self.name = name
        self._db_loader = db_loader
        self.toolkit_cls = toolkit_cls
        self._policy = policy
        self.description = description
        self._base_json: dict[RecordKey, str | None] = {}

    @cached_property
    def base_db(self) -> DB:
        return self._db_loader()

    @cached_property
    def policy(self) -> str:
        return self._policy if isinstance(self._policy, str) else self._policy()

    @cached_property
    def _tool_specs(self) -> tuple[ToolSpec, ...]:
        toolkit = self.toolkit_cls(self.base_db)
        specs = []
        for name, tool in sorted(toolkit.get_tools().items()):
            schema = tool.openai_schema["function"]
            specs.append(
                ToolSpec(
                    name=name,
                    kind=_KINDS[toolkit.tool_type(name)],
                    description=schema.get("description", ""),
                    parameters=schema.get("parameters", {"type": "object", "properties": {}}),
                )
            )
        return tuple(specs)

    def tools(self) -> Sequence[ToolSpec]:
        return self._tool_specs

    @cached_property
    def _kinds(self) -> dict[str, ToolKind]:
        return tool_kinds(self)

    def tool_kind(self, name: str) -> ToolKind | None:
        """The declared kind of a tool (None for a name the domain lacks)."""
        return self._kinds.get(name)

    def new_state(self) -> Tau2State:
        return Tau2State(self)

    def base_record_json(self, key: RecordKey) -> str | None:
        cached = self._base_json.get(key, "")
        if cached != "":
            return cached
        collection = getattr(self.base_db, key[0])
        value = collection.get(key[1])
        result = None if value is None else canonical_json(value)
        self._base_json[key] = result
        return result

    def same_outcome(self, predicted: Outcome, gold: Outcome) -> bool:
        """Equal databases, judged only on the records either run touched."""
        for key in predicted.records.keys() | gold.records.keys():
            p = predicted.records[key] if key in predicted.records else self.base_record_json(key)
            g = gold.records[key] if key in gold.records else self.base_record_json(key)
            if p != g:
                return False
        return True

    def full_json(self, state: Tau2State) -> str:
        """The whole database as τ²-bench hashes it (slow; a reference for tests)."""
        return canonical_json(state.materialize())


def load_policy(path: str | Path) -> str:
    return Path(path).read_text()


def load_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())
